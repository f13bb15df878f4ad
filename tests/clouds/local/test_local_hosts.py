"""The local cloud: N Docker host handles on the local daemon, no VM, no firewall."""

from __future__ import annotations

import pytest
from host_runs import assert_parents_reach_components, run, stack_config

from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.hostgroup import HostGroup, HostGroupArgs
from rancher_stacks.net.rules import FromSelf, Rule
from tools.mockengine import ProgramRun

LOCAL_ONLY = {"storage": {"cloud": "local", "servers": 3}}
DOCKER_HOST = "unix:///run/user/1000/docker.sock"


@pytest.fixture(scope="module")
def local_run() -> ProgramRun:
    # A local-only stack needs neither an SSH key nor admin CIDRs.
    cfg = stack_config(
        workloads=LOCAL_ONLY,
        clouds={"local": {"dockerHost": DOCKER_HOST}},
        sshPublicKey=None,
        adminCidrs=[],
    )

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        assert sorted(bases) == ["local"]
        group = HostGroup(
            "storage",
            HostGroupArgs(base=bases["local"], count=3, data_volume_gb=20, ingress=[Rule("gluster", FromSelf())]),
        )
        assert [str(h.domain) for h in group.hosts] == [f"local/local/host-{i}" for i in range(3)]
        assert all(h.is_local for h in group.hosts)
        assert [h.data_dir for h in group.hosts] == [f"/var/tmp/rancher-stacks/test/storage-{i}" for i in range(3)]
        assert group.firewall is None and group.vms == [] and group.volumes == []
        assert group.peer.count == 3 and group.peer.cloud == "local"

    return run(program)


def test_only_docker_host_handles_are_created(local_run: ProgramRun) -> None:
    custom = sorted({r.type for r in local_run.resources if r.custom})
    assert custom == ["pulumi:providers:docker"]
    components = sorted(r.type for r in local_run.resources if not r.custom)
    assert components == [
        "rancher-stacks:index:DockerHost",
        "rancher-stacks:index:DockerHost",
        "rancher-stacks:index:DockerHost",
        "rancher-stacks:index:HostGroup",
        "rancher-stacks:index:LocalBase",
    ]


def test_docker_providers_use_the_configured_local_daemon(local_run: ProgramRun) -> None:
    providers = sorted(local_run.by_type("pulumi:providers:docker"), key=lambda r: r.name)
    assert [p.name for p in providers] == ["storage-0-docker", "storage-1-docker", "storage-2-docker"]
    assert {p.inputs["host"] for p in providers} == {DOCKER_HOST}
    (group,) = local_run.by_type("rancher-stacks:index:HostGroup")
    assert group.custom is False
    assert_parents_reach_components(local_run)
