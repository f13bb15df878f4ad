"""Nodes and pods as the Kubernetes API server sends them (JSON, camelCase), for the flow
scheduler's tests: the fields a real object has around the ones the scheduler reads."""

from __future__ import annotations

from typing import Any, Optional

ZONE = "topology.kubernetes.io/zone"


def node(name: str, zone: str, cpu: str = "4", memory: str = "8Gi", ready: bool = True,
         taints: Optional[list[dict[str, str]]] = None, unschedulable: bool = False) -> dict[str, Any]:
    spec: dict[str, Any] = {"providerID": f"aws:///{zone}/i-0{name}"}
    if taints:
        spec["taints"] = taints
    if unschedulable:
        spec["unschedulable"] = True
    return {
        "metadata": {"name": name, "labels": {ZONE: zone, "kubernetes.io/hostname": name},
                     "creationTimestamp": "2026-12-01T10:00:00Z", "resourceVersion": "7",
                     "managedFields": [{"manager": "kubelet", "operation": "Update", "fieldsType": "FieldsV1"}]},
        "spec": spec,
        "status": {
            "capacity": {"cpu": cpu, "memory": memory, "pods": "110"},
            "allocatable": {"cpu": cpu, "memory": memory, "pods": "110"},
            "conditions": [{"type": "Ready", "status": "True" if ready else "False", "reason": "KubeletReady",
                            "lastHeartbeatTime": "2026-12-03T15:19:50Z", "lastTransitionTime": "2026-12-01T10:01:00Z"}],
            "images": [{"names": ["registry.example/web:1.4.2"], "sizeBytes": 52_000_000}],
        },
    }


def pod(name: str, rs: str = "web", cpu: str = "500m", memory: str = "1Gi", node_name: Optional[str] = None,
        scheduler: str = "rancher-stacks-flow", **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schedulerName": scheduler,
        "containers": [{"name": "app", "image": "registry.example/web:1.4.2",
                        "env": [{"name": "MODE", "value": "production"}],
                        "resources": {"requests": {"cpu": cpu, "memory": memory}}}],
        **spec,
    }
    if node_name:
        body["nodeName"] = node_name
    return {
        "metadata": {"name": name, "namespace": "apps", "uid": f"uid-{name}", "resourceVersion": "10",
                     "creationTimestamp": "2026-12-03T15:19:59Z",
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": rs,
                                          "uid": f"uid-{rs}", "controller": True}]},
        "spec": body,
        "status": {"phase": "Running" if node_name else "Pending", "qosClass": "Burstable"},
    }
