"""The flow scheduler's placements on hand-made snapshots, and its optimality against brute force."""

from __future__ import annotations

import itertools
import random
from collections import Counter

import pytest

from rancher_stacks.placement import (
    BoundPod,
    Node,
    PendingPod,
    Resources,
    Snapshot,
    SnapshotError,
    Taint,
    Toleration,
    assignment_cost,
    place,
)
from rancher_stacks.placement.baseline import nodes_to_find, place_one_at_a_time
from rancher_stacks.placement.flow import build, solve_networkx, solve_ortools

GI = 2**30
SMALL = Resources(500, GI)


def nodes(*zones: str, per_zone: int = 1, cpu: int = 4000, mem: int = 8 * GI, **kw) -> tuple[Node, ...]:
    return tuple(Node(f"{z}-{i}", z, Resources(cpu, mem), **kw) for z in zones for i in range(per_zone))


def pods(owner: str, n: int, requests: Resources = SMALL, **kw) -> tuple[PendingPod, ...]:
    return tuple(PendingPod(f"{owner}-{i}", owner, requests, **kw) for i in range(n))


def zone_counts(snapshot: Snapshot, assignments: dict[str, str]) -> Counter:
    zone = {n.name: n.zone for n in snapshot.nodes}
    return Counter(zone[node] for node in assignments.values())


def test_an_owner_spreads_over_zones_rather_than_packing_one() -> None:
    snap = Snapshot(nodes("a", "b", "c", per_zone=2), (), pods("web", 6))
    result = place(snap)
    assert not result.unscheduled
    assert zone_counts(snap, result.assignments) == {"a": 2, "b": 2, "c": 2}
    # Least allocated inside a zone: one pod per node, not two on one.
    assert sorted(Counter(result.assignments.values()).values()) == [1] * 6


def test_a_full_node_is_never_chosen_and_a_busy_one_gets_fewer() -> None:
    ns = nodes("a", per_zone=3)
    full = tuple(BoundPod(f"old-{i}", "a-0", Resources(1000, 2 * GI)) for i in range(4))
    busy = (BoundPod("half", "a-1", Resources(2000, 4 * GI)),)
    snap = Snapshot(ns, full + busy, pods("web", 6))
    result = place(snap)
    per_node = Counter(result.assignments.values())
    assert "a-0" not in per_node
    assert per_node["a-2"] > per_node["a-1"] and sum(per_node.values()) == 6


def test_anti_affinity_per_node_and_per_zone_holds() -> None:
    snap = Snapshot(nodes("a", "b", per_zone=2), (), pods("db", 5, anti_affinity="node"))
    result = place(snap)
    assert len(set(result.assignments.values())) == len(result.assignments) == 4
    assert len(result.unscheduled) == 1
    zoned = Snapshot(nodes("a", "b", per_zone=3), (), pods("quorum", 3, anti_affinity="zone"))
    result = place(zoned)
    assert sorted(zone_counts(zoned, result.assignments).values()) == [1, 1] and len(result.unscheduled) == 1


def test_taints_and_node_selectors_are_hard_and_soft_taints_are_avoided() -> None:
    gpu = Node("gpu-0", "a", Resources(4000, 8 * GI), taints=(Taint("gpu", "true", "NoSchedule"),))
    plain = Node("cpu-0", "a", Resources(4000, 8 * GI), labels={"disk": "ssd"})
    soft = Node("old-0", "a", Resources(4000, 8 * GI), labels={"disk": "ssd"}, taints=(Taint("old", "", "PreferNoSchedule"),))
    snap = Snapshot((gpu, plain, soft), (), pods("web", 2) + pods("ml", 1, tolerations=(Toleration("gpu", "Exists"),))
                    + pods("db", 1, node_selector=(("disk", "ssd"),)))
    result = place(snap)
    assert result.assignments["web-0"] != "gpu-0" and result.assignments["web-1"] != "gpu-0"
    assert result.assignments["db-0"] in ("cpu-0", "old-0")
    # The soft taint only costs: the web pods prefer the untainted node while it has room.
    assert Counter(result.assignments[p] for p in ("web-0", "web-1"))["cpu-0"] >= 1


def test_a_pod_that_fits_nowhere_is_reported_with_the_reason() -> None:
    huge = Resources(64000, 512 * GI)
    snap = Snapshot(nodes("a", "b"), (), pods("big", 1, requests=huge) + pods("picky", 1, node_selector=(("gpu", "a100"),))
                    + pods("ok", 1))
    result = place(snap)
    assert result.assignments == {"ok-0": result.assignments["ok-0"]}
    assert "requests more than the node's allocatable" in result.unscheduled["big-0"]
    assert "node selector gpu=a100" in result.unscheduled["picky-0"]
    crowded = Snapshot(nodes("a", cpu=1000), (), pods("web", 3))
    assert sorted(place(crowded).unscheduled.values()) == ["not enough free capacity on the nodes it may use"]


def test_pods_of_different_sizes_never_overfill_a_node() -> None:
    ns = nodes("a", per_zone=2, cpu=2000, mem=4 * GI)
    snap = Snapshot(ns, (), pods("big", 3, requests=Resources(1000, GI)) + pods("small", 6, requests=Resources(400, GI // 2)))
    result = place(snap)
    requests = {p.name: p.requests for p in snap.pending}
    for node in ns:
        total = sum((requests[p] for p, n in result.assignments.items() if n == node.name), Resources(0, 0))
        assert total.fits_in(node.allocatable), (node.name, total)
    assert len(result.assignments) + len(result.unscheduled) == 9
    assert len(result.assignments) >= 5


@pytest.mark.parametrize("seed", range(12))
def test_the_placement_is_optimal_on_tiny_instances(seed: int) -> None:
    """Brute force over every assignment (each pod on a node or unscheduled): none costs less."""
    rng = random.Random(seed)
    zones = rng.sample(["a", "b", "c"], rng.randint(1, 3))
    ns = tuple(Node(f"{z}-{i}", z, Resources(rng.choice([1000, 2000, 3000]), 8 * GI), max_pods=rng.randint(1, 3),
                    taints=(Taint("t", "", "PreferNoSchedule"),) if rng.random() < 0.2 else ())
               for i, z in enumerate(rng.choices(zones, k=rng.randint(2, 3))))
    bound = tuple(BoundPod(f"b{i}", rng.choice(ns).name, Resources(500, GI)) for i in range(rng.randint(0, 2)))
    shape = Resources(rng.choice([500, 1000]), GI)
    pending = pods("x", rng.randint(1, 3), requests=shape, anti_affinity=rng.choice([None, None, "node", "zone"]))
    pending += pods("y", rng.randint(0, 2), requests=shape)
    snap = Snapshot(ns, bound, pending)
    result = place(snap)
    assert assignment_cost(snap, {**result.assignments, **dict.fromkeys(result.unscheduled)}) == result.cost
    names = [p.name for p in pending]
    options = [n.name for n in ns] + [None]
    best = min(
        c for combo in itertools.product(options, repeat=len(names))
        if (c := assignment_cost(snap, dict(zip(names, combo, strict=True)))) is not None
    )
    assert result.cost == best


def test_both_solvers_find_the_same_optimum() -> None:
    rng = random.Random(7)
    ns = tuple(Node(f"n{i}", f"z{i % 3}", Resources(4000, 16 * GI)) for i in range(30))
    bound = tuple(BoundPod(f"b{i}", f"n{rng.randrange(30)}", Resources(rng.choice([250, 500]), GI)) for i in range(40))
    pending = sum((pods(f"rs{j}", 20, requests=Resources(250 * (1 + j % 3), GI)) for j in range(6)), ())
    network = build(Snapshot(ns, bound, pending)).network
    (_, ortools_cost), (_, networkx_cost) = solve_ortools(network), solve_networkx(network)
    assert ortools_cost == networkx_cost


@pytest.mark.parametrize(
    ("snapshot", "message"),
    [
        (Snapshot((Node("n", "a", Resources(-1, GI)),), (), ()), "node 'n': allocatable must not be negative"),
        (Snapshot(nodes("a") * 2, (), ()), "node 'a-0' appears twice"),
        (Snapshot(nodes("a"), (BoundPod("b", "ghost", SMALL),), ()), "unknown node 'ghost'"),
        (Snapshot(nodes("a"), (), pods("x", 1) * 2), "pending pod 'x-0' appears twice"),
        (Snapshot(nodes("a"), (), pods("x", 1, requests=Resources(-5, 0))), "requests must not be negative"),
    ],
)
def test_bad_snapshots_are_refused_before_solving(snapshot: Snapshot, message: str) -> None:
    with pytest.raises(SnapshotError, match=message):
        place(snapshot)


def test_the_baseline_looks_at_an_adaptive_share_of_the_nodes() -> None:
    assert nodes_to_find(50) == 50 and nodes_to_find(500) == 230 and nodes_to_find(2700) == 783
    assert nodes_to_find(10000) == 500  # 5 % floor
    snap = Snapshot(nodes("a", "b", "c", per_zone=2), (), pods("web", 6))
    result = place_one_at_a_time(snap)
    assert zone_counts(snap, result.assignments) == {"a": 2, "b": 2, "c": 2}


def test_an_owners_zones_differ_by_at_most_one_pod_even_when_one_zone_is_emptier() -> None:
    """Least allocated pulls towards the empty zones; the spread cost still keeps 7 pods at 3/2/2
    (an even share rounded up per zone would allow 3/3/1 at no cost)."""
    ns = nodes("a", "b", "c", per_zone=3, cpu=8000, mem=32 * GI)
    busy = tuple(BoundPod(f"old-{n.name}", n.name, Resources(6000, 24 * GI)) for n in ns if n.zone == "c")
    snap = Snapshot(ns, busy, pods("web", 7))
    counts = zone_counts(snap, place(snap).assignments)
    assert sum(counts.values()) == 7 and max(counts.values()) - min(counts.values()) <= 1, counts


def test_a_node_the_snapshot_already_overcommits_gets_nothing_and_does_not_stop_the_others() -> None:
    ns = nodes("a", per_zone=2)
    over = tuple(BoundPod(f"old-{i}", "a-0", Resources(1500, GI)) for i in range(3))  # 4500m on 4000m
    snap = Snapshot(ns, over, pods("web", 3))
    result = place(snap)
    assert set(result.assignments.values()) == {"a-1"} and not result.unscheduled


def test_least_allocated_bands_cost_the_utilisation_at_their_top() -> None:
    """One node, 4000m / 8 GiB with 1000m used; pods of 500m / 1 GiB: 6 fit (CPU), in bands
    1-2, 3, 4-5, 6 costing 1 + 1000 x CPU utilisation at 2, 3, 5 and 6 pods."""
    snap = Snapshot(nodes("a"), (BoundPod("old", "a-0", Resources(1000, 0)),), pods("web", 1))
    groups = build(snap).groups
    bands = [(int(low[0]), int(high[0]), int(cost[0])) for has, low, high, cost in groups.bands(SMALL) if len(has)]
    assert bands == [(1, 2, 501), (3, 3, 626), (4, 5, 876), (6, 6, 1001)]
