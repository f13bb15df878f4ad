"""Programs some tests must run as root (a loop device, a reduced capability set).

On a user's machine without them (or not as root) those tests skip, naming the package; under
CI (``RANCHER_STACKS_REQUIRE_VALIDATORS=1``) they fail instead.
"""

from __future__ import annotations

import os
import shutil

import pytest

REQUIRE_VALIDATORS = "RANCHER_STACKS_REQUIRE_VALIDATORS"


def find_root_tool(name: str, package: str) -> str:
    """Like ``find_validator``, for a program that must also run as root (a loop device, a
    reduced capability set): skip, or fail under CI, when either is missing."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None or os.geteuid() != 0:
        message = f"{name} as root is needed: apt-get install {package}, and run as root"
        if os.environ.get(REQUIRE_VALIDATORS) == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return found


def require_peer_fixtures(path: os.PathLike[str], what: str) -> None:
    """A peer project's test fixtures (a checkout beside the repository, not part of it).

    On a user's machine without them the test skips, naming where they go; under CI they fail.
    """
    if not os.path.exists(path):
        message = f"{what} not found at {path}: put the peer suites beside the repository (../shared/peers)"
        if os.environ.get(REQUIRE_VALIDATORS) == "1":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
