"""The wheel a user installs: ``rancher_stacks`` beside a project's own ``components``/``policies``.

The wheel is built from a copy of the project (pip, no build isolation, setuptools pinned in
requirements-dev.txt) and unpacked into a directory that a clean interpreter puts on ``sys.path``
after a scratch Pulumi project with packages of its own named ``components`` and ``policies``.
The interpreter runs with ``-S`` and only the venv's site-packages added by hand, so neither this
checkout nor its editable install can answer an import.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import sysconfig
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ("pyproject.toml", "README.md", "components", "policies", "apps")


@pytest.fixture(scope="module")
def unpacked_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    src = tmp_path_factory.mktemp("src")
    ignore = shutil.ignore_patterns("__pycache__", "venv", "*.pyc", "*.egg-info", "build")
    for name in SHIPPED:
        path = ROOT / name
        if path.is_dir():
            shutil.copytree(path, src / name, ignore=ignore)
        else:
            shutil.copy2(path, src / name)
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    )
    (wheel,) = dist.glob("rancher_stacks-*.whl")
    site = tmp_path_factory.mktemp("site")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(site)
    return site


def test_the_wheel_holds_one_package_and_the_apps_build_contexts(unpacked_wheel: Path) -> None:
    top = {p.name for p in unpacked_wheel.iterdir() if not p.name.endswith(".dist-info")}
    assert top == {"rancher_stacks"}
    package = unpacked_wheel / "rancher_stacks"
    for required in (
        "systems/registry.py",
        "clouds/aws/firewall.py",
        "policies/PulumiPolicy.yaml",
        "policies/__main__.py",
        "apps/asteroids/Dockerfile",
        "apps/asteroids/start.sh",
        "apps/hitcounter/Dockerfile",
        "apps/hitcounter/.dockerignore",
        "apps/hitcounter/hitcounter/app.py",
        "py.typed",
    ):
        assert (package / required).is_file(), required


PROBE = textwrap.dedent(
    """
    import json, sys
    sys.path[:0] = [SCRATCH, WHEEL, DEPS]
    sys.modules["pulumi_digitalocean"] = None  # the DigitalOcean extra is not installed
    sys.modules["pulumi_gcp"] = None  # nor the GCP one
    import components, policies
    import rancher_stacks.policies as pack
    from rancher_stacks.workloads.gluster.cluster import GlusterCluster
    from rancher_stacks.workloads.hitcounter.app import APP_DIR, app_content_hash
    from rancher_stacks.workloads.asteroids.game import APP_DIR as GAME_DIR
    from rancher_stacks.systems.registry import all_systems
    from rancher_stacks.clouds.registry import make_cloud_bases
    print(json.dumps({
        "user_components": components.WHO,
        "user_policies": policies.WHO,
        "gluster": sys.modules[GlusterCluster.__module__].__file__,
        "pack": pack.__file__,
        "policies": [p.name for p in pack.ALL_POLICIES],
        "app_dir": str(APP_DIR),
        "app_hash": app_content_hash(APP_DIR),
        "game_dir": str(GAME_DIR),
        "systems": [s.name for s in all_systems()],
    }))
    """
)


def test_a_project_with_its_own_components_and_policies_imports_ours_beside_them(
    unpacked_wheel: Path, tmp_path: Path
) -> None:
    scratch = tmp_path / "my-pulumi-project"
    for name in ("components", "policies"):
        (scratch / name).mkdir(parents=True)
        (scratch / name / "__init__.py").write_text(f"WHO = 'the user {name}'\n")
    (scratch / "Pulumi.yaml").write_text("name: my-project\nruntime: python\n")
    deps = sysconfig.get_paths()["purelib"]
    code = PROBE.replace("SCRATCH", repr(str(scratch))).replace("WHEEL", repr(str(unpacked_wheel)))
    code = code.replace("DEPS", repr(deps))
    out = subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=scratch, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["user_components"] == "the user components"
    assert seen["user_policies"] == "the user policies"
    for key in ("gluster", "pack", "app_dir", "game_dir"):
        assert Path(seen[key]).is_relative_to(unpacked_wheel), (key, seen[key])
    assert len(seen["policies"]) >= 14
    from rancher_stacks.systems.registry import all_systems

    # Every system of the checkout ships, in the same order.
    assert seen["systems"] == [system.name for system in all_systems()]

    from rancher_stacks.workloads.hitcounter.app import APP_DIR, app_content_hash

    # The same build context, so an installed copy builds the same image tag as this checkout.
    assert seen["app_hash"] == app_content_hash(APP_DIR)
