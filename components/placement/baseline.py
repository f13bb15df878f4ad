"""A pod-at-a-time scheduler doing what the default Kubernetes scheduler's main plugins do: the
baseline the flow scheduler is measured against (``tools.bench_scheduler``), never deployed.

For each pending pod in turn (kube-scheduler's ``scheduleOne``, pkg/scheduler/schedule_one.go):

1. **Filter** nodes, starting where the previous cycle stopped, until enough feasible ones are
   found: ``numFeasibleNodesToFind`` takes an adaptive share of the cluster, ``50 - nodes/125``
   percent but at least 5 percent and at least 100 nodes (``minFeasibleNodesToFind``). A node is
   feasible when the pod's requests fit what is free (NodeResourcesFit), the node selector
   matches (NodeAffinity), ``NoSchedule``/``NoExecute`` taints are tolerated (TaintToleration),
   and anti-affinity allows it (InterPodAffinity, per node or zone).
2. **Score** the feasible nodes with the default weights: NodeResourcesFit's LeastAllocated
   (the mean of ``free x 100 / allocatable`` over CPU and memory, after the pod), weight 1, and
   PodTopologySpread over zones, weight 2 (fewer pods of the owner in the node's zone scores
   higher; ``100 x (max - count) / max`` over the zones seen), minus 30 per untolerated
   ``PreferNoSchedule`` taint (TaintToleration, weight 3, normalised).
3. **Bind** the pod to the best node (the first on ties) and account for it before the next pod.
"""

from __future__ import annotations

from collections import defaultdict

from .model import Node, Placement, Resources, Snapshot, eligible, soft_taints

MIN_FEASIBLE_NODES = 100
MIN_PERCENT = 5


def nodes_to_find(total: int) -> int:
    """How many feasible nodes one cycle looks for (kube-scheduler's ``numFeasibleNodesToFind``
    with no ``percentageOfNodesToScore`` set)."""
    if total < MIN_FEASIBLE_NODES:
        return total
    percent = max(MIN_PERCENT, 50 - total // 125)
    return max(total * percent // 100, MIN_FEASIBLE_NODES)


def place_one_at_a_time(snapshot: Snapshot) -> Placement:
    snapshot.check()
    nodes = list(snapshot.nodes)
    used: dict[str, Resources] = defaultdict(lambda: Resources(0, 0))
    count: dict[str, int] = defaultdict(int)
    owners_on_node: dict[str, set[str]] = defaultdict(set)
    per_zone: dict[tuple[str, str], int] = defaultdict(int)  # (owner, zone) -> pods
    zone_of = {n.name: n.zone for n in nodes}
    for running in snapshot.bound:
        used[running.node] = used[running.node] + running.requests
        count[running.node] += 1
        if running.owner:
            owners_on_node[running.node].add(running.owner)
            per_zone[(running.owner, zone_of[running.node])] += 1
    want = nodes_to_find(len(nodes))
    start = 0
    result = Placement()
    for pod in snapshot.pending:
        feasible: list[Node] = []
        examined = 0
        while examined < len(nodes) and len(feasible) < want:
            node = nodes[(start + examined) % len(nodes)]
            examined += 1
            if eligible(node, pod) is not None or count[node.name] >= node.max_pods:
                continue
            if not pod.requests.fits_in(node.allocatable - used[node.name]):
                continue
            if pod.anti_affinity == "node" and pod.owner in owners_on_node[node.name]:
                continue
            if pod.anti_affinity == "zone" and per_zone[(pod.owner, node.zone)] > 0:
                continue
            feasible.append(node)
        start = (start + examined) % len(nodes) if nodes else 0
        if not feasible:
            result.unscheduled[pod.name] = "no feasible node"
            continue
        top = max(per_zone[(pod.owner, n.zone)] for n in feasible)
        best, best_score = feasible[0], -1.0
        for node in feasible:
            alloc = node.allocatable
            after = used[node.name] + pod.requests
            cpu = (alloc.cpu_m - after.cpu_m) * 100 / alloc.cpu_m if alloc.cpu_m else 0
            mem = (alloc.memory - after.memory) * 100 / alloc.memory if alloc.memory else 0
            spread = 100 * (top - per_zone[(pod.owner, node.zone)]) / top if top else 100
            score = (cpu + mem) / 2 + 2 * spread - 30 * soft_taints(node, pod)
            if score > best_score:
                best, best_score = node, score
        result.assignments[pod.name] = best.name
        used[best.name] = used[best.name] + pod.requests
        count[best.name] += 1
        owners_on_node[best.name].add(pod.owner)
        per_zone[(pod.owner, best.zone)] += 1
    return result
