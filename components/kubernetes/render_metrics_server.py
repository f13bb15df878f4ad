"""metrics-server's manifests: a pure function from an image to Kubernetes objects (dicts).

Upstream's release manifests with its high-availability component (kubernetes-sigs/metrics-server
tag v0.9.0: manifests/base/{rbac,apiservice,service,deployment}.yaml and
manifests/components/high-availability/{patch,pdb}.yaml): two replicas on distinct nodes, a
PodDisruptionBudget of one (upstream's HA PDB still says policy/v1beta1, served by no Kubernetes
since 1.25; it is policy/v1 here), ``system-cluster-critical``. It serves the
``metrics.k8s.io/v1beta1`` API that ``kubectl top`` and the Horizontal and Vertical Pod
Autoscalers read. The APIService keeps upstream's ``insecureSkipTLSVerify: true``: metrics-server
serves a self-signed certificate unless given one (upstream's default install).
"""

from __future__ import annotations

from typing import Any

NAME = "metrics-server"
NAMESPACE = "kube-system"
LABELS = {"k8s-app": NAME}

Manifest = dict[str, Any]


def render_metrics_server(*, image: str, replicas: int = 2) -> list[Manifest]:
    """Every object metrics-server needs, in apply order."""
    if not image.startswith("registry.k8s.io/metrics-server/metrics-server:v"):
        raise ValueError(
            f"the metrics-server image is registry.k8s.io/metrics-server/metrics-server:v<x.y.z>; got {image!r}"
        )
    if replicas < 1:
        raise ValueError("replicas must be at least 1")
    meta = {"name": NAME, "namespace": NAMESPACE, "labels": LABELS}
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": NAMESPACE}]
    rbac = "rbac.authorization.k8s.io"
    probe = {"path": "/readyz", "port": "https", "scheme": "HTTPS"}
    return [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta},
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": {
                "name": "system:aggregated-metrics-reader",
                "labels": {
                    **LABELS,
                    **{f"rbac.authorization.k8s.io/aggregate-to-{r}": "true" for r in ("view", "edit", "admin")},
                },
            },
            "rules": [
                {"apiGroups": ["metrics.k8s.io"], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]}
            ],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRole",
            "metadata": {"name": "system:metrics-server", "labels": LABELS},
            "rules": [
                {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]},
                {"apiGroups": [""], "resources": ["pods", "nodes"], "verbs": ["get", "list", "watch"]},
            ],
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "metrics-server-auth-reader", "namespace": NAMESPACE, "labels": LABELS},
            "roleRef": {"apiGroup": rbac, "kind": "Role", "name": "extension-apiserver-authentication-reader"},
            "subjects": subject,
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "metrics-server:system:auth-delegator", "labels": LABELS},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:auth-delegator"},
            "subjects": subject,
        },
        {
            "apiVersion": f"{rbac}/v1",
            "kind": "ClusterRoleBinding",
            "metadata": {"name": "system:metrics-server", "labels": LABELS},
            "roleRef": {"apiGroup": rbac, "kind": "ClusterRole", "name": "system:metrics-server"},
            "subjects": subject,
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": meta,
            "spec": {
                "selector": LABELS,
                "ports": [
                    {"name": "https", "port": 443, "protocol": "TCP", "targetPort": "https", "appProtocol": "https"}
                ],
            },
        },
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": meta,
            "spec": {
                "replicas": replicas,
                "selector": {"matchLabels": LABELS},
                "strategy": {"rollingUpdate": {"maxUnavailable": 1}},
                "template": {
                    "metadata": {"labels": LABELS},
                    "spec": {
                        "serviceAccountName": NAME,
                        "priorityClassName": "system-cluster-critical",
                        "nodeSelector": {"kubernetes.io/os": "linux"},
                        "affinity": {
                            "podAntiAffinity": {
                                "requiredDuringSchedulingIgnoredDuringExecution": [
                                    {
                                        "labelSelector": {"matchLabels": LABELS},
                                        "namespaces": [NAMESPACE],
                                        "topologyKey": "kubernetes.io/hostname",
                                    }
                                ]
                            }
                        },
                        "volumes": [{"name": "tmp-dir", "emptyDir": {}}],
                        "containers": [
                            {
                                "name": NAME,
                                "image": image,
                                "imagePullPolicy": "IfNotPresent",
                                "args": [
                                    "--cert-dir=/tmp",
                                    "--secure-port=10250",
                                    "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                                    "--kubelet-use-node-status-port",
                                    "--metric-resolution=15s",
                                ],
                                "resources": {"requests": {"cpu": "100m", "memory": "200Mi"}},
                                "ports": [{"name": "https", "containerPort": 10250, "protocol": "TCP"}],
                                "readinessProbe": {
                                    "httpGet": probe,
                                    "periodSeconds": 10,
                                    "failureThreshold": 3,
                                    "initialDelaySeconds": 20,
                                },
                                "livenessProbe": {
                                    "httpGet": {**probe, "path": "/livez"},
                                    "periodSeconds": 10,
                                    "failureThreshold": 3,
                                },
                                "securityContext": {
                                    "readOnlyRootFilesystem": True,
                                    "runAsNonRoot": True,
                                    "runAsUser": 1000,
                                    "allowPrivilegeEscalation": False,
                                    "seccompProfile": {"type": "RuntimeDefault"},
                                    "capabilities": {"drop": ["ALL"]},
                                },
                                "volumeMounts": [{"name": "tmp-dir", "mountPath": "/tmp"}],
                            }
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "apiregistration.k8s.io/v1",
            "kind": "APIService",
            "metadata": {"name": "v1beta1.metrics.k8s.io", "labels": LABELS},
            "spec": {
                "service": {"name": NAME, "namespace": NAMESPACE},
                "group": "metrics.k8s.io",
                "version": "v1beta1",
                "insecureSkipTLSVerify": True,
                "groupPriorityMinimum": 100,
                "versionPriority": 100,
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": meta,
            "spec": {"minAvailable": 1, "selector": {"matchLabels": LABELS}},
        },
    ]
