"""The flow scheduler's manifests: a pure function from settings to Kubernetes objects (dicts).

What ``apps/flow-scheduler`` needs and nothing more (least RBAC):

* cluster-wide, a ``ClusterRole``: ``get``/``list``/``watch`` pods and nodes (to read the
  cluster), ``create`` ``pods/binding`` (to bind) and ``patch`` ``pods/status`` (to mark a pod
  Unschedulable), the same subresources the default scheduler uses;
* in its namespace, a ``Role`` on its one Lease: ``create`` leases (``resourceNames`` cannot
  restrict a create: Kubernetes RBAC docs, "Referring to resources") and ``get``/``update`` on
  that name only;
* a ``Deployment`` of two replicas (one binds, the other stands by on the Lease), spread over
  nodes, non-root with a read-only root filesystem, no capability and the runtime's default
  seccomp profile; ``POD_NAME`` and ``LEASE_NAMESPACE`` from the Downward API; priority
  ``system-cluster-critical`` in ``kube-system`` (the scheduler of other pods must not be
  evicted before them);
* a ``PodDisruptionBudget`` keeping one replica through voluntary disruptions.
"""

from __future__ import annotations

import re
from typing import Any

SCHEDULER_NAME = "rancher-stacks-flow"
APP = "rancher-stacks-flow-scheduler"
# Where the service answers /healthz (passed to it as HEALTH_PORT, so both always agree).
HEALTH_PORT = 8080
_PINNED = re.compile(r"^[a-z0-9][a-z0-9./_-]*(:(?!latest$)[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$")
_DNS_LABEL = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")

Manifest = dict[str, Any]


def render_manifests(
    *,
    image: str,
    namespace: str = "kube-system",
    scheduler_name: str = SCHEDULER_NAME,
    replicas: int = 2,
    batch_seconds: float = 1.0,
) -> list[Manifest]:
    """Every object the flow scheduler needs, in apply order."""
    if not _PINNED.match(image) or (":" not in image.rsplit("/", 1)[-1] and "@" not in image):
        raise ValueError(f"the flow scheduler's image must be pinned (a tag but latest, or a digest); got {image!r}")
    if not _DNS_LABEL.match(namespace) or not _DNS_LABEL.match(scheduler_name):
        raise ValueError("namespace and scheduler name must be DNS labels")
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    if not 0.1 <= batch_seconds <= 60:
        raise ValueError("batch_seconds must be between 0.1 and 60")
    labels = {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "rancher-stacks"}
    meta = {"name": APP, "namespace": namespace, "labels": labels}
    lease = APP
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRole",
            "metadata": {"name": APP, "labels": labels},
            "rules": [
                {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
                {"apiGroups": [""], "resources": ["pods/binding"], "verbs": ["create"]},
                {"apiGroups": [""], "resources": ["pods/status"], "verbs": ["patch"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": APP, "labels": labels},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": APP},
            "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": namespace}],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": meta,
            "rules": [
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
                {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": [lease],
                 "verbs": ["get", "update"]},
            ],
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": meta,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": APP},
            "subjects": [{"kind": "ServiceAccount", "name": APP, "namespace": namespace}],
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "serviceAccountName": APP,
                        **({"priorityClassName": "system-cluster-critical"} if namespace == "kube-system" else {}),
                        "securityContext": {
                            "runAsNonRoot": True, "runAsUser": 65532, "runAsGroup": 65532,
                            "seccompProfile": {"type": "RuntimeDefault"},
                        },
                        "topologySpreadConstraints": [{
                            "maxSkew": 1, "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway", "labelSelector": {"matchLabels": labels},
                        }],
                        "containers": [{
                            "name": "scheduler",
                            "image": image,
                            "env": [
                                {"name": "SCHEDULER_NAME", "value": scheduler_name},
                                {"name": "LEASE_NAME", "value": lease},
                                {"name": "BATCH_SECONDS", "value": f"{batch_seconds:g}"},
                                {"name": "HEALTH_PORT", "value": str(HEALTH_PORT)},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}},
                                {"name": "LEASE_NAMESPACE",
                                 "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                            ],
                            "resources": {
                                "requests": {"cpu": "100m", "memory": "256Mi"},
                                "limits": {"memory": "1Gi"},
                            },
                            # apps/flow-scheduler/flow_scheduler/health.py: 503 once the main loop
                            # has not completed an iteration for 30 s or a watch thread stopped.
                            # The first list of a big cluster takes seconds; 30 s + 6 x 10 s allow it.
                            "ports": [{"name": "health", "containerPort": HEALTH_PORT, "protocol": "TCP"}],
                            "livenessProbe": {
                                "httpGet": {"path": "/healthz", "port": "health"},
                                "initialDelaySeconds": 30,
                                "periodSeconds": 10,
                                "timeoutSeconds": 5,
                                "failureThreshold": 6,
                            },
                            "securityContext": {
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                            },
                        }],
                    },
                },
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}},
        },
    ]
