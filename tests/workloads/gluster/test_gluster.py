"""GlusterCluster under the mock engine: topology, providers, state on the data volume, bootstrap."""

from __future__ import annotations

import pulumi
import pytest
from host_fixtures import local_hosts
from host_fixtures import remote_hosts as fixture_hosts

from rancher_stacks.hosts.dockerhost import DockerHost, FailureDomain
from rancher_stacks.net.peer import PeerGroup
from rancher_stacks.net.rules import FromGroup, FromSelf
from rancher_stacks.workloads.gluster.cluster import PEER_LABEL, GlusterCluster, GlusterClusterArgs, server_ingress
from tools.mockengine import ProgramRun, Registration, run_program

CONTAINER = "docker:index/container:Container"
CLUSTER = "rancher-stacks:index:GlusterCluster"


def remote_hosts(count: int, clouds: tuple[str, ...] = ("aws",)) -> list[DockerHost]:
    return fixture_hosts(
        count,
        "s",
        domain=lambda i: FailureDomain(clouds[i % len(clouds)], "region-1", f"zone-{i}"),
        public=lambda i: f"203.0.113.{10 + i}",
        private=lambda i: f"10.0.0.{10 + i}",
        data_dir=lambda i: f"/srv/data{i}",
    )


def plan(make_hosts, **args) -> ProgramRun:
    def program() -> None:
        cluster = GlusterCluster("storage", GlusterClusterArgs(hosts=make_hosts(), **args))
        pulumi.export("volume", cluster.volume_name)
        pulumi.export("servers", cluster.server_addresses)

    return run_program(program)


def servers(run: ProgramRun) -> list[Registration]:
    cluster = run.by_type(CLUSTER)[0]
    return sorted((r for r in run.children_of(cluster.urn) if r.type == CONTAINER), key=lambda r: r.name)


def volumes(container: Registration) -> dict[str, dict]:
    return {v["containerPath"]: v for v in container.inputs["volumes"]}


@pytest.mark.parametrize("count", [2, 3])
def test_one_privileged_host_network_server_per_host_on_that_hosts_daemon(count):
    run = plan(lambda: remote_hosts(count))
    cluster = run.by_type(CLUSTER)[0]
    assert cluster.inputs == {
        "volumeName": "ranchervol",
        "replicas": count,
        "servers": [f"s{i}" for i in range(count)],
        "zones": [f"aws/region-1/zone-{i}" for i in range(count)],
    }
    containers = servers(run)
    assert [c.name for c in containers] == [f"storage-s{i}" for i in range(count)]
    for i, container in enumerate(containers):
        provider = run.by_name(f"s{i}-docker")
        assert container.provider.startswith(provider.urn + "::"), "each server runs on its own host's daemon"
        image = run.by_name(f"storage-image-s{i}")
        assert image.provider.startswith(provider.urn + "::") and image.parent == cluster.urn
        assert image.inputs["name"] == "gluster/gluster-centos:gluster4u0_centos7" and image.inputs["keepLocally"] is True
        assert image.urn in container.dependencies
        assert container.parent == cluster.urn
        assert container.inputs["privileged"] is True
        assert container.inputs["networkMode"] == "host"
        assert container.inputs["restart"] == "unless-stopped"
        peer = f"gluster-s{i}"
        assert {label["label"]: label["value"] for label in container.inputs["labels"]}[PEER_LABEL] == peer
        state = f"/srv/data{i}/gluster/{peer}"
        mounted = volumes(container)
        assert {p: v["hostPath"] for p, v in mounted.items()} == {
            "/etc/glusterfs": f"{state}/etc",
            "/var/lib/glusterd": f"{state}/glusterd",
            "/var/log/glusterfs": f"{state}/log",
            f"{state}/bricks": f"{state}/bricks",
            "/sys/fs/cgroup": "/sys/fs/cgroup",
            "/dev": "/dev",
        }
        assert mounted["/sys/fs/cgroup"].get("readOnly") is True
        assert all(v["hostPath"].startswith(f"/srv/data{i}/") for p, v in mounted.items() if p not in ("/dev", "/sys/fs/cgroup"))


def test_servers_resolve_themselves_privately_and_peers_on_the_same_cloud_privately():
    run = plan(lambda: remote_hosts(3))
    for container in servers(run):
        assert {h["host"]: h["ip"] for h in container.inputs["hosts"]} == {
            f"gluster-s{i}": f"10.0.0.{10 + i}" for i in range(3)
        }
    assert run.outputs == {"volume": "ranchervol", "servers": ["10.0.0.10", "10.0.0.11", "10.0.0.12"]}


def test_across_clouds_peers_are_public_but_each_server_still_finds_itself_on_its_interface():
    run = plan(lambda: remote_hosts(3, clouds=("aws", "gcp")))
    for i, container in enumerate(servers(run)):
        seen = {h["host"]: h["ip"] for h in container.inputs["hosts"]}
        for j in range(3):
            same = (i % 2) == (j % 2)
            assert seen[f"gluster-s{j}"] == (f"10.0.0.{10 + j}" if same else f"203.0.113.{10 + j}"), (i, j)
    assert run.outputs["servers"] == ["203.0.113.10", "203.0.113.11", "203.0.113.12"]


@pytest.mark.parametrize("count", [2, 3])
def test_the_bootstrap_runs_once_on_the_first_server_after_every_server_started(count):
    run = plan(lambda: remote_hosts(count))
    cluster = run.by_type(CLUSTER)[0]
    bootstrap = run.by_name("storage-bootstrap")
    assert bootstrap.type == "command:remote:Command" and bootstrap.parent == cluster.urn
    assert [r.name for r in run.resources if r.type.startswith("command:") and r.parent == cluster.urn] == [
        "storage-bootstrap"
    ]
    assert run.by_name("s0-wait-docker").urn in bootstrap.dependencies, "runs over SSH to the first server"
    assert not any(run.by_name(f"s{i}-wait-docker").urn in bootstrap.dependencies for i in range(1, count))
    assert {c.urn for c in servers(run)} <= set(bootstrap.dependencies)
    assert bootstrap.inputs["triggers"] == [f"10.0.0.{10 + i}" for i in range(count)]
    script = bootstrap.inputs["create"]
    assert "CONTAINER=storage-s0\n" in script and f"REPLICA={count}\n" in script
    for i in range(1, count):
        assert f"gl peer probe gluster-s{i}\n" in script
    bricks = " ".join(f"gluster-s{i}:/srv/data{i}/gluster/gluster-s{i}/bricks/brick" for i in range(count))
    assert f'gl volume create "$VOLUME" replica "$REPLICA" {bricks}\n' in script
    assert 'if ! gl volume info "$VOLUME" >/dev/null 2>&1; then' in script


def test_a_changed_host_set_changes_the_triggers():
    two = plan(lambda: remote_hosts(2)).by_name("storage-bootstrap").inputs["triggers"]
    three = plan(lambda: remote_hosts(3)).by_name("storage-bootstrap").inputs["triggers"]
    assert two != three and three[:2] == two


def test_on_the_local_daemon_servers_share_a_network_and_find_each_other_by_alias():
    run = plan(lambda: local_hosts(2), volume_name="games", brick_subdir="b")
    network = run.by_name("storage-net")
    assert network.inputs["name"] == "storage-gluster"
    assert run.by_type(CLUSTER)[0].inputs["volumeName"] == "games"
    for i, container in enumerate(servers(run)):
        assert container.provider.startswith(run.by_name(f"h{i}-docker").urn + "::")
        assert "networkMode" not in container.inputs and container.inputs.get("hosts", []) == []
        assert container.inputs["networksAdvanced"] == [{"name": "storage-gluster", "aliases": [f"gluster-h{i}"]}]
        assert container.inputs["hostname"] == f"gluster-h{i}"
        state = f"/mnt/data/gluster/gluster-h{i}"
        assert volumes(container)["/var/lib/glusterd"]["hostPath"] == state + "/glusterd", "distinct per server"
    bootstrap = run.by_name("storage-bootstrap")
    assert bootstrap.type == "command:local:Command"
    assert "gluster-h1:/mnt/data/gluster/gluster-h1/bricks/b" in bootstrap.inputs["create"]


@pytest.mark.parametrize(
    ("make_hosts", "message"),
    [
        (lambda: remote_hosts(1), "at least 2 servers on distinct hosts; got 1 host"),
        (lambda: [remote_hosts(1)[0]] * 2, "must run on distinct hosts; repeated: s0"),
        (lambda: [*remote_hosts(2), *remote_hosts(1)], "must run on distinct hosts; repeated: s0"),
        (lambda: [*remote_hosts(1), *local_hosts(1)], "mixes the local daemon"),
    ],
)
def test_a_cluster_that_cannot_replicate_is_refused_with_a_clear_message(make_hosts, message):
    with pytest.raises(ValueError, match=message):
        plan(make_hosts)


def test_host_names_that_give_the_same_peer_name_are_refused():
    def colliding() -> list[DockerHost]:
        a, b = remote_hosts(2)
        a.host_name, b.host_name = "store_1", "store-1"
        return [a, b]

    with pytest.raises(ValueError, match="colliding peer names"):
        plan(colliding)


def test_bad_names_are_refused():
    with pytest.raises(ValueError, match="volume name"):
        plan(lambda: remote_hosts(2), volume_name="Bad Volume")
    with pytest.raises(ValueError, match="brick_subdir"):
        plan(lambda: remote_hosts(2), brick_subdir="../escape")


def test_server_ingress_admits_gluster_from_the_servers_and_each_client_group():
    game = PeerGroup("game", "aws", pulumi.Output.from_input(["1.2.3.4"]), pulumi.Output.from_input(["10.0.0.1"]))
    rules = server_ingress([game])
    assert [(r.service, r.source) for r in rules] == [("gluster", FromSelf()), ("gluster", FromGroup(game))]
    assert [r.source for r in server_ingress([])] == [FromSelf()]
