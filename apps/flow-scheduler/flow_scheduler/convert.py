"""Kubernetes objects (the official client's models) to the flow scheduler's snapshot.

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
from typing import Any, Iterable, Optional

from kubernetes.utils import parse_quantity

from rancher_stacks.placement import BoundPod, Node, PendingPod, Resources, Taint, Toleration

ZONE_LABEL = "topology.kubernetes.io/zone"
HOSTNAME_KEY = "kubernetes.io/hostname"


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


def node_ready(node: Any) -> bool:
    conditions = (node.status.conditions or []) if node.status else []
    return any(c.type == "Ready" and c.status == "True" for c in conditions)


def to_node(node: Any) -> Optional[Node]:
    """The placement view of a ``V1Node``, or None when nothing may be placed on it."""
    if node.spec and node.spec.unschedulable:
        return None
    if not node_ready(node):
        return None
    allocatable = node.status.allocatable or {}
    labels = dict(node.metadata.labels or {})
    taints = tuple(Taint(t.key, t.value or "", t.effect) for t in ((node.spec.taints if node.spec else None) or []))
    return Node(
        name=node.metadata.name,
        zone=labels.get(ZONE_LABEL, ""),
        allocatable=Resources(_cpu_m(allocatable.get("cpu")), _bytes(allocatable.get("memory"))),
        max_pods=int(parse_quantity(allocatable.get("pods", "110"))),
        labels=labels,
        taints=taints,
    )


def pod_requests(pod: Any) -> Resources:
    """The pod's effective request: max(sum of containers, largest init container), per resource."""

    def requests(container: Any) -> Resources:
        req = (container.resources.requests if container.resources else None) or {}
        return Resources(_cpu_m(req.get("cpu")), _bytes(req.get("memory")))

    total = Resources(0, 0)
    for container in pod.spec.containers or []:
        total = total + requests(container)
    for init in pod.spec.init_containers or []:
        r = requests(init)
        total = Resources(max(total.cpu_m, r.cpu_m), max(total.memory, r.memory))
    return total


def owner_of(pod: Any) -> str:
    refs = pod.metadata.owner_references or []
    if refs:
        return f"{refs[0].kind}/{pod.metadata.namespace}/{refs[0].name}"
    return f"Pod/{pod.metadata.namespace}/{pod.metadata.name}"


def pod_key(pod: Any) -> str:
    return f"{pod.metadata.namespace}/{pod.metadata.name}"


def _anti_affinity(pod: Any) -> Optional[str]:
    affinity = pod.spec.affinity
    if affinity is None:
        return None
    if affinity.pod_affinity is not None or affinity.node_affinity is not None:
        raise UnsupportedPodError("pod or node affinity terms are not placed by this scheduler (use nodeSelector)")
    anti = affinity.pod_anti_affinity
    if anti is None:
        return None
    terms = anti.required_during_scheduling_ignored_during_execution or []
    kinds = set()
    for term in terms:
        if term.topology_key == HOSTNAME_KEY:
            kinds.add("node")
        elif term.topology_key == ZONE_LABEL:
            kinds.add("zone")
        else:
            key = term.topology_key
            raise UnsupportedPodError(f"anti-affinity on topology key {key!r} is not placed by this scheduler")
    if len(kinds) > 1:
        raise UnsupportedPodError("anti-affinity both per node and per zone is not placed by this scheduler")
    return kinds.pop() if kinds else None


def to_pending(pod: Any) -> PendingPod:
    """The placement view of a pending ``V1Pod`` (``UnsupportedPodError`` for what it cannot place)."""
    tolerations = tuple(
        Toleration(t.key, t.operator or "Equal", t.value or "", t.effect) for t in (pod.spec.tolerations or [])
    )
    return PendingPod(
        name=pod_key(pod),
        owner=owner_of(pod),
        requests=pod_requests(pod),
        node_selector=tuple(sorted((pod.spec.node_selector or {}).items())),
        tolerations=tolerations,
        anti_affinity=_anti_affinity(pod),  # type: ignore[arg-type]
    )


def is_ours(pod: Any, scheduler_name: str) -> bool:
    return (
        pod.spec.scheduler_name == scheduler_name
        and not pod.spec.node_name
        and pod.metadata.deletion_timestamp is None
        and (pod.status is None or pod.status.phase in (None, "Pending"))
    )


def to_bound(pods: Iterable[Any]) -> list[BoundPod]:
    """Pods that take capacity on their node: bound and not finished."""
    return [
        BoundPod(pod_key(p), p.spec.node_name, pod_requests(p), owner_of(p))
        for p in pods
        if p.spec.node_name and (p.status is None or p.status.phase not in ("Succeeded", "Failed"))
    ]


__all__ = ["UnsupportedPodError", "is_ours", "owner_of", "pod_requests", "to_bound", "to_node", "to_pending"]
