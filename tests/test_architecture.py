"""The package's shape: one import name, layers that only import downwards, no import cycle,
cloud branches only inside clouds/, and renderers free of Pulumi.

The imports are read from the source (every ``import``, at module level or inside a function,
relative ones resolved), so the test sees lazy imports too.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIRS = {"rancher_stacks": ROOT / "components", "rancher_stacks.policies": ROOT / "policies",
                "rancher_stacks.apps": ROOT / "apps"}

# Lower layers never import higher ones (same layer is fine).
LAYERS = {
    "rancher_stacks": 0,
    "rancher_stacks.naming": 0,
    "rancher_stacks.hostos": 0,
    "rancher_stacks.images": 0,
    "rancher_stacks.net": 0,
    "rancher_stacks.apps": 0,
    "rancher_stacks.config": 1,
    "rancher_stacks.clouds": 2,
    "rancher_stacks.hosts": 3,
    "rancher_stacks.workloads": 4,
    "rancher_stacks.kubernetes": 4,
    "rancher_stacks.placement": 4,
    "rancher_stacks.systems": 5,
}


def module_name(path: Path) -> str:
    rel = path.relative_to(ROOT / "components")
    parts = ["rancher_stacks", *rel.with_suffix("").parts]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def package_modules() -> dict[str, Path]:
    modules = {module_name(p): p for p in sorted((ROOT / "components").rglob("*.py"))}
    assert len(modules) > 40
    return modules


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (relative imports resolved; ``from x import y`` counts y when
    y is a module of the package)."""
    is_package = path.name == "__init__.py"
    base = name.split(".") if is_package else name.split(".")[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                anchor = base[: len(base) - (node.level - 1)]
                target = ".".join([*anchor, *(node.module.split(".") if node.module else [])])
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return found


def internal_graph() -> dict[str, set[str]]:
    modules = package_modules()
    return {name: {m for m in imports_of(name, path) if m in modules and m != name} for name, path in modules.items()}


def layer_of(module: str) -> int:
    best = max((prefix for prefix in LAYERS if module == prefix or module.startswith(prefix + ".")), key=len)
    return LAYERS[best]


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every back edge of a depth-first walk, as the cycle it closes."""
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, set())):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return cycles


def test_no_import_cycle_among_the_package_modules() -> None:
    assert find_cycles(internal_graph()) == []


def test_a_planted_cycle_is_found() -> None:
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_lower_layers_never_import_higher_ones() -> None:
    graph = internal_graph()
    upward = [
        (src, dst)
        for src, targets in graph.items()
        for dst in targets
        if layer_of(dst) > layer_of(src) and not src == "rancher_stacks"
    ]
    assert upward == []
    # The package's face imports only its naming module (no Pulumi for the renderers).
    assert graph["rancher_stacks"] <= {"rancher_stacks.naming"}


def test_inside_the_package_every_import_is_relative() -> None:
    """Absolute ``components``/``policies``/``rancher_stacks`` imports inside the folders would load
    a second copy of a module under another name (two ConfigError classes in one process)."""
    absolute = re.compile(r"^\s*(from|import)\s+(components|policies|apps|rancher_stacks)\b", re.M)
    offenders = [
        str(path.relative_to(ROOT))
        for folder in PACKAGE_DIRS.values()
        for path in folder.rglob("*.py")
        if "venv" not in path.parts and not _in_an_image(path) and absolute.search(path.read_text())
    ]
    assert offenders == []


def _in_an_image(path: Path) -> bool:
    """Code under ``apps/<app>/`` is an image's own program (the flow scheduler imports
    ``rancher_stacks.placement`` as a top-level package there), not a module of the package."""
    apps = ROOT / "apps"
    return path.is_relative_to(apps) and len(path.relative_to(apps).parts) > 1


def test_only_the_clouds_folder_branches_on_a_cloud_name() -> None:
    cloud_test = re.compile(r"""(==|!=)\s*["'](aws|gcp|digitalocean|local)["']|["'](aws|gcp|digitalocean|local)["']\s*(==|!=)""")
    # config.py describes each cloud's settings; one branch exempts the local daemon's
    # published ports from the never-public check (nothing there faces the internet), another
    # refuses data volumes on DigitalOcean while backups are on (it cannot schedule snapshots).
    allowed = {ROOT / "components" / "config.py"}
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for path in (ROOT / "components").rglob("*.py")
        if "clouds" not in path.relative_to(ROOT / "components").parts[:1] and path not in allowed
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if cloud_test.search(line)
    ]
    assert offenders == []


def renderer_modules() -> list[str]:
    names = [module_name(p) for p in (ROOT / "components").rglob("render_*.py")]
    assert len(names) >= 6, names
    return sorted(names)


@pytest.mark.parametrize("module", renderer_modules())
def test_renderers_import_no_pulumi(module: str) -> None:
    """Renderers are pure functions of plain values: importing one loads no Pulumi module."""
    probe = (
        "import sys\n"
        f"import {module}\n"
        "loaded = sorted(m for m in sys.modules if m == 'pulumi' or m.startswith(('pulumi.', 'pulumi_')))\n"
        "print(','.join(loaded))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == ""


def test_systems_registry_finds_every_system_module() -> None:
    from rancher_stacks.config import StackConfig, Workloads
    from rancher_stacks.systems.registry import all_systems

    systems = all_systems()
    modules = sorted(p.stem for p in (ROOT / "components" / "systems").glob("*.py") if p.stem not in ("__init__", "registry"))
    assert [s.name for s in systems] == modules == ["ci", "game", "kubernetes", "logging", "webapp"]
    for system in systems:
        section, _, key = system.section.partition(".")
        if key:
            assert section == "workloads" and key in Workloads.model_fields, system.section
        else:  # a top-level section of its own (the Kubernetes target)
            assert section in StackConfig.model_fields, system.section
