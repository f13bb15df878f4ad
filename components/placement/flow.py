"""Bulk placement as min-cost flow, after Firmament (seed 7): build the network, solve, extract.

**The network.** Flow is pods. Each *pod class* (pending pods of one owner with equal requests
and constraints) is a source of as many units as it has pods; all flow drains to one sink ``T``.

    class c --spread--> (c, zone) --> A(zone, shape, constraints) --> G(group, shape) --levels--> G(group) --> T
    class c -----------------------unscheduled (cost 100 000)-----------------------------------------> T

* *Node groups*: nodes alike in zone, labels, taints, allocatable and what is free on them are one
  group ``G`` (a burst on a fresh cluster has a handful), so the network grows with the kinds of
  nodes and pods, not with their numbers. ``G(group) -> T`` holds the group's free pod slots.
* *Aggregators* ``A``: classes that need the same resources (shape) under the same constraints
  share one node per zone, as Firmament's equivalence classes do; they reach only the groups
  whose nodes they may use (node selector, ``NoSchedule``/``NoExecute`` taints: hard
  constraints, no arc at all).

**The cost model** (integers; documented where each arc is made):

* *least allocated*: ``G(group, shape) -> G(group)`` is split into up to four parallel arcs of
  rising cost, each a band of fill levels of every node in the group; a band costs
  ``1 + 1000 x`` the nodes' utilisation (the larger of CPU and memory) at its top. Costs are
  convex, so the solver fills the emptiest nodes first and spreads evenly within a group;
* *zone spread*: ``c -> (c, zone)`` is free up to an even share of the class per zone (its pods
  over the zones it may use, rounded up), and costs 1500 a pod beyond it;
* ``PreferNoSchedule`` taints the pod does not tolerate: 300 per taint on ``A -> G``;
* *anti-affinity*: per zone, ``c -> (c, zone)`` carries at most one pod; per node, the class
  bypasses ``A`` with at most one pod per node of each group;
* *unscheduled*: ``c -> T`` at 100 000 a pod, more than any placement costs, so a pod stays
  unplaced only when nothing can take it, and is reported with the reason.

**Capacities** are exact for one shape: a node takes ``min(free CPU / request, free memory /
request, free pod slots)`` pods of it. Pods of *different* shapes share a node's CPU and memory,
which one flow cannot express; after extracting the placements, any node they overfill gives
back its largest pods and the network is solved again for those, with the node's new usage
(a few rounds at most; anything still left is unscheduled, with the reason).

Rescheduling running pods is out of scope: bound pods only take capacity.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional, Sequence

from .model import BoundPod, Node, PendingPod, Placement, Resources, Snapshot, eligible, soft_taints

ALLOC_WEIGHT = 1000
SPREAD_PENALTY = 1500
SOFT_TAINT_PENALTY = 300
UNSCHEDULED_COST = 100_000
LEVEL_BANDS = 4
REPAIR_ROUNDS = 5

Backend = Literal["ortools", "networkx"]


# ----------------------------------------------------------------------------------------- input


@dataclass
class _Group:
    """Nodes alike in everything placement looks at."""

    nodes: list[Node]
    used: Resources
    free_slots: int
    # Owners (with pending per-node anti-affinity pods) that already run a pod on these nodes.
    owners: frozenset[str] = frozenset()

    @property
    def rep(self) -> Node:
        return self.nodes[0]

    @property
    def free(self) -> Resources:
        return self.rep.allocatable - self.used

    def fit(self, shape: Resources) -> int:
        """How many pods of ``shape`` one node of the group takes."""
        free = self.free
        counts = [self.free_slots]
        if shape.cpu_m > 0:
            counts.append(free.cpu_m // shape.cpu_m)
        if shape.memory > 0:
            counts.append(free.memory // shape.memory)
        return max(0, min(counts))

    def utilisation(self, shape: Resources, level: int) -> float:
        """The larger of CPU and memory utilisation of a node holding ``level`` more pods."""
        alloc = self.rep.allocatable
        after = self.used + shape.times(level)
        cpu = after.cpu_m / alloc.cpu_m if alloc.cpu_m else 1.0
        mem = after.memory / alloc.memory if alloc.memory else 1.0
        return max(cpu, mem)


def level_bands(group: _Group, shape: Resources) -> list[tuple[int, int, int]]:
    """``(first level, last level, cost)`` of each band of ``G(group, shape) -> G(group)``."""
    k = group.fit(shape)
    if k <= 0:
        return []
    bands = []
    bounds = sorted({math.ceil(k * (i + 1) / LEVEL_BANDS) for i in range(LEVEL_BANDS)})
    low = 1
    for high in bounds:
        bands.append((low, high, 1 + int(ALLOC_WEIGHT * group.utilisation(shape, high))))
        low = high + 1
    return bands


def _groups(nodes: Sequence[Node], bound: Sequence[BoundPod], watched: frozenset[str]) -> list[_Group]:
    """Nodes grouped by what placement sees of them; ``watched`` owners (those with pending
    per-node anti-affinity pods) split groups by whether they already run on the node."""
    used: dict[str, Resources] = defaultdict(lambda: Resources(0, 0))
    count: dict[str, int] = defaultdict(int)
    owners: dict[str, set[str]] = defaultdict(set)
    for pod in bound:
        used[pod.node] = used[pod.node] + pod.requests
        count[pod.node] += 1
        if pod.owner in watched:
            owners[pod.node].add(pod.owner)
    grouped: dict[tuple, _Group] = {}
    for node in nodes:
        here = frozenset(owners[node.name])
        key = (node.zone, tuple(sorted(node.labels.items())), node.taints, node.allocatable,
               used[node.name], node.max_pods - count[node.name], here)
        if key in grouped:
            grouped[key].nodes.append(node)
        else:
            grouped[key] = _Group([node], used[node.name], max(0, node.max_pods - count[node.name]), here)
    return list(grouped.values())


def _usable(groups: Sequence[_Group], pod: PendingPod) -> tuple[list[int], dict[str, int]]:
    """The groups a class may use, and how many nodes each reason rules out."""
    usable: list[int] = []
    reasons: dict[str, int] = defaultdict(int)
    for gi, group in enumerate(groups):
        why = eligible(group.rep, pod)
        if why is None and pod.anti_affinity == "node" and pod.owner in group.owners:
            why = "anti-affinity: the owner already runs there"
        if why is None and group.fit(pod.requests) <= 0:
            why = "no free capacity"
        if why is None:
            usable.append(gi)
        else:
            reasons[why] += len(group.nodes)
    return usable, reasons


def _zone_shares(pods: Sequence[PendingPod], zones: Sequence[str], running: Counter) -> dict[str, int]:
    """How many of the class's pods each zone takes at no spread cost: an even share of the
    owner's pods over the zones (rounded up), less what already runs there."""
    total = len(pods) + sum(running[z] for z in zones)
    share = math.ceil(total / len(zones))
    return {z: max(0, share - running[z]) for z in zones}


def _running_per_zone(snapshot: Snapshot) -> dict[str, Counter]:
    """Owner -> zone -> pods of the owner already running there."""
    zone = {n.name: n.zone for n in snapshot.nodes}
    running: dict[str, Counter] = defaultdict(Counter)
    for pod in snapshot.bound:
        if pod.owner:
            running[pod.owner][zone[pod.node]] += 1
    return running


def _classes(pending: Sequence[PendingPod]) -> list[list[PendingPod]]:
    by_key: dict[tuple, list[PendingPod]] = defaultdict(list)
    for pod in pending:
        by_key[(pod.owner, pod.requests, pod.node_selector, pod.tolerations, pod.anti_affinity)].append(pod)
    return [sorted(pods, key=lambda p: p.name) for _, pods in sorted(by_key.items(), key=lambda kv: repr(kv[0]))]


# --------------------------------------------------------------------------------------- network


@dataclass
class Network:
    """A min-cost-flow instance: arcs (tail, head, capacity, unit cost) and node supplies."""

    supplies: list[int] = field(default_factory=list)
    tails: list[int] = field(default_factory=list)
    heads: list[int] = field(default_factory=list)
    capacities: list[int] = field(default_factory=list)
    costs: list[int] = field(default_factory=list)

    def node(self, supply: int = 0) -> int:
        self.supplies.append(supply)
        return len(self.supplies) - 1

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> int:
        self.tails.append(tail)
        self.heads.append(head)
        self.capacities.append(capacity)
        self.costs.append(cost)
        return len(self.tails) - 1


@dataclass
class _Built:
    network: Network
    classes: list[list[PendingPod]]
    groups: list[_Group]
    unscheduled_arc: dict[int, int]  # class index -> arc
    # arc -> (class index, group index) for arcs that carry one class into a group's shape node
    direct: dict[int, tuple[int, int]]
    # aggregator inflow arcs: arc -> (aggregator, class index); outflow arcs: arc -> (aggregator, group)
    into_agg: dict[int, tuple[int, int]]
    out_of_agg: dict[int, tuple[int, int]]
    never: dict[int, str]  # class index -> why no node can ever take it


def build(snapshot: Snapshot) -> _Built:
    """The flow network of ``snapshot`` (see the module docstring)."""
    net = Network()
    classes = _classes(snapshot.pending)
    watched = frozenset(p.owner for p in snapshot.pending if p.anti_affinity == "node")
    groups = _groups(snapshot.nodes, snapshot.bound, watched)
    running = _running_per_zone(snapshot)
    sink = net.node(-len(snapshot.pending))
    group_node = [net.node() for _ in groups]
    for gi, group in enumerate(groups):
        net.arc(group_node[gi], sink, group.free_slots * len(group.nodes), 0)
    shape_node: dict[tuple[int, Resources], int] = {}

    def group_shape(gi: int, shape: Resources) -> int:
        key = (gi, shape)
        if key not in shape_node:
            shape_node[key] = net.node()
            group = groups[gi]
            for low, high, cost in level_bands(group, shape):
                net.arc(shape_node[key], group_node[gi], (high - low + 1) * len(group.nodes), cost)
        return shape_node[key]

    aggregators: dict[tuple, int] = {}
    built = _Built(net, classes, groups, {}, {}, {}, {}, {})
    for ci, pods in enumerate(classes):
        pod = pods[0]
        n = len(pods)
        source = net.node(n)
        built.unscheduled_arc[ci] = net.arc(source, sink, n, UNSCHEDULED_COST)
        usable, reasons = _usable(groups, pod)
        if not usable:
            built.never[ci] = "no node can take it: " + ", ".join(
                f"{count} node(s): {why}" for why, count in sorted(reasons.items())
            )
            continue
        zones = sorted({groups[gi].rep.zone for gi in usable})
        mine = running[pod.owner]
        if pod.anti_affinity == "zone":
            zones = [z for z in zones if mine[z] == 0]
        shares = _zone_shares(pods, zones, mine)
        for zone in zones:
            zone_node = net.node()
            if pod.anti_affinity == "zone":
                net.arc(source, zone_node, 1, 0)
            else:
                if shares[zone]:
                    net.arc(source, zone_node, shares[zone], 0)
                if shares[zone] < n:
                    net.arc(source, zone_node, n - shares[zone], SPREAD_PENALTY)
            in_zone = [gi for gi in usable if groups[gi].rep.zone == zone]
            if pod.anti_affinity == "node":
                for gi in in_zone:
                    penalty = SOFT_TAINT_PENALTY * soft_taints(groups[gi].rep, pod)
                    arc = net.arc(zone_node, group_shape(gi, pod.requests), len(groups[gi].nodes), penalty)
                    built.direct[arc] = (ci, gi)
                continue
            key = (zone, pod.requests, pod.node_selector, pod.tolerations)
            if key not in aggregators:
                agg = aggregators[key] = net.node()
                for gi in in_zone:
                    penalty = SOFT_TAINT_PENALTY * soft_taints(groups[gi].rep, pod)
                    arc = net.arc(agg, group_shape(gi, pod.requests), max(1, len(snapshot.pending)), penalty)
                    built.out_of_agg[arc] = (agg, gi)
            arc = net.arc(zone_node, aggregators[key], n, 0)
            built.into_agg[arc] = (aggregators[key], ci)
    return built


# ----------------------------------------------------------------------------------------- solve


def solve_ortools(net: Network) -> tuple[list[int], int]:
    """Flows per arc and the optimal cost, with OR-Tools' ``SimpleMinCostFlow``."""
    import numpy as np
    from ortools.graph.python import min_cost_flow

    solver = min_cost_flow.SimpleMinCostFlow()
    solver.add_arcs_with_capacity_and_unit_cost(
        np.asarray(net.tails, dtype=np.int32), np.asarray(net.heads, dtype=np.int32),
        np.asarray(net.capacities, dtype=np.int64), np.asarray(net.costs, dtype=np.int64),
    )
    solver.set_nodes_supplies(np.arange(len(net.supplies), dtype=np.int32), np.asarray(net.supplies, dtype=np.int64))
    status = solver.solve()
    if status != solver.OPTIMAL:
        raise RuntimeError(f"min-cost flow: solver status {status}")
    return [int(f) for f in solver.flows(np.arange(len(net.tails), dtype=np.int32))], int(solver.optimal_cost())


def solve_networkx(net: Network) -> tuple[list[int], int]:
    """The same with networkx's network simplex (for comparison: ``tools.bench_scheduler``)."""
    import networkx as nx

    graph = nx.MultiDiGraph()
    for i, supply in enumerate(net.supplies):
        graph.add_node(i, demand=-supply)
    keys = [
        graph.add_edge(t, h, capacity=c, weight=w)
        for t, h, c, w in zip(net.tails, net.heads, net.capacities, net.costs, strict=True)
    ]
    cost, flow = nx.network_simplex(graph)
    return [int(flow[t][h][k]) for t, h, k in zip(net.tails, net.heads, keys, strict=True)], int(cost)


SOLVERS: dict[str, Callable[[Network], tuple[list[int], int]]] = {
    "ortools": solve_ortools, "networkx": solve_networkx,
}


# --------------------------------------------------------------------------------------- extract


def _extract(built: _Built, flows: list[int]) -> tuple[dict[str, str], dict[str, str]]:
    """Pod -> node for the placed pods, pod -> reason for the others."""
    classes, groups = built.classes, built.groups
    # Per aggregator: which classes came in, which groups it sent to.
    came: dict[int, list[list[int]]] = defaultdict(list)
    went: dict[int, list[list[int]]] = defaultdict(list)
    for arc, (agg, ci) in built.into_agg.items():
        if flows[arc]:
            came[agg].append([ci, flows[arc]])
    for arc, (agg, gi) in built.out_of_agg.items():
        if flows[arc]:
            went[agg].append([gi, flows[arc]])
    per_group: dict[int, list[tuple[int, int]]] = defaultdict(list)  # gi -> [(ci, count)]
    anti: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for agg, ins in came.items():
        outs = went[agg]
        while ins and outs:
            take = min(ins[0][1], outs[0][1])
            per_group[outs[0][0]].append((ins[0][0], take))
            ins[0][1] -= take
            outs[0][1] -= take
            if ins[0][1] == 0:
                ins.pop(0)
            if outs[0][1] == 0:
                outs.pop(0)
    for arc, (ci, gi) in built.direct.items():
        if flows[arc]:
            anti[gi].append((ci, flows[arc]))

    next_pod = [0] * len(classes)
    assignments: dict[str, str] = {}
    for gi, group in enumerate(groups):
        wanted = per_group.get(gi, []) + anti.get(gi, [])
        if not wanted:
            continue
        # Round-robin over the group's nodes (alike, so equally loaded to begin with): every node
        # gets its next pod before any gets two. Per-node anti-affinity classes go first, each on
        # consecutive, hence distinct, nodes (the network sends at most one per node).
        m, turn = len(group.nodes), 0
        for ci, count in anti.get(gi, []) + per_group.get(gi, []):
            for _ in range(count):
                assignments[classes[ci][next_pod[ci]].name] = group.nodes[turn % m].name
                next_pod[ci] += 1
                turn += 1
    unscheduled: dict[str, str] = {}
    for ci, pods in enumerate(classes):
        for pod in pods[next_pod[ci]:]:
            unscheduled[pod.name] = built.never.get(ci, "not enough free capacity on the nodes it may use")
    return assignments, unscheduled


def _overfilled(snapshot: Snapshot, assignments: dict[str, str]) -> list[PendingPod]:
    """Pods to take back from nodes that pods of different shapes overfill (largest first)."""
    nodes = {n.name: n for n in snapshot.nodes}
    used: dict[str, Resources] = defaultdict(lambda: Resources(0, 0))
    for running in snapshot.bound:
        used[running.node] = used[running.node] + running.requests
    placed: dict[str, list[PendingPod]] = defaultdict(list)
    pods = {p.name: p for p in snapshot.pending}
    for name, node in assignments.items():
        placed[node].append(pods[name])
        used[node] = used[node] + pods[name].requests
    back: list[PendingPod] = []
    for node_name, here in placed.items():
        alloc = nodes[node_name].allocatable
        here.sort(key=lambda p: (p.requests.cpu_m * alloc.memory + p.requests.memory * alloc.cpu_m, p.name))
        while not used[node_name].fits_in(alloc):
            pod = here.pop()
            used[node_name] = used[node_name] - pod.requests
            back.append(pod)
    return back


def _size(snapshot: Snapshot, shape: Resources) -> float:
    """A shape's share of the cluster's largest node (CPU and memory), to order rounds by."""
    cpu = max((n.allocatable.cpu_m for n in snapshot.nodes), default=1) or 1
    mem = max((n.allocatable.memory for n in snapshot.nodes), default=1) or 1
    return shape.cpu_m / cpu + shape.memory / mem


def place(snapshot: Snapshot, backend: Backend = "ortools") -> Placement:
    """Place every pending pod of ``snapshot`` (or say why not), solving with ``backend``.

    One network per pod shape, largest shape first (at most a few rounds: pods come in a few
    sizes): within a round every capacity is exact, and each round sees the nodes as the
    rounds before left them (a bulk first-fit-decreasing over shapes). A shape's round places
    all its pods at once, however many owners they belong to. Should a round still overfill a
    node (it cannot with one shape; kept as a guard), the node gives back its largest pods and
    they are solved again.
    """
    snapshot.check()
    solve = SOLVERS[backend]
    result = Placement()
    shapes = sorted({p.requests for p in snapshot.pending}, key=lambda s: (-_size(snapshot, s), s.cpu_m, s.memory))
    bound = snapshot.bound
    for shape in shapes:
        current = Snapshot(snapshot.nodes, bound, tuple(p for p in snapshot.pending if p.requests == shape))
        for _ in range(REPAIR_ROUNDS):
            built = build(current)
            flows, cost = solve(built.network)
            result.cost += cost
            assignments, unscheduled = _extract(built, flows)
            back = {p.name for p in _overfilled(current, assignments)}
            pending = {p.name: p for p in current.pending}
            placed = tuple(BoundPod(n, node, pending[n].requests, pending[n].owner)
                           for n, node in sorted(assignments.items()) if n not in back)
            result.assignments.update({p.name: p.node for p in placed})
            result.unscheduled.update(unscheduled)
            bound = bound + placed
            current = Snapshot(current.nodes, bound, tuple(pending[n] for n in sorted(back)))
            if not back:
                break
        for pod in current.pending:
            result.unscheduled[pod.name] = "not placed after packing pods of different sizes together"
    return result


def assignment_cost(snapshot: Snapshot, assignments: dict[str, Optional[str]]) -> Optional[int]:
    """The network's cost of a complete assignment (pod -> node, or None for unscheduled), or
    None when it breaks a capacity or constraint: what ``place`` minimises, for checking it."""
    built = build(snapshot)
    groups = built.groups
    group_of = {node.name: gi for gi, g in enumerate(groups) for node in g.nodes}
    running = _running_per_zone(snapshot)
    cost = 0
    per_node: dict[str, list[PendingPod]] = defaultdict(list)
    for pods in built.classes:
        per_zone: dict[str, int] = defaultdict(int)
        usable, _ = _usable(groups, pods[0])
        zones = sorted({groups[gi].rep.zone for gi in usable})
        mine = running[pods[0].owner]
        if pods[0].anti_affinity == "zone":
            zones = [z for z in zones if mine[z] == 0]
        shares = _zone_shares(pods, zones, mine) if zones else {}
        for pod in pods:
            node = assignments[pod.name]
            if node is None:
                cost += UNSCHEDULED_COST
                continue
            gi = group_of[node]
            if gi not in usable or groups[gi].rep.zone not in zones:
                return None
            per_zone[groups[gi].rep.zone] += 1
            per_node[node].append(pod)
            cost += SOFT_TAINT_PENALTY * soft_taints(groups[gi].rep, pod)
        for zone, count in per_zone.items():
            if pods[0].anti_affinity == "zone" and count > 1:
                return None
            cost += SPREAD_PENALTY * max(0, count - shares[zone])
    nodes = {n.name: n for n in snapshot.nodes}
    for node_name, here in per_node.items():
        group = groups[group_of[node_name]]
        owners = [p.owner for p in here if p.anti_affinity == "node"]
        if len(owners) != len(set(owners)) or len(here) > group.free_slots:
            return None
        if not sum((p.requests for p in here), Resources(0, 0)).fits_in(nodes[node_name].allocatable - group.used):
            return None
        by_shape: dict[Resources, int] = defaultdict(int)
        for p in here:
            by_shape[p.requests] += 1
        for shape, count in by_shape.items():
            for low, high, band_cost in level_bands(group, shape):
                cost += band_cost * max(0, min(count, high) - low + 1)
    return cost
