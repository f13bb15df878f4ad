"""Kubernetes objects, as the API server's JSON (camelCase dicts), to the flow scheduler's snapshot.

The scheduler reads nodes and pods as plain JSON rather than the client's models: on a cluster of
thousands of nodes, turning a list of 23,500 pods into models took about 5 s and 350 MiB, and
reading attributes off them again each cycle another 0.3 s. ``slim_pod``/``slim_node`` keep
only the fields below, so the cache holds a small dict per object.

* A node takes part when it is schedulable (``spec.unschedulable`` unset) and ``Ready``; its zone
  is the ``topology.kubernetes.io/zone`` label (``""`` without one), its capacity
  ``status.allocatable`` (``cpu``, ``memory``, ``pods``).
* A pod's request is what the default scheduler counts (Kubernetes docs, "Resource Management
  for Pods and Containers", and the effective request of init containers): the larger of the
  sum of its containers' requests and its largest init container's, per resource.
* A pending pod is ours when ``spec.schedulerName`` names this scheduler, it has no node yet and
  is not being deleted. Its owner is its first owner reference (a ReplicaSet), else itself.
* Required pod anti-affinity with a ``topologyKey`` of ``kubernetes.io/hostname`` or
  ``topology.kubernetes.io/zone`` becomes per-node or per-zone anti-affinity among the pods of
  the owner (the common "one replica per node/zone" rule); other affinity terms are not
  understood, and such a pod is left to fail with that reason rather than placed wrongly.
"""

from __future__ import annotations

import functools
from decimal import Decimal
from typing import Any, Mapping, Optional

from kubernetes.utils import parse_quantity

from rancher_stacks.placement import BoundPod, Node, PendingPod, Resources, Taint, Toleration

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"
Obj = Mapping[str, Any]


class UnsupportedPodError(ValueError):
    """A pod asks for something this scheduler does not place (the message says what)."""


# Quantities repeat across pods ("500m", "1Gi"), and parsing one (Decimal arithmetic) is most of
# a conversion's cost: each cycle converts every live pod, so parsed values are remembered.
@functools.lru_cache(maxsize=4096)
def _parsed(value: Any) -> Decimal:
    return parse_quantity(value)


def _cpu_m(value: Any) -> int:
    return int(_parsed(value) * 1000) if value is not None else 0


def _bytes(value: Any) -> int:
    return int(_parsed(value)) if value is not None else 0


def _get(obj: Optional[Obj], *path: str) -> Any:
    for key in path:
        if not obj:
            return None
        obj = obj.get(key)
    return obj


# ------------------------------------------------------------------------------- slimming

_POD_SPEC = ("nodeName", "schedulerName", "nodeSelector", "tolerations", "affinity")


def _slim_containers(containers: Optional[list[Obj]]) -> list[dict[str, Any]]:
    return [{"resources": {"requests": _get(c, "resources", "requests") or {}}} for c in containers or []]


def slim_pod(pod: Obj) -> dict[str, Any]:
    """What placement and binding read of a pod (no managedFields, env, volumes, status detail)."""
    meta, spec = pod.get("metadata") or {}, pod.get("spec") or {}
    owners = meta.get("ownerReferences") or []
    return {
        "metadata": {
            "name": meta.get("name"), "namespace": meta.get("namespace"),
            "resourceVersion": meta.get("resourceVersion"), "deletionTimestamp": meta.get("deletionTimestamp"),
            "ownerReferences": [{"kind": o.get("kind"), "name": o.get("name")} for o in owners[:1]],
        },
        "spec": {
            **{k: spec[k] for k in _POD_SPEC if spec.get(k) is not None},
            "containers": _slim_containers(spec.get("containers")),
            "initContainers": _slim_containers(spec.get("initContainers")),
        },
        "status": {"phase": _get(pod, "status", "phase")},
    }


def slim_node(node: Obj) -> dict[str, Any]:
    """What placement reads of a node (no images, addresses, daemon endpoints)."""
    meta, spec, status = node.get("metadata") or {}, node.get("spec") or {}, node.get("status") or {}
    return {
        "metadata": {"name": meta.get("name"), "labels": meta.get("labels") or {},
                     "resourceVersion": meta.get("resourceVersion")},
        "spec": {"unschedulable": spec.get("unschedulable"), "taints": spec.get("taints") or []},
        "status": {"allocatable": status.get("allocatable") or {},
                   "conditions": [{"type": c.get("type"), "status": c.get("status")}
                                  for c in status.get("conditions") or []]},
    }


# ------------------------------------------------------------------------------ conversion


def node_ready(node: Obj) -> bool:
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in _get(node, "status", "conditions") or [])


def to_node(node: Obj) -> Optional[Node]:
    """The placement view of a node, or None when nothing may be placed on it."""
    if _get(node, "spec", "unschedulable") or not node_ready(node):
        return None
    allocatable = _get(node, "status", "allocatable") or {}
    labels = dict(_get(node, "metadata", "labels") or {})
    taints = tuple(Taint(t.get("key", ""), t.get("value") or "", t.get("effect", "NoSchedule"))
                   for t in _get(node, "spec", "taints") or [])
    return Node(
        name=node["metadata"]["name"],
        zone=labels.get(ZONE_LABEL, ""),
        allocatable=Resources(_cpu_m(allocatable.get("cpu")), _bytes(allocatable.get("memory"))),
        max_pods=int(_parsed(allocatable.get("pods", "110"))),
        labels=labels,
        taints=taints,
    )


def pod_requests(pod: Obj) -> Resources:
    """The pod's effective request: max(sum of containers, largest init container), per resource."""
    cpu = memory = 0
    spec = pod.get("spec") or {}
    for container in spec.get("containers") or []:
        req = _get(container, "resources", "requests") or {}
        cpu += _cpu_m(req.get("cpu"))
        memory += _bytes(req.get("memory"))
    for init in spec.get("initContainers") or []:
        req = _get(init, "resources", "requests") or {}
        cpu, memory = max(cpu, _cpu_m(req.get("cpu"))), max(memory, _bytes(req.get("memory")))
    return Resources(cpu, memory)


def owner_of(pod: Obj) -> str:
    meta = pod["metadata"]
    refs = meta.get("ownerReferences") or []
    if refs:
        return f"{refs[0]['kind']}/{meta['namespace']}/{refs[0]['name']}"
    return f"Pod/{meta['namespace']}/{meta['name']}"


def pod_key(pod: Obj) -> str:
    meta = pod["metadata"]
    return f"{meta['namespace']}/{meta['name']}"


def _anti_affinity(pod: Obj) -> Optional[str]:
    affinity = _get(pod, "spec", "affinity")
    if not affinity:
        return None
    if affinity.get("podAffinity") or affinity.get("nodeAffinity"):
        raise UnsupportedPodError("pod or node affinity terms are not placed by this scheduler (use nodeSelector)")
    terms = _get(affinity, "podAntiAffinity", "requiredDuringSchedulingIgnoredDuringExecution") or []
    kinds = set()
    for term in terms:
        key = term.get("topologyKey")
        if key == HOSTNAME_KEY:
            kinds.add("node")
        elif key == ZONE_LABEL:
            kinds.add("zone")
        else:
            raise UnsupportedPodError(f"anti-affinity on topology key {key!r} is not placed by this scheduler")
    if len(kinds) > 1:
        raise UnsupportedPodError("anti-affinity both per node and per zone is not placed by this scheduler")
    return kinds.pop() if kinds else None


def to_pending(pod: Obj) -> PendingPod:
    """The placement view of a pending pod (``UnsupportedPodError`` for what it cannot place)."""
    spec = pod.get("spec") or {}
    tolerations = tuple(
        Toleration(t.get("key"), t.get("operator") or "Equal", t.get("value") or "", t.get("effect"))
        for t in spec.get("tolerations") or []
    )
    return PendingPod(
        name=pod_key(pod),
        owner=owner_of(pod),
        requests=pod_requests(pod),
        node_selector=tuple(sorted((spec.get("nodeSelector") or {}).items())),
        tolerations=tolerations,
        anti_affinity=_anti_affinity(pod),  # type: ignore[arg-type]
    )


def is_ours(pod: Obj, scheduler_name: str) -> bool:
    spec = pod.get("spec") or {}
    return (
        spec.get("schedulerName") == scheduler_name
        and not spec.get("nodeName")
        and not _get(pod, "metadata", "deletionTimestamp")
        and _get(pod, "status", "phase") in (None, "Pending")
    )


def as_bound(pod: Obj) -> Optional[BoundPod]:
    """What the pod takes on its node, when it is bound and not finished (else None)."""
    node = _get(pod, "spec", "nodeName")
    if not node or _get(pod, "status", "phase") in ("Succeeded", "Failed"):
        return None
    return BoundPod(pod_key(pod), node, pod_requests(pod), owner_of(pod))


__all__ = [
    "UnsupportedPodError", "is_ours", "owner_of", "pod_key", "pod_requests", "slim_node", "slim_pod", "as_bound",
    "to_node", "to_pending",
]
