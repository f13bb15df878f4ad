"""Seeds 3 and 7 on Kubernetes: an EKS cluster with cluster-autoscaler and metrics-server, and
the flow scheduler on it.

Enabled by the ``kubernetes`` section. It declares no host groups: the cluster's nodes are EKS
managed node groups, not RancherOS hosts. The cluster spans ``kubernetes.zones`` (default: the
AWS cloud's zones) in ``clouds.aws.region``; the public endpoint answers ``adminCidrs`` only.

The stack outputs ``kubeconfig`` (secret) and the cluster's facts. Systems that run on the cluster
(the hit counter translated from compose) name this system in ``after`` and take the
``KubernetesCluster`` from ``Built.shared[CLUSTER]``; firewalls outside the cluster admit its
workloads by the peer name ``EGRESS`` (the NAT gateway's address).
"""

from __future__ import annotations

import pulumi

from ..config import StackConfig
from ..hosts.groups import GroupDecl
from ..naming import sanitized_name
from .registry import Built, Exports, PeerDecl, System

NAME = "k8s"
# What this system shares: the cluster (Built.shared key) and its egress addresses (a peer name).
CLUSTER = "kubernetes.cluster"
EGRESS = "k8s-egress"
# One NAT gateway (cluster.py says why), so one egress address.
EGRESS_ADDRESSES = 1


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    return []


def _deploy(cfg: StackConfig, built: Built) -> Exports:
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
    built.shared[CLUSTER] = cluster
    built.resolve_peer(EGRESS, cluster.egress_ips)
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
    peers=lambda cfg: [PeerDecl(EGRESS, "aws", EGRESS_ADDRESSES)],
)
