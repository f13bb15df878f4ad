"""Entry point the Pulumi CLI runs: build the policy pack from the registered policies.

The CLI's Python policy runner executes this file as a script (``runpy.run_path`` on the pack
directory), with the directory as working directory and ``sys.path[0]``, so the package-relative
imports of the rule modules only work once the directory is loaded as a package.
:func:`_policies_package` reuses ``rancher_stacks.policies`` when that is this very directory
(the package installed in the program's venv, tests), and otherwise loads the directory under a
private name of its own, whatever the directory is called (a published pack is unpacked
elsewhere), so neither a user's ``policies`` package nor ours can hide the other.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

from pulumi_policy import PolicyPack

INSTALLED = "rancher_stacks.policies"
PACKAGE = "rancher_stacks_policy_pack"
PACK_DIR = Path(__file__).resolve().parent


def _policies_package() -> ModuleType:
    """The policy package of this directory, imported once."""
    for name in (INSTALLED, PACKAGE):
        loaded = sys.modules.get(name)
        origin = getattr(loaded, "__file__", None)
        if loaded is not None and origin is not None and Path(origin).resolve().parent == PACK_DIR:
            return loaded
    spec = importlib.util.spec_from_file_location(
        PACKAGE, PACK_DIR / "__init__.py", submodule_search_locations=[str(PACK_DIR)]
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load the policy package from {PACK_DIR}")
    package = importlib.util.module_from_spec(spec)
    sys.modules[PACKAGE] = package
    spec.loader.exec_module(package)
    return package


if __name__ == "__main__":
    _package = _policies_package()
    PolicyPack(
        name=_package.PACK_NAME,
        policies=list(_package.ALL_POLICIES),
        enforcement_level=_package.PACK_ENFORCEMENT_LEVEL,
    )
