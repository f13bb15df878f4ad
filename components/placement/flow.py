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
* *zone spread*: ``c -> (c, zone)`` is free up to an even share of the owner's pods per zone
  (its pods, running and pending, over the zones it may use, rounded *down*); the first pod
  beyond it costs 1500 and every further one 3000. Convex, so the remainder goes one pod per
  zone: moving a pod from a zone two beyond its share to one at or below it saves at least
  1500, more than least allocated can ever gain (under 1000), so an owner's zones differ by at
  most one pod unless capacity (or ``PreferNoSchedule`` taints) make that impossible or dearer;
* ``PreferNoSchedule`` taints the pod does not tolerate: 300 per taint on ``A -> G``;
* *anti-affinity*: per zone, ``c -> (c, zone)`` carries at most one pod; per node, the class
  bypasses ``A`` with at most one pod per node of each group;
* *unscheduled*: ``c -> T`` at 100 000 a pod, more than any placement costs, so a pod stays
  unplaced only when nothing can take it, and is reported with the reason.

**Capacities** are exact for one shape: a node takes ``min(free CPU / request, free memory /
request, free pod slots)`` pods of it. Pods of *different* shapes share a node's CPU and memory,
which one flow cannot express, so ``place`` solves one network per shape, largest first, each
seeing the nodes as the rounds before left them.

**Speed.** What is taken on each node lives in numpy arrays (``_Cluster``), read once from the
snapshot and updated after each round; nodes are grouped with ``numpy.unique`` and the arcs of
every group are made as arrays, so Python loops run over pod classes and pods, never over
nodes times classes. Building and reading the network back cost about as much as OR-Tools'
solve (``python -m tools.bench_scheduler`` reports both).

Rescheduling running pods is out of scope: bound pods only take capacity.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Callable, Literal, Optional, Sequence

import numpy as np

from .model import BoundPod, Node, PendingPod, Placement, Resources, Snapshot, eligible, soft_taints

ALLOC_WEIGHT = 1000
SPREAD_PENALTY = 1500  # the first pod beyond a zone's even share
SPREAD_PENALTY_MORE = 3000  # each further one
SOFT_TAINT_PENALTY = 300
UNSCHEDULED_COST = 100_000
LEVEL_BANDS = 4

Backend = Literal["ortools", "networkx"]
_I64 = np.int64


# ----------------------------------------------------------------------------------------- input


class _Cluster:
    """The snapshot's nodes and what is taken on each, as arrays indexed like ``snapshot.nodes``.

    A node's *kind* is everything about it that no pod changes (zone, labels, taints, allocatable,
    pod slots); ``kinds`` holds one node of each. ``add`` accounts for a round's placements.
    """

    def __init__(self, snapshot: Snapshot) -> None:
        nodes = snapshot.nodes
        self.nodes = nodes
        self.index = {node.name: i for i, node in enumerate(nodes)}
        kind_of: dict[tuple, int] = {}
        self.kinds: list[Node] = []
        kinds = []
        for node in nodes:
            key = (node.zone, tuple(sorted(node.labels.items())), node.taints, node.allocatable, node.max_pods)
            if key not in kind_of:
                kind_of[key] = len(self.kinds)
                self.kinds.append(node)
            kinds.append(kind_of[key])
        self.kind = np.asarray(kinds, dtype=_I64)
        self.zones = sorted({node.zone for node in self.kinds})
        zone_id = {z: i for i, z in enumerate(self.zones)}
        self.kind_zone = np.asarray([zone_id[k.zone] for k in self.kinds], dtype=_I64)
        self.kind_cpu = np.asarray([k.allocatable.cpu_m for k in self.kinds], dtype=_I64)
        self.kind_mem = np.asarray([k.allocatable.memory for k in self.kinds], dtype=_I64)
        self.kind_slots = np.asarray([k.max_pods for k in self.kinds], dtype=_I64)
        n = len(nodes)
        self.cpu, self.mem, self.count = np.zeros(n, _I64), np.zeros(n, _I64), np.zeros(n, _I64)
        # For the owners of pending pods: the nodes each runs on, and per zone how many of its
        # pods run there (other owners' pods only take capacity).
        self.owners = frozenset(p.owner for p in snapshot.pending)
        self.owner_nodes: dict[str, set[int]] = defaultdict(set)
        self.running: dict[str, Counter] = defaultdict(Counter)
        self._node_zone = self.kind_zone[self.kind]
        bound = snapshot.bound
        if bound:
            at = np.fromiter((self.index[p.node] for p in bound), dtype=_I64, count=len(bound))
            self._take(bound, at)

    def _take(self, pods: Sequence[BoundPod | PendingPod], at: np.ndarray) -> None:
        count = len(pods)
        np.add.at(self.cpu, at, np.fromiter((p.requests.cpu_m for p in pods), dtype=_I64, count=count))
        np.add.at(self.mem, at, np.fromiter((p.requests.memory for p in pods), dtype=_I64, count=count))
        np.add.at(self.count, at, 1)
        mine = [j for j, p in enumerate(pods) if p.owner in self.owners]
        if not mine:
            return
        nodes = at[mine].tolist()
        owners = [pods[j].owner for j in mine]
        for owner, i in zip(owners, nodes, strict=True):
            self.owner_nodes[owner].add(i)
        zone = self._node_zone[at[mine]].tolist()
        for (owner, z), n in Counter(zip(owners, zone, strict=True)).items():
            self.running[owner][self.zones[z]] += n

    def add(self, placed: Sequence[tuple[PendingPod, int]]) -> None:
        """Account for pods placed by a round (pod, node index)."""
        if placed:
            pods, at = zip(*placed, strict=True)
            self._take(pods, np.asarray(at, dtype=_I64))

    def overfilled(self, touched: Sequence[int]) -> list[str]:
        """Those of the ``touched`` nodes whose pods need more than they have (none, when every
        round has one shape; a node the snapshot already overcommits gets no pods at all)."""
        at = np.unique(np.asarray(touched, dtype=_I64))
        kind = self.kind[at]
        over = ((self.cpu[at] > self.kind_cpu[kind]) | (self.mem[at] > self.kind_mem[kind])
                | (self.count[at] > self.kind_slots[kind]))
        return [self.nodes[i].name for i in at[over].tolist()]


@dataclass
class _Groups:
    """Nodes alike in everything placement looks at, as arrays indexed by group."""

    kind: np.ndarray
    zone: np.ndarray
    size: np.ndarray  # nodes in the group
    used_cpu: np.ndarray
    used_mem: np.ndarray
    alloc_cpu: np.ndarray
    alloc_mem: np.ndarray
    free_slots: np.ndarray
    members: list[np.ndarray]  # node indices of each group, ascending
    # Per group: the watched owners (pending per-node anti-affinity) already running there.
    owners: list[frozenset[str]]

    def __len__(self) -> int:
        return len(self.kind)

    def fit(self, shape: Resources) -> np.ndarray:
        """How many pods of ``shape`` one node of each group takes."""
        k = self.free_slots.copy()
        if shape.cpu_m > 0:
            k = np.minimum(k, (self.alloc_cpu - self.used_cpu) // shape.cpu_m)
        if shape.memory > 0:
            k = np.minimum(k, (self.alloc_mem - self.used_mem) // shape.memory)
        return np.maximum(k, 0)

    def utilisation(self, shape: Resources, at: np.ndarray, level: np.ndarray) -> np.ndarray:
        """The larger of CPU and memory utilisation of a node of each group ``at`` holding
        ``level`` more pods of ``shape`` (1 for a resource the node has none of)."""
        def ratio(used: np.ndarray, alloc: np.ndarray, need: int) -> np.ndarray:
            after = (used[at] + need * level).astype(np.float64)
            total = alloc[at]
            return np.where(total > 0, after / np.where(total > 0, total, 1), 1.0)
        return np.maximum(ratio(self.used_cpu, self.alloc_cpu, shape.cpu_m),
                          ratio(self.used_mem, self.alloc_mem, shape.memory))

    def bands(self, shape: Resources) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
        """The bands of ``G(group, shape) -> G(group)``: for each of up to ``LEVEL_BANDS``, the
        groups that have it, its first and last level and its cost per pod."""
        k = self.fit(shape)
        out = []
        below = np.zeros_like(k)
        for i in range(LEVEL_BANDS):
            high = -(-k * (i + 1) // LEVEL_BANDS)  # ceil(k (i + 1) / bands)
            has = np.flatnonzero(high > below)
            top = high[has]
            cost = 1 + np.floor(ALLOC_WEIGHT * self.utilisation(shape, has, top)).astype(_I64)
            out.append((has, below[has] + 1, top, cost))
            below = np.maximum(below, high)
        return out


def _groups(cluster: _Cluster, watched: frozenset[str]) -> _Groups:
    """Group the nodes by kind and by what is taken on them; ``watched`` owners (those with
    pending per-node anti-affinity pods) split groups by whether they already run on the node."""
    n = len(cluster.nodes)
    marks = np.zeros(n, _I64)
    present: dict[int, set[str]] = defaultdict(set)
    if watched:
        for owner in sorted(watched):
            for i in cluster.owner_nodes.get(owner, ()):
                present[i].add(owner)
        mark_of: dict[frozenset[str], int] = {}
        for i, owners in present.items():
            marks[i] = mark_of.setdefault(frozenset(owners), len(mark_of) + 1)
    rows = np.stack([cluster.kind, cluster.cpu, cluster.mem, cluster.count, marks], axis=1)
    keys, first, inverse, size = np.unique(rows, axis=0, return_index=True, return_inverse=True, return_counts=True)
    order = np.argsort(inverse.ravel(), kind="stable")
    members = np.split(order, np.cumsum(size)[:-1])
    kind = keys[:, 0]
    return _Groups(
        kind=kind, zone=cluster.kind_zone[kind], size=size.astype(_I64), used_cpu=keys[:, 1], used_mem=keys[:, 2],
        alloc_cpu=cluster.kind_cpu[kind], alloc_mem=cluster.kind_mem[kind],
        free_slots=np.maximum(cluster.kind_slots[kind] - keys[:, 3], 0), members=members,
        owners=[frozenset(present.get(int(i), ())) for i in first.tolist()],
    )


class _Rules:
    """What a class may use, cached by what decides it (requests, selector, tolerations)."""

    def __init__(self, cluster: _Cluster, groups: _Groups) -> None:
        self.cluster, self.groups = cluster, groups
        self._usable: dict[tuple, np.ndarray] = {}
        self._fit: dict[Resources, np.ndarray] = {}
        self._soft: dict[tuple, np.ndarray] = {}

    def fit(self, shape: Resources) -> np.ndarray:
        if shape not in self._fit:
            self._fit[shape] = self.groups.fit(shape)
        return self._fit[shape]

    def usable(self, pod: PendingPod) -> np.ndarray:
        """The groups a class may use (ascending)."""
        key = (pod.requests, pod.node_selector, pod.tolerations)
        if key not in self._usable:
            ok = np.asarray([eligible(k, pod) is None for k in self.cluster.kinds], dtype=bool)
            self._usable[key] = np.flatnonzero(ok[self.groups.kind] & (self.fit(pod.requests) > 0))
        usable = self._usable[key]
        if pod.anti_affinity == "node":
            usable = np.asarray([g for g in usable.tolist() if pod.owner not in self.groups.owners[g]], dtype=_I64)
        return usable

    def soft(self, pod: PendingPod, groups: np.ndarray) -> np.ndarray:
        """The ``PreferNoSchedule`` penalty of each of ``groups`` for the pod."""
        key = pod.tolerations
        if key not in self._soft:
            per_kind = [SOFT_TAINT_PENALTY * soft_taints(k, pod) for k in self.cluster.kinds]
            self._soft[key] = np.asarray(per_kind, dtype=_I64)
        return self._soft[key][self.groups.kind[groups]]

    def reasons(self, pod: PendingPod) -> str:
        """Why no node can take the class (how many nodes each reason rules out)."""
        counts: dict[str, int] = defaultdict(int)
        fit = self.fit(pod.requests)
        for g in range(len(self.groups)):
            why = eligible(self.cluster.kinds[self.groups.kind[g]], pod)
            if why is None and pod.anti_affinity == "node" and pod.owner in self.groups.owners[g]:
                why = "anti-affinity: the owner already runs there"
            if why is None and fit[g] <= 0:
                why = "no free capacity"
            counts[why or "no free capacity"] += int(self.groups.size[g])
        return "no node can take it: " + ", ".join(f"{count} node(s): {why}" for why, count in sorted(counts.items()))


def _zone_shares(pods: int, zones: Sequence[str], running: Counter) -> dict[str, int]:
    """How many of the class's pods each zone takes at no spread cost: an even share of the
    owner's pods over the zones (rounded down), less what already runs there."""
    total = pods + sum(running[z] for z in zones)
    share = total // len(zones)
    return {z: max(0, share - running[z]) for z in zones}


def _spread_arcs(share: int, pods: int) -> list[tuple[int, int]]:
    """(capacity, cost) of the arcs ``c -> (c, zone)`` for a class of ``pods`` and a zone's share."""
    arcs = [(min(share, pods), 0), (min(1, pods - share), SPREAD_PENALTY), (pods - share - 1, SPREAD_PENALTY_MORE)]
    return [(capacity, cost) for capacity, cost in arcs if capacity > 0]


def _spread_cost(share: int, count: int) -> int:
    """What ``count`` pods of a class in a zone with ``share`` cost on those arcs."""
    beyond = max(0, count - share)
    return SPREAD_PENALTY * min(beyond, 1) + SPREAD_PENALTY_MORE * max(0, beyond - 1)


def _classes(pending: Sequence[PendingPod]) -> list[list[PendingPod]]:
    by_key: dict[tuple, list[PendingPod]] = defaultdict(list)
    for pod in pending:
        # Plain tuples hash in C; the frozen dataclasses' generated __hash__ is Python.
        shape = (pod.requests.cpu_m, pod.requests.memory)
        by_key[(pod.owner, shape, pod.node_selector, pod.tolerations, pod.anti_affinity)].append(pod)
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

    def nodes(self, count: int) -> np.ndarray:
        first = len(self.supplies)
        self.supplies.extend([0] * count)
        return np.arange(first, first + count, dtype=_I64)

    def arc(self, tail: int, head: int, capacity: int, cost: int) -> int:
        self.tails.append(tail)
        self.heads.append(head)
        self.capacities.append(capacity)
        self.costs.append(cost)
        return len(self.tails) - 1

    def arcs(self, tails: np.ndarray | int, heads: np.ndarray | int, capacities: np.ndarray | int,
             costs: np.ndarray | int) -> np.ndarray:
        """Many arcs at once (scalars broadcast); their indices."""
        t, h, c, w = np.broadcast_arrays(*(np.asarray(x, dtype=_I64) for x in (tails, heads, capacities, costs)))
        first = len(self.tails)
        self.tails.extend(t.tolist())
        self.heads.extend(h.tolist())
        self.capacities.extend(c.tolist())
        self.costs.extend(w.tolist())
        return np.arange(first, first + len(t), dtype=_I64)


@dataclass
class _Built:
    network: Network
    classes: list[list[PendingPod]]
    groups: _Groups
    # Arcs that carry one per-node anti-affinity class into a group's shape node: (arcs, class, groups).
    direct: list[tuple[np.ndarray, int, np.ndarray]] = field(default_factory=list)
    # Aggregator inflow: arc -> (aggregator, class); outflow: (aggregator, arcs, groups).
    into_agg: dict[int, tuple[int, int]] = field(default_factory=dict)
    out_of_agg: list[tuple[int, np.ndarray, np.ndarray]] = field(default_factory=list)
    never: dict[int, str] = field(default_factory=dict)  # class index -> why no node can ever take it


def build(snapshot: Snapshot) -> _Built:
    """The flow network of ``snapshot`` (see the module docstring)."""
    return _build(_Cluster(snapshot), snapshot.pending)


def _build(cluster: _Cluster, pending: Sequence[PendingPod]) -> _Built:
    net = Network()
    classes = _classes(pending)
    groups = _groups(cluster, frozenset(p.owner for p in pending if p.anti_affinity == "node"))
    rules = _Rules(cluster, groups)
    built = _Built(net, classes, groups)
    sink = net.node(-len(pending))
    group_node = net.nodes(len(groups))
    net.arcs(group_node, sink, groups.free_slots * groups.size, 0)
    shape_nodes: dict[Resources, np.ndarray] = {}

    def shape_node(shape: Resources, wanted: np.ndarray) -> np.ndarray:
        """``G(group, shape)`` of each of ``wanted`` groups, made with their level bands on first use."""
        if shape not in shape_nodes:
            shape_nodes[shape] = np.full(len(groups), -1, dtype=_I64)
        ids = shape_nodes[shape]
        new = wanted[ids[wanted] < 0]
        if len(new):
            ids[new] = net.nodes(len(new))
            for has, low, high, cost in groups.bands(shape):
                pick = np.isin(has, new)
                g = has[pick]
                net.arcs(ids[g], group_node[g], (high[pick] - low[pick] + 1) * groups.size[g], cost[pick])
        return ids[wanted]

    aggregators: dict[tuple, int] = {}
    for ci, pods in enumerate(classes):
        pod, n = pods[0], len(pods)
        source = net.node(n)
        net.arc(source, sink, n, UNSCHEDULED_COST)  # what no node takes stays here (read as the rest)
        usable = rules.usable(pod)
        if not len(usable):
            built.never[ci] = rules.reasons(pod)
            continue
        zone_of_usable = groups.zone[usable]
        zones = [cluster.zones[z] for z in np.unique(zone_of_usable).tolist()]
        mine = cluster.running[pod.owner]
        if pod.anti_affinity == "zone":
            zones = [z for z in zones if mine[z] == 0]
        shares = _zone_shares(n, zones, mine)
        for zone in zones:
            zone_node = net.node()
            if pod.anti_affinity == "zone":
                net.arc(source, zone_node, 1, 0)
            else:
                for capacity, cost in _spread_arcs(shares[zone], n):
                    net.arc(source, zone_node, capacity, cost)
            in_zone = usable[zone_of_usable == cluster.zones.index(zone)]
            if pod.anti_affinity == "node":
                heads = shape_node(pod.requests, in_zone)
                arcs = net.arcs(zone_node, heads, groups.size[in_zone], rules.soft(pod, in_zone))
                built.direct.append((arcs, ci, in_zone))
                continue
            key = (zone, pod.requests, pod.node_selector, pod.tolerations)
            if key not in aggregators:
                agg = aggregators[key] = net.node()
                arcs = net.arcs(agg, shape_node(pod.requests, in_zone), max(1, len(pending)), rules.soft(pod, in_zone))
                built.out_of_agg.append((agg, arcs, in_zone))
            built.into_agg[net.arc(zone_node, aggregators[key], n, 0)] = (aggregators[key], ci)
    return built


# ----------------------------------------------------------------------------------------- solve


def solve_ortools(net: Network) -> tuple[np.ndarray, int]:
    """Flows per arc and the optimal cost, with OR-Tools' ``SimpleMinCostFlow``."""
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
    return np.asarray(solver.flows(np.arange(len(net.tails), dtype=np.int32)), dtype=_I64), int(solver.optimal_cost())


def solve_networkx(net: Network) -> tuple[np.ndarray, int]:
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
    flows = [flow[t][h][k] for t, h, k in zip(net.tails, net.heads, keys, strict=True)]
    return np.asarray(flows, dtype=_I64), int(cost)


SOLVERS: dict[str, Callable[[Network], tuple[np.ndarray, int]]] = {
    "ortools": solve_ortools, "networkx": solve_networkx,
}


# --------------------------------------------------------------------------------------- extract


def _extract(built: _Built, flows: np.ndarray) -> tuple[list[tuple[PendingPod, int]], dict[str, str]]:
    """(pod, node index) for the placed pods, pod name -> reason for the others."""
    classes, groups = built.classes, built.groups
    # Per aggregator: which classes came in, which groups it sent to; matched in order.
    came: dict[int, list[list[int]]] = defaultdict(list)
    for arc, (agg, ci) in built.into_agg.items():
        if flows[arc]:
            came[agg].append([ci, int(flows[arc])])
    per_group: dict[int, list[tuple[int, int]]] = defaultdict(list)  # group -> [(class, count)]
    anti: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for agg, arcs, gs in built.out_of_agg:
        sent = flows[arcs]
        outs = [[g, f] for g, f in zip(gs[sent > 0].tolist(), sent[sent > 0].tolist(), strict=True)]
        ins = came.get(agg, [])
        while ins and outs:
            take = min(ins[0][1], outs[0][1])
            per_group[outs[0][0]].append((ins[0][0], take))
            ins[0][1] -= take
            outs[0][1] -= take
            if ins[0][1] == 0:
                ins.pop(0)
            if outs[0][1] == 0:
                outs.pop(0)
    for arcs, ci, gs in built.direct:
        sent = flows[arcs]
        for g, f in zip(gs[sent > 0].tolist(), sent[sent > 0].tolist(), strict=True):
            anti[g].append((ci, f))

    next_pod = [0] * len(classes)
    placed: list[tuple[PendingPod, int]] = []
    for g in sorted(set(per_group) | set(anti)):
        # Round-robin over the group's nodes (alike, so equally loaded to begin with): every node
        # gets its next pod before any gets two. Per-node anti-affinity classes go first, each on
        # consecutive, hence distinct, nodes (the network sends at most one per node).
        members = groups.members[g].tolist()
        m, turn = len(members), 0
        for ci, count in anti.get(g, []) + per_group.get(g, []):
            pods, first = classes[ci], next_pod[ci]
            for k in range(count):
                placed.append((pods[first + k], members[(turn + k) % m]))
            next_pod[ci] += count
            turn += count
    unscheduled: dict[str, str] = {}
    for ci, pods in enumerate(classes):
        for pod in pods[next_pod[ci]:]:
            unscheduled[pod.name] = built.never.get(ci, "not enough free capacity on the nodes it may use")
    return placed, unscheduled


def _shape_order(snapshot: Snapshot, shapes: Sequence[Resources]) -> list[Resources]:
    """Largest first, by share of the cluster's largest node (CPU plus memory)."""
    cpu = max((n.allocatable.cpu_m for n in snapshot.nodes), default=1) or 1
    mem = max((n.allocatable.memory for n in snapshot.nodes), default=1) or 1
    return sorted(shapes, key=lambda s: (-(s.cpu_m / cpu + s.memory / mem), s.cpu_m, s.memory))


def place(snapshot: Snapshot, backend: Backend = "ortools") -> Placement:
    """Place every pending pod of ``snapshot`` (or say why not), solving with ``backend``.

    One network per pod shape, largest shape first (pods come in a few sizes): within a round
    every capacity is exact, and each round sees the nodes as the rounds before left them (a
    bulk first-fit-decreasing over shapes). A shape's round places all its pods at once,
    however many owners they belong to.
    """
    snapshot.check()
    solve = SOLVERS[backend]
    result = Placement()
    by_shape: dict[Resources, list[PendingPod]] = defaultdict(list)
    for pod in snapshot.pending:
        by_shape[pod.requests].append(pod)
    cluster = _Cluster(snapshot)
    names = [node.name for node in snapshot.nodes]
    touched: list[int] = []
    for shape in _shape_order(snapshot, list(by_shape)):
        built = _build(cluster, by_shape[shape])
        flows, cost = solve(built.network)
        result.cost += cost
        placed, unscheduled = _extract(built, flows)
        cluster.add(placed)
        touched.extend(i for _, i in placed)
        result.assignments.update((pod.name, names[i]) for pod, i in placed)
        result.unscheduled.update(unscheduled)
    over = cluster.overfilled(touched)
    if over:  # cannot happen with one shape per round; a bug, never a wrong binding
        raise RuntimeError(f"placement overfilled node(s) {', '.join(over[:5])}")
    return result


def assignment_cost(snapshot: Snapshot, assignments: dict[str, Optional[str]]) -> Optional[int]:
    """The network's cost of a complete assignment (pod -> node, or None for unscheduled), or
    None when it breaks a capacity or constraint: what ``place`` minimises, for checking it
    (one pod shape; tiny snapshots)."""
    cluster = _Cluster(snapshot)
    built = _build(cluster, snapshot.pending)
    groups, rules = built.groups, _Rules(cluster, built.groups)
    group_of = {int(i): g for g, members in enumerate(groups.members) for i in members.tolist()}
    cost = 0
    per_node: dict[int, list[PendingPod]] = defaultdict(list)
    for pods in built.classes:
        per_zone: dict[str, int] = defaultdict(int)
        usable = set(rules.usable(pods[0]).tolist())
        zones = sorted({cluster.zones[groups.zone[g]] for g in usable})
        mine = cluster.running[pods[0].owner]
        if pods[0].anti_affinity == "zone":
            zones = [z for z in zones if mine[z] == 0]
        shares = _zone_shares(len(pods), zones, mine) if zones else {}
        for pod in pods:
            node = assignments[pod.name]
            if node is None:
                cost += UNSCHEDULED_COST
                continue
            i = cluster.index[node]
            g = group_of[i]
            zone = cluster.zones[groups.zone[g]]
            if g not in usable or zone not in zones:
                return None
            per_zone[zone] += 1
            per_node[i].append(pod)
            cost += int(rules.soft(pod, np.asarray([g]))[0])
        for zone, count in per_zone.items():
            if pods[0].anti_affinity == "zone" and count > 1:
                return None
            cost += _spread_cost(shares[zone], count)
    for i, here in per_node.items():
        g = group_of[i]
        owners = [p.owner for p in here if p.anti_affinity == "node"]
        if len(owners) != len(set(owners)) or len(here) > groups.free_slots[g]:
            return None
        total = sum((p.requests for p in here), Resources(0, 0))
        free = Resources(int(groups.alloc_cpu[g] - groups.used_cpu[g]), int(groups.alloc_mem[g] - groups.used_mem[g]))
        if not total.fits_in(free):
            return None
        by_shape: dict[Resources, int] = defaultdict(int)
        for p in here:
            by_shape[p.requests] += 1
        for shape, count in by_shape.items():
            for has, low, high, band_cost in groups.bands(shape):
                at = np.flatnonzero(has == g)
                if len(at):
                    j = int(at[0])
                    cost += int(band_cost[j]) * max(0, min(count, int(high[j])) - int(low[j]) + 1)
    return cost
