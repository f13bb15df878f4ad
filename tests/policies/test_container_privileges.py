"""container-privileges: host-level privileges only for allow-listed containers that publish nothing."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from policy_helpers import res, run

from rancher_stacks import policies
from tools.plan import plan_stack
from tools.planfile import policy_resources

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = "docker:index/container:Container"
POLICY = "container-privileges"


def container(name: str, **props: Any) -> dict[str, Any]:
    return res(CONTAINER, name, {"name": name, "image": "example@sha256:00", **props})


def found(resources: list[dict[str, Any]], config: dict[str, Any] | None = None) -> list[dict[str, str]]:
    return [v for v in run(resources, config) if v["policy"] == POLICY]


@pytest.fixture(scope="module")
def dev() -> list[dict[str, Any]]:
    return policy_resources(plan_stack(ROOT / "Pulumi.dev.yaml"))


def by_name(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (entry,) = [r for r in resources if r["name"] == name]
    return entry


def test_the_shipped_stacks_hold_privileges_only_where_allowed(dev):
    assert found(dev) == []
    privileged = sorted(
        r["name"] for r in dev if r["type"] == CONTAINER and policies.containers.container_privileges(r["props"])
    )
    assert privileged == ["game-game-0-volume", "storage-storage-0", "storage-storage-1"]


def test_sys_admin_on_the_public_game_container_fails_the_dev_plan(dev):
    changed = copy.deepcopy(dev)
    by_name(changed, "game-game-0")["props"]["capabilities"] = {"adds": ["SYS_ADMIN"]}
    (violation,) = found(changed)
    assert violation["resource"] == "game-game-0" and violation["enforcement"] == "mandatory"
    assert "game-game-0" in violation["message"] and "SYS_ADMIN" in violation["message"]
    assert "publishes ports" in violation["message"]


def test_publishing_a_port_from_an_allow_listed_container_fails(dev):
    changed = copy.deepcopy(dev)
    by_name(changed, "game-game-0-volume")["props"]["ports"] = [{"internal": 8080, "external": 8080}]
    (violation,) = found(changed, {"privilegedContainers": ["game-game-*", "storage-storage-*"]})
    assert violation["resource"] == "game-game-0-volume"
    assert "device /dev/fuse" in violation["message"] and "apparmor=unconfined" in violation["message"]


@pytest.mark.parametrize(
    ("props", "privilege"),
    [
        ({"privileged": True}, "privileged"),
        ({"capabilities": {"adds": ["cap_net_admin"]}}, "capability NET_ADMIN"),
        ({"capabilities": {"adds": ["ALL"]}}, "capability ALL"),
        ({"devices": [{"hostPath": "/dev/kvm"}]}, "device /dev/kvm"),
        ({"securityOpts": ["seccomp:unconfined"]}, "security option seccomp:unconfined"),
        ({"securityOpts": ["apparmor=unconfined"]}, "security option apparmor=unconfined"),
    ],
)
def test_a_privilege_on_an_unlisted_container_fails(props, privilege):
    (violation,) = found([container("debug-shell", **props)])
    assert violation["resource"] == "debug-shell"
    assert "container debug-shell" in violation["message"] and privilege in violation["message"]
    assert "privilegedContainers" in violation["message"]


def test_unprivileged_and_default_set_containers_pass():
    assert found([container("web", ports=[{"internal": 80, "external": 80}])]) == []
    dropped = {"drops": ["ALL"], "adds": ["CHOWN", "SETGID", "SETUID"]}
    hardened = container("web", capabilities=dropped, securityOpts=["no-new-privileges:true"], ports=[{"internal": 80}])
    assert found([hardened]) == []


def test_the_allow_list_config_changes_the_outcome():
    storage = container("storage-storage-7", privileged=True)
    other = container("files-node-0", privileged=True)
    assert found([storage]) == [] and len(found([other])) == 1
    assert found([other], {"privilegedContainers": ["files-node-*"]}) == []
    assert len(found([storage], {"privilegedContainers": ["files-node-*"]})) == 1
    assert len(found([storage], {POLICY: {"privilegedContainers": []}})) == 1


def test_unknown_values_are_not_judged():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert found([container("x", privileged=unknown, devices=unknown, securityOpts=unknown)]) == []
