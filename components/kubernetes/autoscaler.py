"""``ClusterAutoscaler``: cluster-autoscaler on a ``KubernetesCluster``, with its IRSA role.

The IAM role trusts only the ``kube-system/cluster-autoscaler`` service account through the
cluster's OIDC provider (``render_iam.irsa_trust_policy``); its policy may scale only Auto Scaling
groups tagged for this cluster (``render_iam.autoscaler_policy``). The manifests are
``render_autoscaler.render_autoscaler``'s, applied as typed ``pulumi_kubernetes`` resources
through the cluster's provider. The image tag follows the cluster's minor version
(``images.EKS_VERSIONS``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_aws as aws

from ..images import EKS_VERSIONS
from ..naming import type_token
from .cluster import KubernetesCluster
from .manifests import apply_manifests
from .render_autoscaler import NAME, NAMESPACE, render_autoscaler
from .render_iam import autoscaler_policy, irsa_trust_policy


@dataclass
class ClusterAutoscalerArgs:
    """Arguments of ``ClusterAutoscaler``."""

    cluster: KubernetesCluster
    expander: str = "least-waste"
    replicas: int = 2


class ClusterAutoscaler(pulumi.ComponentResource):
    """cluster-autoscaler (2 replicas, leader-elected) scaling the cluster's tagged node groups."""

    role_arn: pulumi.Output[str]
    image: str

    def __init__(self, name: str, args: ClusterAutoscalerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        cluster = args.cluster
        image = EKS_VERSIONS[cluster.version].autoscaler_image
        super().__init__(
            type_token("ClusterAutoscaler"),
            name,
            {"clusterName": cluster.cluster_name, "image": image, "expander": args.expander, "replicas": args.replicas},
            opts,
        )
        self.image = image  # after super().__init__, which turns each prop into an output attribute
        aws_child = pulumi.ResourceOptions(parent=self, provider=cluster.aws_provider)
        trust = pulumi.Output.all(cluster.oidc_provider_arn, cluster.oidc_issuer_url).apply(
            lambda a: irsa_trust_policy(
                oidc_provider_arn=a[0], issuer_url=a[1], namespace=NAMESPACE, service_account=NAME
            )
        )
        role = aws.iam.Role(f"{name}-irsa", assume_role_policy=trust, opts=aws_child)
        policy = aws.iam.Policy(
            f"{name}-scaling",
            description=f"cluster-autoscaler of {cluster.cluster_name}: scale only this cluster's tagged ASGs",
            policy=autoscaler_policy(cluster.cluster_name),
            opts=aws_child,
        )
        attachment = aws.iam.RolePolicyAttachment(
            f"{name}-scaling", role=role.name, policy_arn=policy.arn, opts=aws_child
        )
        self.role_arn = role.arn
        manifests = render_autoscaler(
            cluster_name=cluster.cluster_name,
            region=cluster.region,
            image=self.image,
            role_arn=role.arn,
            expander=args.expander,
            replicas=args.replicas,
        )
        apply_manifests(
            name, manifests, pulumi.ResourceOptions(parent=self, provider=cluster.provider, depends_on=[attachment])
        )
        self.register_outputs({"roleArn": self.role_arn, "image": self.image})
