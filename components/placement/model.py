"""What the flow scheduler reads and writes: a cluster snapshot in, placements out. Plain values.

The shapes follow the Kubernetes objects they stand for (``v1.Node`` allocatable, labels and
taints; ``v1.Pod`` requests, ``nodeSelector``, tolerations), reduced to what placement needs.
``Snapshot.check`` refuses impossible input (negative allocatable, a duplicate name) with a
``SnapshotError`` naming the object, before any network is built.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Mapping, Optional

# Taint effects that forbid placement (``NoSchedule``, ``NoExecute``); ``PreferNoSchedule`` only
# discourages it (Kubernetes docs, "Taints and Tolerations").
HARD_EFFECTS = frozenset({"NoSchedule", "NoExecute"})
SOFT_EFFECT = "PreferNoSchedule"

AntiAffinity = Literal["node", "zone"]


class SnapshotError(ValueError):
    """The snapshot cannot describe a real cluster (the message names the object)."""


@dataclass(frozen=True)
class Resources:
    """CPU in millicores and memory in bytes, as ``requests`` and ``allocatable`` state them."""

    cpu_m: int
    memory: int

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m + other.cpu_m, self.memory + other.memory)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.cpu_m - other.cpu_m, self.memory - other.memory)

    def times(self, n: int) -> Resources:
        return Resources(self.cpu_m * n, self.memory * n)

    def fits_in(self, free: Resources) -> bool:
        return self.cpu_m <= free.cpu_m and self.memory <= free.memory


@dataclass(frozen=True)
class Taint:
    key: str
    value: str = ""
    effect: str = "NoSchedule"


@dataclass(frozen=True)
class Toleration:
    """``operator: Exists`` with no key tolerates every taint; no effect matches every effect."""

    key: Optional[str] = None
    operator: Literal["Equal", "Exists"] = "Equal"
    value: str = ""
    effect: Optional[str] = None

    def tolerates(self, taint: Taint) -> bool:
        if self.effect is not None and self.effect != taint.effect:
            return False
        if self.operator == "Exists":
            return self.key is None or self.key == taint.key
        return self.key == taint.key and self.value == taint.value


@dataclass(frozen=True)
class Node:
    name: str
    zone: str
    allocatable: Resources
    max_pods: int = 110
    labels: Mapping[str, str] = field(default_factory=dict)
    taints: tuple[Taint, ...] = ()


@dataclass(frozen=True)
class BoundPod:
    """A pod already running on ``node``: what it takes from the node."""

    name: str
    node: str
    requests: Resources
    owner: str = ""


@dataclass(frozen=True)
class PendingPod:
    """A pod waiting for the flow scheduler. Pods of one ``owner`` (a ReplicaSet) with equal
    requests and constraints form one equivalence class in the network."""

    name: str
    owner: str
    requests: Resources
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()
    # At most one pod of the owner per node, or per zone.
    anti_affinity: Optional[AntiAffinity] = None


@dataclass(frozen=True)
class Snapshot:
    nodes: tuple[Node, ...]
    bound: tuple[BoundPod, ...]
    pending: tuple[PendingPod, ...]

    def check(self) -> None:
        """``SnapshotError`` for input no cluster can have."""
        names: set[str] = set()
        for node in self.nodes:
            if node.name in names:
                raise SnapshotError(f"node {node.name!r} appears twice")
            names.add(node.name)
            a = node.allocatable
            if a.cpu_m < 0 or a.memory < 0 or node.max_pods < 0:
                raise SnapshotError(
                    f"node {node.name!r}: allocatable must not be negative (cpu {a.cpu_m}m, memory {a.memory}, "
                    f"pods {node.max_pods})"
                )
        for running in self.bound:
            if running.node not in names:
                raise SnapshotError(f"bound pod {running.name!r} is on unknown node {running.node!r}")
        seen: set[str] = set()
        for pod in self.pending:
            if pod.name in seen:
                raise SnapshotError(f"pending pod {pod.name!r} appears twice")
            seen.add(pod.name)
            if pod.requests.cpu_m < 0 or pod.requests.memory < 0:
                raise SnapshotError(f"pending pod {pod.name!r}: requests must not be negative")


@dataclass
class Placement:
    """Where each pending pod goes, and why any that does not go anywhere was left out."""

    assignments: dict[str, str] = field(default_factory=dict)
    unscheduled: dict[str, str] = field(default_factory=dict)
    # The network's cost of the assignment (the solver's objective), for comparisons.
    cost: int = 0


def eligible(node: Node, pod: PendingPod) -> Optional[str]:
    """Why ``pod`` can never go on ``node`` (None: it may, capacity permitting)."""
    for key, value in pod.node_selector:
        if node.labels.get(key) != value:
            return f"node selector {key}={value}"
    for taint in node.taints:
        if taint.effect in HARD_EFFECTS and not any(t.tolerates(taint) for t in pod.tolerations):
            return f"untolerated taint {taint.key}={taint.value}:{taint.effect}"
    if not pod.requests.fits_in(node.allocatable) or node.max_pods < 1:
        return "requests more than the node's allocatable"
    return None


def soft_taints(node: Node, pod: PendingPod) -> int:
    """How many ``PreferNoSchedule`` taints of ``node`` the pod does not tolerate."""
    return sum(
        1 for t in node.taints if t.effect == SOFT_EFFECT and not any(x.tolerates(t) for x in pod.tolerations)
    )
