"""Compare two canonical plans and describe the change as markdown for a pull request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tools.replacements import ADDRESSES, HOSTS, MISSING, STATEFUL, classified, ignored, input_may_replace, replacing

_FIELDS = ("parent", "provider", "protect", "retainOnDelete", "deleteBeforeReplace", "dependencies", "ignoreChanges")
_DEFAULTS: dict[str, Any] = {"protect": False, "retainOnDelete": False, "deleteBeforeReplace": False,
                             "ignoreChanges": []}


@dataclass
class PlanDiff:
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    # (resource, [(property path, base value, head value)])
    changed: list[tuple[dict[str, Any], list[tuple[str, Any, Any]]]] = field(default_factory=list)
    outputs: list[tuple[str, Any, Any]] = field(default_factory=list)
    # urn -> the changed input paths that force the provider to replace the resource
    replaced: dict[str, list[str]] = field(default_factory=dict)
    # Hosts and stateful resources that depend on a replaced resource: its new outputs (a new key
    # pair's name, a new image's id) reach their inputs, which a credential-free plan cannot see.
    # Only inputs whose change would replace them count, and only those not in ignoreChanges.
    cascades: list[tuple[dict[str, Any], list[str]]] = field(default_factory=list)
    # urn -> changed input paths the engine will not apply (ignoreChanges)
    ignored: dict[str, list[str]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed or self.outputs)

    def kind(self, resource: dict[str, Any]) -> str:
        """``replace``, ``update`` or ``update (unclassified)`` for a changed resource."""
        if resource["urn"] in self.replaced:
            return "replace"
        return "update" if classified(resource["type"]) or not resource.get("custom", True) else "update (unclassified)"

    @property
    def dangers(self) -> list[str]:
        """What a reviewer must see first: data that would be lost, hosts that would be replaced."""
        found = []
        for r, _ in self.changed:
            paths = self.replaced.get(r["urn"])
            if paths and r["type"] in STATEFUL:
                found.append(f"would replace a stateful resource: `{r['type']}` `{r['name']}` "
                             f"({', '.join(paths)}): it comes back empty")
            elif paths and r["type"] in HOSTS:
                found.append(f"would replace a host: `{r['type']}` `{r['name']}` ({', '.join(paths)}): "
                             "a new machine, its containers start afresh and any data volume moves to it")
            elif paths and r["type"] in ADDRESSES:
                found.append(f"would replace a static address: `{r['type']}` `{r['name']}` ({', '.join(paths)}): "
                             "the host gets a new public address")
        for r, causes in self.cascades:
            found.append(f"may replace `{r['type']}` `{r['name']}`: it takes outputs of "
                         f"{', '.join(causes)}, which would be replaced")
        for r in self.removed:
            if r["type"] in STATEFUL:
                what = "would delete a retained volume from the stack (it stays in the account, orphaned)" if r.get(
                    "retainOnDelete") else "would delete a data volume"
                found.append(f"{what}: `{r['type']}` `{r['name']}`")
        return found


def property_changes(base: Any, head: Any, path: str = "") -> list[tuple[str, Any, Any]]:
    """Leaf-level differences between two JSON values, as (dotted path, base, head)."""
    if isinstance(base, dict) and isinstance(head, dict):
        out: list[tuple[str, Any, Any]] = []
        for key in sorted(set(base) | set(head)):
            sub = f"{path}.{key}" if path else key
            out += property_changes(base.get(key, MISSING), head.get(key, MISSING), sub)
        return out
    if isinstance(base, list) and isinstance(head, list) and len(base) == len(head):
        out = []
        for i, (b, h) in enumerate(zip(base, head, strict=True)):
            out += property_changes(b, h, f"{path}[{i}]")
        return out
    return [] if base == head else [(path, base, head)]


def diff_plans(base: dict[str, Any], head: dict[str, Any]) -> PlanDiff:
    before = {r["urn"]: r for r in base["resources"]}
    after = {r["urn"]: r for r in head["resources"]}
    d = PlanDiff()
    d.added = [after[u] for u in sorted(set(after) - set(before))]
    d.removed = [before[u] for u in sorted(set(before) - set(after))]
    for urn in sorted(set(before) & set(after)):
        b, h = before[urn], after[urn]
        changes = property_changes(b["inputs"], h["inputs"])
        # Plans written before a field existed lack it: absent means the engine's default.
        changes += [
            (f"({f})", b.get(f, _DEFAULTS.get(f)), h.get(f, _DEFAULTS.get(f)))
            for f in _FIELDS
            if b.get(f, _DEFAULTS.get(f)) != h.get(f, _DEFAULTS.get(f))
        ]
        if changes:
            d.changed.append((h, changes))
            skip = h.get("ignoreChanges", [])
            applied = [c for c in changes if not c[0].startswith("(") and not ignored(c[0], skip)]
            left_alone = [c[0] for c in changes if not c[0].startswith("(") and ignored(c[0], skip)]
            if left_alone:
                d.ignored[urn] = left_alone
            forcing = replacing(h["type"], applied)
            if forcing:
                d.replaced[urn] = forcing
    for urn, r in sorted(after.items()):
        if r["type"] in STATEFUL | HOSTS and urn not in d.replaced:
            causes = _cascade_causes(r, after, d.replaced)
            if causes:
                d.cascades.append((r, causes))
    d.outputs = property_changes(base.get("outputs", {}), head.get("outputs", {}))
    return d


def _cascade_causes(r: dict[str, Any], after: dict[str, dict[str, Any]], replaced: dict[str, list[str]]) -> list[str]:
    """The replaced resources whose new outputs would replace ``r`` (``name (input)``).

    With property dependencies, only an input that forces a replacement and is not ignored
    counts; a plan without them (written by an older version) falls back to all dependencies.
    """
    per_input = r.get("propertyDependencies")
    if per_input is None:
        return [after[u]["name"] for u in r.get("dependencies", []) if u in replaced]
    skip = r.get("ignoreChanges", [])
    causes = []
    for key, urns in sorted(per_input.items()):
        if not input_may_replace(r["type"], key, skip):
            continue
        causes += [f"{after[u]['name']} ({key})" for u in urns if u in replaced]
    return causes


def _cell(value: Any) -> str:
    if value is MISSING:
        return "_(absent)_"
    text = repr(value) if not isinstance(value, str) else value
    text = text.replace("|", "\\|").replace("\n", "⏎")
    return f"`{text[:117] + '...' if len(text) > 120 else text}`"


def _note(path: str, forcing: set[str], left_alone: set[str]) -> str:
    if path in forcing:
        return " (replaces)"
    return " (ignored: ignoreChanges)" if path in left_alone else ""


def render_markdown(d: PlanDiff, title: str = "Plan diff") -> str:
    lines = [f"### {title}", ""]
    if d.empty:
        return "\n".join(lines + ["No changes: both plans create the same resources with the same inputs.", ""])
    for danger in d.dangers:
        lines.append(f"> :warning: **{danger[0].upper()}{danger[1:]}**")
    if d.dangers:
        lines.append("")
    lines.append(
        f"**{len(d.added)} to add, {len(d.removed)} to remove, {len(d.changed)} to change"
        f" ({len(d.replaced)} by replacement)**"
    )
    for heading, items, sign in (("Added", d.added, "+"), ("Removed", d.removed, "-")):
        if items:
            lines += ["", f"#### {heading}", "", "| | Type | Name |", "|---|---|---|"]
            lines += [f"| {sign} | `{r['type']}` | `{r['name']}` |" for r in items]
    if d.changed:
        lines += ["", "#### Changed"]
        for r, changes in d.changed:
            forcing = set(d.replaced.get(r["urn"], ()))
            left_alone = set(d.ignored.get(r["urn"], ()))
            lines += ["", f"`{r['type']}` **{r['name']}**: {d.kind(r)}", "", "| Property | Base | Head |",
                      "|---|---|---|"]
            lines += [f"| `{p}`{_note(p, forcing, left_alone)} | {_cell(b)} | {_cell(h)} |" for p, b, h in changes]
    if d.outputs:
        lines += ["", "#### Outputs", "", "| Output | Base | Head |", "|---|---|---|"]
        lines += [f"| `{p}` | {_cell(b)} | {_cell(h)} |" for p, b, h in d.outputs]
    return "\n".join(lines) + "\n"
