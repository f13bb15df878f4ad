"""The canonical plan: what ``pulumi up`` would create, as plain, sorted, byte-stable data."""

from __future__ import annotations

import json
from typing import Any

from tools.mockengine import ProgramRun, Registration

STACK_TYPE = "pulumi:pulumi:Stack"


def stack_urn(plan: dict[str, Any]) -> str:
    """The URN of the stack resource every top-level component of ``plan`` hangs under."""
    project, stack = plan["project"], plan["stack"]
    return f"urn:pulumi:{stack}::{project}::{STACK_TYPE}::{project}-{stack}"


def resource_entry(r: Registration) -> dict[str, Any]:
    entry = {
        "urn": r.urn,
        "type": r.type,
        "name": r.name,
        "parent": r.parent,
        "provider": r.provider_urn,
        "dependencies": list(r.dependencies),
        "custom": r.custom,
        "protect": r.protect,
        "retainOnDelete": r.retain_on_delete,
        "deleteBeforeReplace": r.delete_before_replace,
        "inputs": r.inputs,
    }
    # Only where set, so that plans of resources without them stay as they were.
    if r.ignore_changes:
        entry["ignoreChanges"] = list(r.ignore_changes)
    if r.custom and r.property_dependencies:
        entry["propertyDependencies"] = {k: list(v) for k, v in r.property_dependencies.items()}
    return entry


def build_plan(run: ProgramRun) -> dict[str, Any]:
    """``{"stack", "project", "resources": [...sorted by urn], "outputs"}``."""
    return {
        "stack": run.stack,
        "project": run.project,
        "resources": sorted((resource_entry(r) for r in run.resources), key=lambda e: e["urn"]),
        "outputs": run.outputs,
    }


def dumps(plan: dict[str, Any]) -> str:
    """Serialise deterministically: sorted keys, fixed indentation, trailing newline."""
    return json.dumps(plan, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def policy_resources(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """The plan's resources in the shape ``policies.evaluate`` takes."""
    return [
        {
            "type": r["type"],
            "name": r["name"],
            "urn": r["urn"],
            "props": r["inputs"],
            "parent": r["parent"],
            "provider": r["provider"],
            "dependencies": r["dependencies"],
            "protect": r["protect"],
            "retainOnDelete": r["retainOnDelete"],
            "custom": r["custom"],
        }
        for r in plan["resources"]
    ]
