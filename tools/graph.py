"""The resource graph of a plan as Mermaid, Graphviz DOT, or SVG (through Graphviz's ``dot``).

Solid edges are dependencies (what must exist first); dotted edges are parent/child nesting.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import networkx as nx

from tools.errors import GraphError
from tools.planfile import stack_urn


def build_graph(plan: dict[str, Any]) -> nx.DiGraph:
    """Nodes are URNs (plus the stack); edges ``kind`` = "parent" or "depends"."""
    g: nx.DiGraph = nx.DiGraph()
    root = stack_urn(plan)
    g.add_node(root, type="pulumi:pulumi:Stack", name=f"{plan['project']}-{plan['stack']}")
    for r in plan["resources"]:
        g.add_node(r["urn"], type=r["type"], name=r["name"])
    for r in plan["resources"]:
        g.add_edge(r["parent"] or root, r["urn"], kind="parent")
        for dep in r["dependencies"]:
            if dep in g and dep != r["parent"]:
                g.add_edge(dep, r["urn"], kind="depends")
    return g


def creation_order(plan: dict[str, Any]) -> list[list[str]]:
    """Resources grouped in the waves the engine could create them in (dependencies first)."""
    g = build_graph(plan)
    deps = nx.DiGraph((u, v) for u, v, k in g.edges(data="kind") if k == "depends")
    deps.add_nodes_from(g.nodes)
    return [sorted(wave) for wave in nx.topological_generations(deps)]


def _ids(g: nx.DiGraph) -> dict[str, str]:
    return {urn: f"n{i}" for i, urn in enumerate(sorted(g.nodes))}


def to_mermaid(plan: dict[str, Any]) -> str:
    g = build_graph(plan)
    ids = _ids(g)
    lines = ["flowchart LR"]
    for urn in sorted(g.nodes):
        attrs = g.nodes[urn]
        label = f"{attrs['name']}<br/><small>{attrs['type']}</small>".replace('"', "'")
        lines.append(f'  {ids[urn]}["{label}"]')
    for u, v, kind in sorted(g.edges(data="kind")):
        arrow = "-.->" if kind == "parent" else "-->"
        lines.append(f"  {ids[u]} {arrow} {ids[v]}")
    return "\n".join(lines) + "\n"


def to_dot(plan: dict[str, Any]) -> str:
    g = build_graph(plan)
    ids = _ids(g)
    lines = ["digraph plan {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];']
    for urn in sorted(g.nodes):
        attrs = g.nodes[urn]
        label = f"{attrs['name']}\\n{attrs['type']}".replace('"', "'")
        lines.append(f'  {ids[urn]} [label="{label}"];')
    for u, v, kind in sorted(g.edges(data="kind")):
        style = ' [style=dotted, arrowhead=none]' if kind == "parent" else ""
        lines.append(f"  {ids[u]} -> {ids[v]}{style};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write_graph(plan: dict[str, Any], path: Path) -> None:
    """Write the graph in the format the file suffix names (.mmd, .dot, .svg)."""
    suffix = path.suffix.lower()
    if suffix == ".mmd":
        path.write_text(to_mermaid(plan))
    elif suffix == ".dot":
        path.write_text(to_dot(plan))
    elif suffix == ".svg":
        dot = shutil.which("dot")
        if dot is None:
            raise GraphError("--graph: .svg needs Graphviz's `dot` (apt-get install graphviz); use .mmd or .dot")
        svg = subprocess.run([dot, "-Tsvg"], input=to_dot(plan), capture_output=True, text=True, check=True)
        path.write_text(svg.stdout)
    else:
        raise GraphError(f"--graph: unknown format {suffix or '(none)'!r}; use .mmd, .dot or .svg")
