"""Benchmark: wall time of the offline plan against the bare import of the SDKs it uses.

    python -m tools.bench [--stack dev] [--runs 5] [--tests]

Both are measured in fresh interpreter processes in the same run, so the ratio is fair on any
machine: the program's own work should stay small next to importing the provider SDKs, which
no Pulumi program can avoid. The plan's CLI skips interpreter teardown (about a second with the
SDKs loaded), so the ratio is also printed against imports that skip it too: that one is the
program's own cost. ``--tests`` also times the test suite once.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def sdk_imports(plan: dict) -> list[str]:
    """``from <module> import <Class>`` lines for every SDK class behind the plan's resource types.

    The provider SDKs load their submodules lazily, so importing ``pulumi_aws.ec2`` alone is
    cheap; the fair baseline loads exactly the classes the program has to load.
    """
    lines = {"import pulumi"}
    for r in plan["resources"]:
        pkg, _, rest = r["type"].partition(":")
        if pkg == "rancher-stacks" or r["type"] == "pulumi:pulumi:Stack":
            continue
        base = "pulumi_" + pkg.replace("-", "_")
        if pkg == "pulumi":  # explicit providers: pulumi:providers:<pkg>
            lines.add(f"from pulumi_{rest.split(':')[-1].replace('-', '_')} import Provider")
            continue
        module, _, cls = rest.partition(":")
        module = module.split("/")[0]
        lines.add(f"from {base} import {cls}" if module in ("index", "") else f"from {base}.{module} import {cls}")
    return sorted(lines)


def timed(cmd: list[str], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--stack", default="dev")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tests", action="store_true", help="also time the test suite once")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        plan_json = Path(tmp) / "plan.json"
        plan_cmd = [sys.executable, "-m", "tools.plan", "--stack", args.stack, "--quiet", "--json", str(plan_json)]
        subprocess.run(plan_cmd, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)  # warm the caches
        imports = sdk_imports(json.loads(plan_json.read_text()))
        import_cmd = [sys.executable, "-c", "; ".join(imports)]
        # The plan's CLI exits without tearing the interpreter down; the same for the imports.
        import_fast_cmd = [sys.executable, "-c", "; ".join([*imports, "import os", "os._exit(0)"])]
        import_times = timed(import_cmd, args.runs)
        import_fast = timed(import_fast_cmd, args.runs)
        plans = timed(plan_cmd, args.runs)

    imp, pln = statistics.median(import_times), statistics.median(plans)
    print(f"SDK classes the program loads: {len(imports) - 1}")
    print(f"bare import of those SDKs : median {imp:.2f} s over {args.runs} runs (min {min(import_times):.2f})")
    print(f"offline plan of {args.stack:<9}: median {pln:.2f} s over {args.runs} runs (min {min(plans):.2f})")
    fast = statistics.median(import_fast)
    print(f"ratio plan / import      : {pln / imp:.2f}x (goal: at most 1.5x)")
    print(f"  same, neither tearing the interpreter down: import {fast:.2f} s, ratio {pln / fast:.2f}x")
    if args.tests:
        start = time.perf_counter()
        subprocess.run([sys.executable, "-m", "pytest", "-q"], cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
        print(f"test suite               : {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
