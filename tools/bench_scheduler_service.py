"""Benchmark of the deployed flow scheduler's own work around the solver, on the same simulated
cluster as ``tools.bench_scheduler`` (default: 2,700 busy nodes, a burst of 10,000 pods).

    python -m tools.bench_scheduler_service [--nodes 2700] [--pods 10000] [--owners 100]
                                            [--burst 1000] [--repeat 3] [--json OUT]

The cluster is written out as the API server's JSON (``NodeList``/``PodList``), then timed:

* ``list``: what a (re)list costs the service: parsing that JSON and slimming every object to
  what the cache keeps (``flow_scheduler.cache``), and how much memory the cache then holds;
* ``first cycle``: one scheduling cycle over a cold cache: converting every live pod, placing
  the burst, and binding each pod (to a stand-in API that accepts every binding at once, so
  the figure is the scheduler's own time, not the API server's);
* ``next cycle``: ``--burst`` more pods arrive by watch events, and one more cycle places them;
  the pods already converted are not converted again.

As the service does, the heap is settled (``gc.collect`` then ``gc.freeze``) after each sync;
``--no-freeze`` leaves that out, to see what the collector's full passes cost a cycle.

Timings are the median of ``--repeat`` runs, wall time on this machine; no test asserts them.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any, Callable, Optional, Sequence

from rancher_stacks.placement import Snapshot
from tools.bench_scheduler import cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "apps" / "flow-scheduler"))
from flow_scheduler.__main__ import settle_heap  # noqa: E402 - the service is not an installed package
from flow_scheduler.cache import ClusterCache  # noqa: E402
from flow_scheduler.scheduler import FlowScheduler  # noqa: E402

ZONE = "topology.kubernetes.io/zone"
SCHEDULER = "rancher-stacks-flow"


def node_json(name: str, zone: str, cpu_m: int, memory: int, pods: int) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "labels": {ZONE: zone, "kubernetes.io/hostname": name}, "resourceVersion": "1"},
        "spec": {},
        "status": {"allocatable": {"cpu": f"{cpu_m}m", "memory": str(memory), "pods": str(pods)},
                   "conditions": [{"type": "Ready", "status": "True"}]},
    }


def pod_json(name: str, owner: str, cpu_m: int, memory: int, node: Optional[str]) -> dict[str, Any]:
    spec: dict[str, Any] = {"schedulerName": SCHEDULER if node is None else "default-scheduler",
                            "containers": [{"name": "app", "image": "registry.example/app:1.0.0",
                                            "resources": {"requests": {"cpu": f"{cpu_m}m", "memory": str(memory)}}}]}
    if node is not None:
        spec["nodeName"] = node
    return {
        "metadata": {"name": name, "namespace": "bench", "resourceVersion": "1",
                     "ownerReferences": [{"kind": "ReplicaSet", "name": owner}]},
        "spec": spec,
        "status": {"phase": "Running" if node else "Pending"},
    }


def api_json(snap: Snapshot) -> tuple[bytes, bytes]:
    """The snapshot as the API server's node and pod lists."""
    nodes = [node_json(n.name, n.zone, n.allocatable.cpu_m, n.allocatable.memory, n.max_pods) for n in snap.nodes]
    pods = [pod_json(p.name, p.owner, p.requests.cpu_m, p.requests.memory, p.node) for p in snap.bound]
    pods += [pod_json(p.name, p.owner, p.requests.cpu_m, p.requests.memory, None) for p in snap.pending]
    listed = {"resourceVersion": "100"}
    return (json.dumps({"kind": "NodeList", "metadata": listed, "items": nodes}).encode(),
            json.dumps({"kind": "PodList", "metadata": listed, "items": pods}).encode())


class _Response:
    def __init__(self, data: bytes) -> None:
        self.status, self.reason, self.data = 200, "OK", data

    def release_conn(self) -> None:
        pass


class StandInCore:
    """Lists from fixed JSON and accepts every binding and status patch at once."""

    def __init__(self, nodes: bytes, pods: bytes) -> None:
        self.nodes, self.pods, self.bindings = nodes, pods, 0

    def list_node(self, **_: Any) -> _Response:
        return _Response(self.nodes)

    def list_pod_for_all_namespaces(self, **_: Any) -> _Response:
        return _Response(self.pods)

    def create_namespaced_pod_binding(self, *_: Any, **__: Any) -> None:
        self.bindings += 1

    def patch_namespaced_pod_status(self, *_: Any, **__: Any) -> None:
        pass


def median_time(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def run(nodes: int, pods: int, owners: int, burst: int, repeat: int, freeze: bool = True) -> dict[str, Any]:
    snap = cluster(nodes, pods, owners, busy=True, seed=1)
    nodes_json, pods_json = api_json(snap)
    core = StandInCore(nodes_json, pods_json)

    def synced() -> ClusterCache:
        cache = ClusterCache(core)
        cache.relist("nodes")
        cache.relist("pods")
        return cache

    synced()  # warm-up: imports, first allocations
    list_s = median_time(synced, repeat)
    tracemalloc.start()
    cache = synced()
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()

    first, following = [], []
    for _ in range(repeat):
        gc.unfreeze()
        cache = synced()
        if freeze:
            settle_heap()
        scheduler = FlowScheduler(core, cache=cache)
        started = time.perf_counter()
        result = scheduler.cycle()
        first.append(time.perf_counter() - started)
        placed = len(result.bound)
        for i in range(burst):  # the next burst arrives by watch events
            cache.apply("pods", "ADDED", pod_json(f"late-{i:05d}", f"late-{i % 10}", 250, 2**29, None))
        started = time.perf_counter()
        later = scheduler.cycle()
        following.append(time.perf_counter() - started)
    live = len(snap.bound) + pods
    return {
        "nodes": nodes, "live_pods": live, "pods": pods, "burst": burst, "repeat": repeat, "gc_freeze": freeze,
        "list_json_mib": round(len(pods_json) / 2**20, 1), "list_seconds": round(list_s, 3),
        "cache_mib": round(held / 2**20, 1),
        "first_cycle_seconds": round(statistics.median(first), 3), "first_cycle_bound": placed,
        "next_cycle_seconds": round(statistics.median(following), 3), "next_cycle_bound": len(later.bound),
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench_scheduler_service",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--nodes", type=int, default=2700)
    parser.add_argument("--pods", type=int, default=10000)
    parser.add_argument("--owners", type=int, default=100)
    parser.add_argument("--burst", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-freeze", dest="freeze", action="store_false", help="leave the heap unsettled")
    parser.add_argument("--json", metavar="OUT")
    args = parser.parse_args(argv)
    if min(args.nodes, args.pods, args.repeat) < 1 or args.burst < 0 or not 1 <= args.owners <= args.pods:
        parser.error("--nodes, --pods, --repeat positive; --burst not negative; --owners between 1 and --pods")
    result = run(args.nodes, args.pods, args.owners, args.burst, args.repeat, args.freeze)
    for key, value in result.items():
        print(f"{key:22} {value}")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
