"""Flow-network placement (seed 7, Firmament): bulk min-cost-flow placement of pending pods.

``place(snapshot)`` places every pending pod of a cluster snapshot at once (one min-cost-flow
network per pod shape, solved with OR-Tools) and returns where each pod goes, or why it cannot
go anywhere (``flow``: the network and its cost model; ``model``: the snapshot; ``baseline``: the
pod-at-a-time scheduler it is measured against). Pure Python over the solver: no Pulumi, no
Kubernetes client.
"""

from .flow import assignment_cost, place
from .model import (
    BoundPod,
    Node,
    PendingPod,
    Placement,
    Resources,
    Snapshot,
    SnapshotError,
    Taint,
    Toleration,
)

__all__ = [
    "BoundPod", "Node", "PendingPod", "Placement", "Resources", "Snapshot", "SnapshotError", "Taint",
    "Toleration", "assignment_cost", "place",
]
