"""The service benchmark's script on a small cluster: what it reports, not how fast it was."""

from __future__ import annotations

import json
from pathlib import Path

from tools.bench_scheduler_service import main


def test_the_service_benchmark_places_the_burst_and_then_the_late_pods(tmp_path: Path) -> None:
    out = tmp_path / "service.json"
    assert main(["--nodes", "90", "--pods", "200", "--owners", "5", "--burst", "20", "--repeat", "1",
                 "--json", str(out)]) == 0
    report = json.loads(out.read_text())
    assert (report["first_cycle_bound"], report["next_cycle_bound"]) == (200, 20)
    assert report["live_pods"] > 200 and report["cache_mib"] > 0 and report["gc_freeze"] is True
