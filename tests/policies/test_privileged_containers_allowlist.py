"""privileged-containers-allowlist: privileged only from allow-listed images; narrower privileges
only for allow-listed names; never on a container that publishes ports."""

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
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
POLICY = "privileged-containers-allowlist"


def container(name: str, image: str = "example@sha256:00", **props: Any) -> dict[str, Any]:
    return res(CONTAINER, name, {"name": name, "image": image, **props})


def pulled(name: str, reference: str) -> dict[str, Any]:
    """A RemoteImage and a container running its id, linked by a dependency as in a plan."""
    image = res(REMOTE_IMAGE, f"{name}-image", {"name": reference})
    image["urn"] = f"urn:pulumi:offline::rancher-stacks::{REMOTE_IMAGE}::{name}-image"
    runner = container(name, image="sha256:" + "1" * 64, privileged=True)
    runner["dependencies"] = [image["urn"]]
    return [image, runner]


def found(resources: list[dict[str, Any]], config: dict[str, Any] | None = None) -> list[dict[str, str]]:
    return [v for v in run(resources, config) if v["policy"] == POLICY]


@pytest.fixture(scope="module")
def dev() -> list[dict[str, Any]]:
    return policy_resources(plan_stack(ROOT / "Pulumi.dev.yaml"))


def by_name(resources: list[dict[str, Any]], name: str) -> dict[str, Any]:
    (entry,) = [r for r in resources if r["name"] == name]
    return entry


def test_the_dev_plan_runs_privileged_only_dind_and_gluster(dev):
    assert found(dev) == []
    privileged = sorted(
        r["name"] for r in dev if r["type"] == CONTAINER and policies.containers.is_privileged(r["props"])
    )
    assert privileged == ["ci-agent-0-dind", "ci-agent-1-dind", "storage-storage-0", "storage-storage-1"]
    narrower = sorted(
        r["name"] for r in dev if r["type"] == CONTAINER and policies.containers.container_privileges(r["props"])
    )
    assert narrower == ["game-game-0-volume"]


def test_dropping_dind_from_the_allow_list_fails_both_agents(dev):
    violations = found(dev, {"privilegedImages": ["gluster/gluster-centos:*"]})
    assert sorted(v["resource"] for v in violations) == ["ci-agent-0-dind", "ci-agent-1-dind"]
    assert all("docker:29.7.2-dind" in v["message"] and v["enforcement"] == "mandatory" for v in violations)


def test_privileged_on_the_jenkins_agent_fails_the_dev_plan(dev):
    changed = copy.deepcopy(dev)
    by_name(changed, "ci-agent-0-agent")["props"]["privileged"] = True
    (violation,) = found(changed)
    assert violation["resource"] == "ci-agent-0-agent"
    assert "jenkins-agent:" in violation["message"] and "privilegedImages" in violation["message"]


def test_sys_admin_on_the_public_game_container_fails_the_dev_plan(dev):
    changed = copy.deepcopy(dev)
    by_name(changed, "game-game-0")["props"]["capabilities"] = {"adds": ["SYS_ADMIN"]}
    (violation,) = found(changed)
    assert violation["resource"] == "game-game-0" and violation["enforcement"] == "mandatory"
    assert "SYS_ADMIN" in violation["message"] and "publishes ports" in violation["message"]


def test_publishing_a_port_from_dind_fails(dev):
    changed = copy.deepcopy(dev)
    by_name(changed, "ci-agent-1-dind")["props"]["ports"] = [{"internal": 2376, "external": 2376}]
    (violation,) = found(changed)
    assert violation["resource"] == "ci-agent-1-dind" and "publishes ports" in violation["message"]


@pytest.mark.parametrize(
    ("reference", "ok"),
    [
        ("docker:29.7.2-dind", True),
        ("gluster/gluster-centos:gluster4u0_centos7", True),
        ("docker:29.7.2-cli", False),
        ("ubuntu:24.04", False),
        ("evil/docker:29.7.2-dind", False),
    ],
)
def test_a_privileged_image_is_judged_by_the_image_it_was_pulled_as(reference, ok):
    violations = found(pulled("x", reference))
    assert (violations == []) is ok, violations
    if not ok:
        assert reference in violations[0]["message"]


def test_a_literal_image_reference_is_judged_too():
    assert found([container("dind", image="docker:29.7.2-dind", privileged=True)]) == []
    (violation,) = found([container("shell", image="alpine:3.20", privileged=True)])
    assert "alpine:3.20" in violation["message"]


def test_a_privileged_image_id_no_resource_names_fails_closed():
    (violation,) = found([container("mystery", image="sha256:" + "2" * 64, privileged=True)])
    assert "no resource names" in violation["message"]


@pytest.mark.parametrize(
    ("props", "privilege"),
    [
        ({"capabilities": {"adds": ["cap_net_admin"]}}, "capability NET_ADMIN"),
        ({"capabilities": {"adds": ["ALL"]}}, "capability ALL"),
        ({"devices": [{"hostPath": "/dev/kvm"}]}, "device /dev/kvm"),
        ({"securityOpts": ["seccomp:unconfined"]}, "security option seccomp:unconfined"),
        ({"securityOpts": ["apparmor=unconfined"]}, "security option apparmor=unconfined"),
    ],
)
def test_a_narrower_privilege_on_an_unlisted_name_fails(props, privilege):
    (violation,) = found([container("debug-shell", **props)])
    assert "container debug-shell" in violation["message"] and privilege in violation["message"]
    assert "privilegedContainers" in violation["message"]


def test_unprivileged_and_default_set_containers_pass():
    assert found([container("web", ports=[{"internal": 80, "external": 80}])]) == []
    dropped = {"drops": ["ALL"], "adds": ["CHOWN", "SETGID", "SETUID"]}
    hardened = container("web", capabilities=dropped, securityOpts=["no-new-privileges:true"], ports=[{"internal": 80}])
    assert found([hardened]) == []


def test_the_allow_list_configs_change_the_outcome():
    fuse = container("files-node-0", devices=[{"hostPath": "/dev/fuse"}])
    assert len(found([fuse])) == 1
    assert found([fuse], {"privilegedContainers": ["files-node-*"]}) == []
    shell = container("shell", image="alpine:3.20", privileged=True)
    assert found([shell], {"privilegedImages": ["alpine:*"]}) == []
    assert len(found(pulled("d", "docker:29.7.2-dind"), {POLICY: {"privilegedImages": []}})) == 1


def test_unknown_values_are_not_judged():
    unknown = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
    assert found([container("x", image=unknown, privileged=unknown, devices=unknown, securityOpts=unknown)]) == []
    assert found([container("y", image=unknown, privileged=True)]) == []
