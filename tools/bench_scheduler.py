"""Benchmark of the flow scheduler (``rancher_stacks.placement``) on a simulated cluster.

    python -m tools.bench_scheduler [--nodes 2700] [--pods 10000] [--owners 100] [--fresh]
                                    [--no-baseline] [--scaling] [--repeat 5] [--json OUT] [--seed 1]

A burst of ``--pods`` pending pods from ``--owners`` ReplicaSets (uniform requests within each,
from a menu of four sizes) lands on ``--nodes`` nodes over three zones (8 CPU, 32 GiB, 110 pods
each). Unless ``--fresh``, the cluster is already busy: each node runs 0 to 10 pods of the three
smaller sizes (about a third of its CPU on average, never more than it has), so nodes differ. The default burst fits
the free capacity with room to spare, as a scheduler's everyday burst does. In one run it
measures, end to end from snapshot to placements:

(a) the bulk flow scheduler (OR-Tools min-cost flow),
(b) the pod-at-a-time baseline (``placement.baseline``: the default scheduler's main plugins),
(c) the same flow network solved by networkx's network simplex,

and reports pods per second, the ratios (a)/(b) and (a)/(c), and placement quality: unscheduled
pods, the standard deviation of node utilisation (the larger of CPU and memory, after
placement) and the largest zone imbalance of one owner (its most minus its least pods per zone).
``--scaling`` also times (a) at 270, 900 and 2,700 nodes, with the burst scaled to the cluster.
The network's size and each solver's own time on it are reported too: the network grows with
the kinds of nodes and pods, not their numbers, so the solver is only part of the end-to-end
time. To show what the solver choice is worth on the network Firmament itself builds (every
pending pod a node of its own, one unit of supply, an arc to its class), both solvers are also
timed on that expansion of the same network (``per_pod_*``): same optimum, more nodes and arcs.

(a) and (c) are timed after one warm-up run (imports, first allocations) as the median of
``--repeat`` runs; the baseline, which takes tens of seconds, runs once. Timings are wall time
on this machine; no test asserts any of them.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from typing import Any, Callable, Optional, Sequence

from rancher_stacks.placement import BoundPod, Node, PendingPod, Placement, Resources, Snapshot, place
from rancher_stacks.placement.baseline import place_one_at_a_time
from rancher_stacks.placement.flow import Network, build, solve_networkx, solve_ortools

GI = 2**30
SIZES = (Resources(250, GI // 2), Resources(500, GI), Resources(1000, 2 * GI), Resources(2000, 4 * GI))
NODE = Resources(8000, 32 * GI)
ZONES = ("zone-a", "zone-b", "zone-c")


def cluster(nodes: int, pods: int, owners: int, busy: bool, seed: int) -> Snapshot:
    rng = random.Random(seed)
    node_list = tuple(Node(f"node-{i:05d}", ZONES[i % len(ZONES)], NODE, max_pods=110) for i in range(nodes))
    bound: list[BoundPod] = []
    if busy:
        for node in node_list:
            free = node.allocatable
            for j in range(rng.randint(0, 10)):
                size, owner = rng.choice(SIZES[:3]), f"old-{rng.randrange(50)}"
                if size.fits_in(free):  # a running cluster never overcommits requests
                    bound.append(BoundPod(f"{node.name}-run-{j}", node.name, size, owner))
                    free = free - size
    per_owner = [pods // owners + (1 if i < pods % owners else 0) for i in range(owners)]
    pending = tuple(
        PendingPod(f"rs-{i:03d}-{k:04d}", f"rs-{i:03d}", SIZES[rng.randrange(len(SIZES))] if k == 0 else SIZES[0])
        for i, n in enumerate(per_owner) for k in range(n)
    )
    # Uniform requests within a ReplicaSet: every pod of an owner takes its first pod's size.
    size_of = {p.owner: p.requests for p in pending if p.name.endswith("-0000")}
    pending = tuple(PendingPod(p.name, p.owner, size_of[p.owner]) for p in pending)
    return Snapshot(node_list, tuple(bound), pending)


def quality(snapshot: Snapshot, placement: Placement) -> dict[str, float]:
    used: dict[str, Resources] = defaultdict(lambda: Resources(0, 0))
    for running in snapshot.bound:
        used[running.node] = used[running.node] + running.requests
    requests = {p.name: p for p in snapshot.pending}
    zone = {n.name: n.zone for n in snapshot.nodes}
    per_owner_zone: dict[str, Counter] = defaultdict(Counter)
    for name, node in placement.assignments.items():
        used[node] = used[node] + requests[name].requests
        per_owner_zone[requests[name].owner][zone[node]] += 1
    utilisation = [max(used[n.name].cpu_m / n.allocatable.cpu_m, used[n.name].memory / n.allocatable.memory)
                   for n in snapshot.nodes]
    imbalance = max((max(c[z] for z in ZONES) - min(c[z] for z in ZONES) for c in per_owner_zone.values()), default=0)
    return {"unscheduled": len(placement.unscheduled), "util_stddev": statistics.pstdev(utilisation),
            "max_zone_imbalance": imbalance}


def timed(fn: Callable[[], Placement], repeat: int = 1) -> tuple[Placement, float]:
    """The result and the median wall time of ``repeat`` runs (after a warm-up when repeating)."""
    if repeat > 1:
        fn()
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    assert result is not None
    return result, statistics.median(times)


Solved = tuple[Any, int]


def timed_solve(solve: Callable[[Network], Solved], network: Network, repeat: int) -> tuple[Solved, float]:
    solve(network)
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = solve(network)
        times.append(time.perf_counter() - started)
    assert result is not None
    return result, statistics.median(times)


def per_pod(network: Network) -> Network:
    """The network as Firmament draws it: each unit of a class's supply a pod node of its own
    with one unit and an arc (capacity 1, cost 0) into the class, which then supplies nothing."""
    out = Network(list(network.supplies), list(network.tails), list(network.heads),
                  list(network.capacities), list(network.costs))
    for node, supply in enumerate(network.supplies):
        if supply > 0:
            out.supplies[node] = 0
            for _ in range(supply):
                out.arc(out.node(1), node, 1, 0)
    return out


def run(nodes: int, pods: int, owners: int, busy: bool, seed: int, baseline: bool, repeat: int = 5) -> dict[str, Any]:
    snap = cluster(nodes, pods, owners, busy, seed)
    flow, flow_s = timed(lambda: place(snap, "ortools"), repeat)
    _, nx_s = timed(lambda: place(snap, "networkx"), repeat)
    # One network (every pending pod in one round), two solvers: the same optimum, and the
    # solvers' own time apart from building and reading the network in Python; then the same
    # on the per-pod form of that network.
    network = build(snap).network
    (_, ortools_cost), ortools_solve_s = timed_solve(solve_ortools, network, repeat)
    (_, networkx_cost), networkx_solve_s = timed_solve(solve_networkx, network, repeat)
    expanded = per_pod(network)
    (_, pp_ortools_cost), pp_ortools_s = timed_solve(solve_ortools, expanded, repeat)
    (_, pp_networkx_cost), pp_networkx_s = timed_solve(solve_networkx, expanded, max(1, repeat // 2))
    if len({ortools_cost, networkx_cost, pp_ortools_cost, pp_networkx_cost}) != 1:
        raise SystemExit("the solvers disagree on the network's optimum")
    out: dict[str, Any] = {
        "nodes": nodes, "pods": pods, "busy": busy, "repeat": repeat,
        "flow_seconds": round(flow_s, 4), "flow_pods_per_s": round(pods / flow_s, 1),
        "networkx_seconds": round(nx_s, 4), "networkx_pods_per_s": round(pods / nx_s, 1),
        "network_arcs": len(network.tails), "network_nodes": len(network.supplies),
        "ortools_solve_seconds": round(ortools_solve_s, 4), "networkx_solve_seconds": round(networkx_solve_s, 4),
        "per_pod_network_nodes": len(expanded.supplies), "per_pod_network_arcs": len(expanded.tails),
        "per_pod_ortools_solve_seconds": round(pp_ortools_s, 4),
        "per_pod_networkx_solve_seconds": round(pp_networkx_s, 4),
    }
    q = quality(snap, flow)
    out.update(flow_unscheduled=q["unscheduled"], flow_util_stddev=round(q["util_stddev"], 4),
               flow_max_zone_imbalance=q["max_zone_imbalance"])
    if baseline:
        base, base_s = timed(lambda: place_one_at_a_time(snap))
        qb = quality(snap, base)
        out.update(baseline_seconds=round(base_s, 3), baseline_pods_per_s=round(pods / base_s, 1),
                   baseline_unscheduled=qb["unscheduled"], baseline_util_stddev=round(qb["util_stddev"], 4),
                   baseline_max_zone_imbalance=qb["max_zone_imbalance"],
                   flow_vs_baseline=round(base_s / flow_s, 1))
    out["flow_vs_networkx"] = round(nx_s / flow_s, 1)
    out["solve_ortools_vs_networkx"] = round(networkx_solve_s / ortools_solve_s, 1)
    out["per_pod_solve_ortools_vs_networkx"] = round(pp_networkx_s / pp_ortools_s, 1)
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_scheduler", description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2700)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--fresh", action="store_true", help="an empty cluster (default: already busy)")
    parser.add_argument("--no-baseline", dest="baseline", action="store_false")
    parser.add_argument("--scaling", action="store_true", help="also time the flow scheduler at 270, 900, 2700 nodes")
    parser.add_argument("--repeat", type=int, default=5, help="median of this many timed runs of (a) and (c)")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    if args.nodes < 1 or args.pods < 1 or args.repeat < 1 or not 1 <= args.owners <= args.pods:
        parser.error("--nodes, --pods and --repeat must be positive, and --owners between 1 and --pods")
    result = run(args.nodes, args.pods, args.owners, not args.fresh, args.seed, args.baseline, args.repeat)
    for key, value in result.items():
        print(f"{key:28} {value}")
    if args.scaling:
        result["scaling"] = []
        for n in (270, 900, 2700):
            # The burst grows with the cluster, so each size is as full as the default one.
            count = max(args.owners, args.pods * n // args.nodes)
            snap = cluster(n, count, args.owners, not args.fresh, args.seed)
            placed, seconds = timed(lambda: place(snap, "ortools"), args.repeat)  # noqa: B023 - called at once
            row = {"nodes": n, "pods": count, "flow_seconds": round(seconds, 4),
                   "flow_pods_per_s": round(count / seconds, 1), "unscheduled": len(placed.unscheduled)}
            result["scaling"].append(row)
            print(f"scaling: {row}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump(result, out, indent=2, sort_keys=True)
            out.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
