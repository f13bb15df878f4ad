"""Benchmark of the flow scheduler (``rancher_stacks.placement``) on a simulated cluster.

    python -m tools.bench_scheduler [--nodes 2700] [--pods 10000] [--owners 100] [--fresh]
                                    [--no-baseline] [--scaling] [--json OUT] [--seed 1]

A burst of ``--pods`` pending pods from ``--owners`` ReplicaSets (uniform requests within each,
from a menu of four sizes) lands on ``--nodes`` nodes over three zones (8 CPU, 32 GiB, 110 pods
each). Unless ``--fresh``, the cluster is already busy: each node runs 0 to 10 pods of the three
smaller sizes (about a third of its CPU on average), so nodes differ. The default burst fits
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
the kinds of nodes and pods, so the solver is a small part of the end-to-end time. Timings are wall time on this
machine; no test asserts any of them.
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
            for j in range(rng.randint(0, 10)):
                size, owner = rng.choice(SIZES[:3]), f"old-{rng.randrange(50)}"
                bound.append(BoundPod(f"{node.name}-run-{j}", node.name, size, owner))
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


def timed(fn: Callable[[], Placement]) -> tuple[Placement, float]:
    started = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - started


Solved = tuple[list[int], int]


def timed_solve(solve: Callable[[Network], Solved], network: Network) -> tuple[Solved, float]:
    started = time.perf_counter()
    result = solve(network)
    return result, time.perf_counter() - started


def run(nodes: int, pods: int, owners: int, busy: bool, seed: int, baseline: bool) -> dict[str, Any]:
    snap = cluster(nodes, pods, owners, busy, seed)
    flow, flow_s = timed(lambda: place(snap, "ortools"))
    nx_result, nx_s = timed(lambda: place(snap, "networkx"))
    # One network (every pending pod in one round), two solvers: the same optimum, and the
    # solvers' own time apart from building and reading the network in Python.
    network = build(snap).network
    (_, ortools_cost), ortools_solve_s = timed_solve(solve_ortools, network)
    (_, networkx_cost), networkx_solve_s = timed_solve(solve_networkx, network)
    if ortools_cost != networkx_cost:
        raise SystemExit("the solvers disagree on the network's optimum")
    out: dict[str, Any] = {
        "nodes": nodes, "pods": pods, "busy": busy,
        "flow_seconds": round(flow_s, 3), "flow_pods_per_s": round(pods / flow_s, 1),
        "networkx_seconds": round(nx_s, 3), "networkx_pods_per_s": round(pods / nx_s, 1),
        "network_arcs": len(network.tails), "network_nodes": len(network.supplies),
        "ortools_solve_seconds": round(ortools_solve_s, 4), "networkx_solve_seconds": round(networkx_solve_s, 4),
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
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    if args.nodes < 1 or args.pods < 1 or not 1 <= args.owners <= args.pods:
        parser.error("--nodes and --pods must be positive, and --owners between 1 and --pods")
    result = run(args.nodes, args.pods, args.owners, not args.fresh, args.seed, args.baseline)
    for key, value in result.items():
        print(f"{key:28} {value}")
    if args.scaling:
        result["scaling"] = []
        for n in (270, 900, 2700):
            # The burst grows with the cluster, so each size is as full as the default one.
            count = max(args.owners, args.pods * n // args.nodes)
            snap = cluster(n, count, args.owners, not args.fresh, args.seed)
            placed, seconds = timed(lambda: place(snap, "ortools"))  # noqa: B023 - called at once
            row = {"nodes": n, "pods": count, "flow_seconds": round(seconds, 3),
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
