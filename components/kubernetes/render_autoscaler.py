"""cluster-autoscaler's manifests: a pure function from settings to Kubernetes objects (dicts).

Modelled on upstream's AWS example (kubernetes/autoscaler
cluster-autoscaler/cloudprovider/aws/examples/cluster-autoscaler-autodiscover.yaml, snapshot
55c37cd) with these deliberate differences:

* the ServiceAccount carries the IRSA annotation ``eks.amazonaws.com/role-arn`` (the role of
  ``render_iam.autoscaler_policy``), so no node role holds scaling rights;
* RBAC is upstream's minus the ``extensions`` API group (served by no Kubernetes since 1.16) and
  the ``endpoints`` lock (leader election uses the Lease, as upstream's own rules allow);
* two replicas with leader election (``--leader-elect`` defaults to true, on the
  ``cluster-autoscaler`` Lease) and a PodDisruptionBudget of one, so a node drain never leaves
  the cluster without its autoscaler; ``cluster-autoscaler.kubernetes.io/safe-to-evict: "false"``
  keeps the autoscaler from removing its own node (FAQ, "What types of pods can prevent CA from
  removing a node?");
* no hostPath mount of the node's CA bundle: the image ships its own (the Helm chart mounts none).

Flags (FAQ, "What are the parameters to CA?"): AWS auto-discovery by this cluster's two tags,
``--balance-similar-node-groups`` (keeps node groups of the same shape, e.g. one per zone, at
similar sizes), the configured expander, and ``--skip-nodes-with-local-storage=false`` (an
``emptyDir`` does not pin a node; upstream's AWS example sets it too).
"""

from __future__ import annotations

from typing import Any

from .render_iam import ENABLED_TAG, cluster_tag

NAME = "cluster-autoscaler"
NAMESPACE = "kube-system"
ROLE_ARN_ANNOTATION = "eks.amazonaws.com/role-arn"
LABELS = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/part-of": "rancher-stacks"}

Manifest = dict[str, Any]


def discovery_flag(cluster_name: str) -> str:
    """``--node-group-auto-discovery`` for the ASGs tagged for ``cluster_name``."""
    return f"--node-group-auto-discovery=asg:tag={ENABLED_TAG},{cluster_tag(cluster_name)}"


def render_autoscaler(
    *,
    cluster_name: str,
    region: str,
    image: str,
    role_arn: Any,
    expander: str = "least-waste",
    replicas: int = 2,
) -> list[Manifest]:
    """Every object cluster-autoscaler needs, in apply order.

    ``role_arn`` is placed as given (a string, or a Pulumi output the caller resolves).
    """
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    if not image.startswith("registry.k8s.io/autoscaling/cluster-autoscaler:v"):
        raise ValueError(
            f"the cluster-autoscaler image is registry.k8s.io/autoscaling/cluster-autoscaler:v<x.y.z>; got {image!r}"
        )
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    read = ["get", "list", "watch"]
    return [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {**meta, "annotations": {ROLE_ARN_ANNOTATION: role_arn}},
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": NAME, "labels": LABELS},
            "rules": [
                {"apiGroups": [""], "resources": ["events"], "verbs": ["create", "patch"]},
                {"apiGroups": [""], "resources": ["pods/eviction"], "verbs": ["create"]},
                {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["update"]},
                {"apiGroups": [""], "resources": ["nodes"], "verbs": [*read, "update"]},
                {
                    "apiGroups": [""],
                    "resources": [
                        "namespaces",
                        "pods",
                        "services",
                        "replicationcontrollers",
                        "persistentvolumeclaims",
                        "persistentvolumes",
                    ],
                    "verbs": read,
                },
                {"apiGroups": ["policy"], "resources": ["poddisruptionbudgets"], "verbs": ["list", "watch"]},
                {"apiGroups": ["apps"], "resources": ["statefulsets", "replicasets", "daemonsets"], "verbs": read},
                {
                    "apiGroups": ["resource.k8s.io"],
                    "resources": ["deviceclasses", "resourceslices", "resourceclaims"],
                    "verbs": read,
                },
                {
                    "apiGroups": ["storage.k8s.io"],
                    "resources": [
                        "storageclasses",
                        "csinodes",
                        "csidrivers",
                        "csistoragecapacities",
                        "volumeattachments",
                    ],
                    "verbs": read,
                },
                {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": [*read, "patch"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
                {
                    "apiGroups": ["coordination.k8s.io"],
                    "resources": ["leases"],
                    "resourceNames": [NAME],
                    "verbs": ["get", "update"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {"apiGroups": [""], "resources": ["configmaps"], "verbs": ["create", "list", "watch"]},
                {
                    "apiGroups": [""],
                    "resources": ["configmaps"],
                    "resourceNames": ["cluster-autoscaler-status", "cluster-autoscaler-priority-expander"],
                    "verbs": ["delete", "get", "update", "watch"],
                },
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": NAME, "labels": LABELS},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
            "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": LABELS},
                "template": {
                    "metadata": {
                        "labels": LABELS,
                        "annotations": {"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
                    },
                    "spec": {
                        "serviceAccountName": NAME,
                        "priorityClassName": "system-cluster-critical",
                        "securityContext": {
                            "runAsNonRoot": True,
                            "runAsUser": 65534,
                            "fsGroup": 65534,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "topologySpreadConstraints": [
                            {
                                "maxSkew": 1,
                                "topologyKey": "kubernetes.io/hostname",
                                "whenUnsatisfiable": "ScheduleAnyway",
                                "labelSelector": {"matchLabels": LABELS},
                            }
                        ],
                        "containers": [
                            {
                                "name": NAME,
                                "image": image,
                                "command": [
                                    "./cluster-autoscaler",
                                    "--v=4",
                                    "--stderrthreshold=info",
                                    "--cloud-provider=aws",
                                    discovery_flag(cluster_name),
                                    "--balance-similar-node-groups",
                                    f"--expander={expander}",
                                    "--skip-nodes-with-local-storage=false",
                                    "--leader-elect=true",
                                ],
                                "env": [{"name": "AWS_REGION", "value": region}],
                                "resources": {
                                    "requests": {"cpu": "100m", "memory": "600Mi"},
                                    "limits": {"memory": "600Mi"},
                                },
                                "securityContext": {
                                    "allowPrivilegeEscalation": False,
                                    "readOnlyRootFilesystem": True,
                                    "capabilities": {"drop": ["ALL"]},
                                },
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}},
        },
    ]
