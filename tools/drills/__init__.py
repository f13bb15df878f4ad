"""Fault drills: the seeds' failover promises, run for real against real daemons on this machine.

    python -m tools.drills [gluster|lb|all] [--json figures.json]

Each drill lives in its own module and exposes ``run() -> DrillReport``. A drill starts real
daemons (glusterd in network namespaces it creates, haproxy and the hit-counter app on loopback),
feeds them the project's own rendered files, injects failures under load, and reports figures:
what the injection cost (requests or reads lost, the longest stall) and how long recovery took.
A drill is bounded in time, reaches no address outside loopback and the namespaces it creates,
and cleans up every namespace, mount and process it started, whatever happens.

A figure past its threshold fails the drill (``Figure.within``); each threshold is justified
where the drill defines it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Optional


class DrillUnavailableError(Exception):
    """The drill cannot run on this machine; the message says what to install or how to run it
    (``python -m tools.drills`` exits 2 with it)."""


@dataclass(frozen=True)
class Figure:
    """What one injected failure cost, and whether that is within the drill's thresholds."""

    drill: str
    failure: str
    # Operations attempted and lost while the failure lasted (reads, writes, requests).
    attempted: int
    lost: int
    # The longest time one operation waited (or the longest gap between successes), seconds.
    longest_stall_s: float
    # From the end of the failure (or its start, for a failover) to full service; None: not measured.
    recovery_s: Optional[float]
    # The limits this figure must stay within, as (name, limit, measured) triples.
    limits: tuple[tuple[str, float, float], ...] = ()
    note: str = ""

    @property
    def within(self) -> bool:
        return all(measured <= limit for _, limit, measured in self.limits)

    @property
    def breaches(self) -> list[str]:
        return [f"{name} {measured:g} > {limit:g}" for name, limit, measured in self.limits if measured > limit]


@dataclass
class DrillReport:
    """A drill's figures, and whatever made it fail outside its figures (a daemon that never
    started, data that differs between bricks)."""

    name: str
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return not self.problems and all(f.within for f in self.figures)

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "passed": self.passed, "seconds": round(self.seconds, 1),
                "problems": list(self.problems), "figures": [asdict(f) for f in self.figures]}


def markdown_table(reports: list[DrillReport]) -> str:
    """The README's table: drill, failure injected, lost, longest stall, recovery."""
    lines = ["| Drill | Failure injected | Lost | Longest stall | Recovery |", "|---|---|---|---|---|"]
    for report in reports:
        for f in report.figures:
            recovery = "n/a" if f.recovery_s is None else f"{f.recovery_s:.1f} s"
            lost = f"{f.lost} of {f.attempted}"
            lines.append(f"| {f.drill} | {f.failure} | {lost} | {f.longest_stall_s:.2f} s | {recovery} |")
    return "\n".join(lines) + "\n"
