"""``python -m tools.drills [gluster|lb|all] [--json FILE]``: run the fault drills, print figures.

Exit codes: 0 every drill passed, 1 a figure past its threshold or a drill problem, 2 bad
arguments or a drill that cannot run here (not root, a daemon not installed: the message names
the Debian package).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import time
from typing import Optional, Sequence

from tools.drills import DrillReport, DrillUnavailableError, markdown_table

DRILLS = {"gluster": "tools.drills.gluster", "lb": "tools.drills.lb"}


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.drills", description=__doc__.splitlines()[0])
    parser.add_argument("drill", nargs="?", default="all", choices=[*DRILLS, "all"])
    parser.add_argument("--json", metavar="FILE", help="also write the figures as JSON")
    args = parser.parse_args(argv)
    names = list(DRILLS) if args.drill == "all" else [args.drill]
    reports: list[DrillReport] = []
    for name in names:
        module = importlib.import_module(DRILLS[name])
        started = time.monotonic()
        try:
            report: DrillReport = module.run()
        except DrillUnavailableError as exc:
            print(f"error: drill {name}: {exc}", file=sys.stderr)
            return 2
        report.seconds = time.monotonic() - started
        reports.append(report)
        verdict = "passed" if report.passed else "FAILED"
        print(f"drill {name}: {verdict} in {report.seconds:.1f} s")
        for problem in report.problems:
            print(f"  problem: {problem}")
        for figure in report.figures:
            if not figure.within:
                print(f"  {figure.failure}: {', '.join(figure.breaches)}")
    print()
    print(markdown_table(reports), end="")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([r.as_dict() for r in reports], out, indent=2, sort_keys=True)
            out.write("\n")
    return 0 if all(r.passed for r in reports) else 1


if __name__ == "__main__":
    sys.exit(main())
