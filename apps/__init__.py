"""The images rancher-stacks builds from its own sources, shipped with the package.

Installed as ``rancher_stacks.apps``, so a component imported from the wheel finds its build
context (``app_dir("asteroids")``) as surely as one run from this repository. Each app's own
README says what it is; nothing here is imported by the apps themselves.
"""

from __future__ import annotations

from pathlib import Path

APPS_DIR = Path(__file__).resolve().parent


def app_dir(name: str) -> Path:
    """The build context of app ``name`` (a directory with a Dockerfile)."""
    path = APPS_DIR / name
    if not (path / "Dockerfile").is_file():
        known = ", ".join(sorted(p.name for p in APPS_DIR.iterdir() if (p / "Dockerfile").is_file()))
        raise FileNotFoundError(f"no app {name!r} with a Dockerfile under {APPS_DIR}; known: {known}")
    return path
