"""The scheduler benchmark's script on a small cluster: what it reports, not how fast it was."""

from __future__ import annotations

import json
from pathlib import Path

from rancher_stacks.placement.flow import build, solve_ortools
from tools.bench_scheduler import cluster, main, per_pod

REQUIRED = {"nodes", "pods", "flow_pods_per_s", "baseline_pods_per_s", "networkx_pods_per_s", "flow_seconds",
            "flow_unscheduled", "baseline_unscheduled", "flow_util_stddev", "baseline_util_stddev"}


def test_the_json_report_has_every_figure_the_issue_asks_for(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    assert main(["--nodes", "30", "--pods", "120", "--owners", "6", "--repeat", "1", "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert REQUIRED <= set(report)
    assert (report["nodes"], report["pods"]) == (30, 120)
    assert report["flow_unscheduled"] == report["baseline_unscheduled"] == 0
    assert report["flow_max_zone_imbalance"] <= 1
    assert report["per_pod_network_nodes"] == report["network_nodes"] + 120


def test_the_per_pod_network_has_a_node_per_pod_and_the_same_optimum() -> None:
    snap = cluster(12, 40, 4, busy=True, seed=3)
    network = build(snap).network
    expanded = per_pod(network)
    assert sum(1 for s in expanded.supplies if s > 0) == 40 and max(expanded.supplies) == 1
    assert solve_ortools(expanded)[1] == solve_ortools(network)[1]


def test_a_busy_cluster_never_starts_overcommitted() -> None:
    snap = cluster(300, 10, 2, busy=True, seed=1)
    used: dict[str, int] = {}
    for pod in snap.bound:
        used[pod.node] = used.get(pod.node, 0) + pod.requests.cpu_m
    assert used and max(used.values()) <= snap.nodes[0].allocatable.cpu_m
