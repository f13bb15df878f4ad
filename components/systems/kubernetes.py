"""Seeds 3 and 7 on Kubernetes: an EKS cluster with cluster-autoscaler and metrics-server, and
the flow scheduler on it.

Enabled by the ``kubernetes`` section. It declares no host groups: the cluster's nodes are EKS
managed node groups, not RancherOS hosts. The cluster spans ``kubernetes.zones`` (default: the
AWS cloud's zones) in ``clouds.aws.region``; the public endpoint answers ``adminCidrs`` only.

The stack outputs ``kubeconfig`` (secret) and the cluster's facts. Other systems that want to run
on the cluster (the hit counter translated from compose) take ``KubernetesCluster.provider`` and
the facts from :func:`cluster_of` after this system deployed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping, Optional

import pulumi

from ..config import StackConfig
from ..hosts.groups import GroupDecl
from ..hosts.hostgroup import HostGroup
from ..naming import sanitized_name
from .registry import Exports, System

if TYPE_CHECKING:
    from ..kubernetes.cluster import KubernetesCluster

NAME = "k8s"
_CLUSTERS: dict[str, KubernetesCluster] = {}


def cluster_of(stack: Optional[str] = None) -> KubernetesCluster:
    """The cluster this program built for ``stack`` (default: the current one)."""
    return _CLUSTERS[stack or pulumi.get_stack()]


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    return []


def _deploy(cfg: StackConfig, groups: Mapping[str, HostGroup]) -> Exports:
    # The AWS, Kubernetes, TLS and Docker SDKs load only for a stack with a cluster.
    from ..kubernetes.autoscaler import ClusterAutoscaler, ClusterAutoscalerArgs
    from ..kubernetes.cluster import KubernetesCluster, KubernetesClusterArgs
    from ..kubernetes.metrics_server import MetricsServer, MetricsServerArgs
    from ..workloads.flowscheduler.scheduler import FlowScheduler, FlowSchedulerArgs

    k8s, aws = cfg.kubernetes, cfg.clouds.aws
    assert k8s is not None and aws is not None  # enabled() and the config model guarantee them
    cluster_name = k8s.cluster_name or sanitized_name(pulumi.get_project(), pulumi.get_stack(), max_len=100)
    cluster = KubernetesCluster(
        NAME,
        KubernetesClusterArgs(
            settings=k8s,
            cluster_name=cluster_name,
            region=aws.region,
            zones=k8s.cluster_zones(aws),
            admin_cidrs=list(cfg.admin_cidrs),
            tags={"rancher-stacks:stack": pulumi.get_stack()},
        ),
    )
    _CLUSTERS[pulumi.get_stack()] = cluster
    if k8s.autoscaler.enabled:
        ClusterAutoscaler(
            f"{NAME}-autoscaler", ClusterAutoscalerArgs(cluster=cluster, expander=k8s.autoscaler.expander)
        )
    if k8s.metrics_server:
        MetricsServer(f"{NAME}-metrics-server", MetricsServerArgs(cluster=cluster))
    if k8s.flow_scheduler:
        FlowScheduler(f"{NAME}-flow-scheduler", FlowSchedulerArgs(cluster=cluster, image=k8s.flow_scheduler_image))
    return {
        "kubeconfig": cluster.kubeconfig,
        "kubernetesClusterName": cluster_name,
        "kubernetesVersion": cluster.version,
        "kubernetesEndpoint": cluster.endpoint,
        "kubernetesOidcProviderArn": cluster.oidc_provider_arn,
        "kubernetesNodeGroupAsgs": cluster.node_group_asg_names,
    }


SYSTEM = System(
    name="kubernetes",
    section="kubernetes",
    enabled=lambda cfg: cfg.kubernetes is not None,
    groups=_groups,
    deploy=_deploy,
)
