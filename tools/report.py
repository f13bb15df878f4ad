"""Human-readable views of a plan: the resource tree, counts by provider and type, outputs."""

from __future__ import annotations

from collections import Counter
from typing import Any

from tools.planfile import STACK_TYPE, stack_urn


def provider_of(type_: str) -> str:
    """The package a resource type belongs to (``aws``, ``gcp``, ``rancher-stacks``, ...)."""
    if type_.startswith("pulumi:providers:"):
        return type_.split(":")[2]
    return type_.split(":", 1)[0]


def _flags(r: dict[str, Any]) -> str:
    flags = [f for f, on in (("protect", r["protect"]), ("retain", r["retainOnDelete"])) if on]
    return f"  [{', '.join(flags)}]" if flags else ""


def render_tree(plan: dict[str, Any]) -> str:
    """The parent/child tree under the stack, children in registration-independent order."""
    root = stack_urn(plan)
    children: dict[str, list[dict[str, Any]]] = {}
    for r in plan["resources"]:
        children.setdefault(r["parent"] or root, []).append(r)
    for kids in children.values():
        kids.sort(key=lambda r: (r["custom"], r["type"], r["name"]))

    lines = [f"{STACK_TYPE}  {plan['project']}-{plan['stack']}"]

    def walk(urn: str, prefix: str) -> None:
        kids = children.get(urn, [])
        for i, r in enumerate(kids):
            last = i == len(kids) - 1
            lines.append(f"{prefix}{'└─ ' if last else '├─ '}{r['type']}  {r['name']}{_flags(r)}")
            walk(r["urn"], prefix + ("   " if last else "│  "))

    walk(root, "")
    return "\n".join(lines)


def render_counts(plan: dict[str, Any]) -> str:
    resources = plan["resources"]
    by_provider = Counter(provider_of(r["type"]) for r in resources)
    by_type = Counter(r["type"] for r in resources)
    out = [f"{len(resources)} resources to create", "", "By provider:"]
    out += [f"  {n:>4}  {p}" for p, n in sorted(by_provider.items())]
    out += ["", "By type:"]
    out += [f"  {n:>4}  {t}" for t, n in sorted(by_type.items())]
    return "\n".join(out)


def render_outputs(plan: dict[str, Any]) -> str:
    if not plan["outputs"]:
        return "Outputs: none"
    lines = ["Outputs:"]
    for key, value in sorted(plan["outputs"].items()):
        lines.append(f"  {key}: {value}")
    return "\n".join(lines)


def render_violations(violations: list[dict[str, Any]]) -> str:
    mandatory = [v for v in violations if v["enforcement"] == "mandatory"]
    advisory = [v for v in violations if v["enforcement"] != "mandatory"]
    lines = [f"Policies: {len(mandatory)} mandatory violation(s), {len(advisory)} advisory"]
    for v in mandatory + advisory:
        lines.append(f"  [{v['enforcement']}] {v['policy']} on {v['resource']}: {v['message']}")
    return "\n".join(lines)
