"""AsteroidsGame under the mock engine: per game host one image, a volume container with the FUSE
mount, a Docker volume with the copy, and the unprivileged game container serving it with nginx."""

from __future__ import annotations

import pulumi
import pytest

from rancher_stacks.hosts.dockerhost import DockerHost, DockerHostArgs, FailureDomain, SshSettings
from rancher_stacks.images import NODE_IMAGE
from rancher_stacks.net.rules import WORLD
from rancher_stacks.workloads.asteroids.game import (
    APP_DIR,
    GAME_COMMIT,
    IMAGE_NAME,
    AsteroidsGame,
    AsteroidsGameArgs,
    game_ingress,
)
from rancher_stacks.workloads.asteroids.render_nginx import render_nginx_conf
from rancher_stacks.workloads.asteroids.render_start import CONFIG_JS, COPY_ROOT, RUN_DIR, game_client_dir
from rancher_stacks.workloads.gluster.cluster import GlusterCluster, GlusterClusterArgs
from tools.mockengine import ProgramRun, Registration, run_program

GAME = "rancher-stacks:index:AsteroidsGame"


def host(name: str, cloud: str, index: int, *, local: bool = False) -> DockerHost:
    if local:
        return DockerHost(
            name,
            DockerHostArgs(
                domain=FailureDomain("local", "local", f"host-{index}"),
                public_address="127.0.0.1",
                private_address="127.0.0.1",
            ),
        )
    net = {"aws": 1, "gcp": 2}[cloud]
    return DockerHost(
        name,
        DockerHostArgs(
            domain=FailureDomain(cloud, f"{cloud}-region", f"zone-{index}"),
            public_address=f"198.51.{100 + net}.{10 + index}",
            private_address=f"10.{net}.0.{10 + index}",
            ssh=SshSettings(),
        ),
    )


def plan(servers: int = 3, games: int = 2, *, game_cloud: str = "aws", local: bool = False, **args) -> ProgramRun:
    def program() -> None:
        storage = [host(f"s{i}", "aws", i, local=local) for i in range(servers)]
        game_hosts = [host(f"g{i}", game_cloud, i, local=local) for i in range(games)]
        cluster = GlusterCluster("storage", GlusterClusterArgs(hosts=storage))
        game = AsteroidsGame("game", AsteroidsGameArgs(hosts=game_hosts, gluster=cluster, **args))
        pulumi.export("url", game.url)

    return run_program(program)


def _all_containers(run: ProgramRun) -> list[Registration]:
    game = run.by_type(GAME)[0]
    return sorted(
        (r for r in run.children_of(game.urn) if r.type == "docker:index/container:Container"), key=lambda r: r.name
    )


def containers(run: ProgramRun) -> list[Registration]:
    """The public game containers."""
    return [r for r in _all_containers(run) if not r.name.endswith("-volume")]


def volume_containers(run: ProgramRun) -> list[Registration]:
    """The non-public volume containers that mount Gluster."""
    return [r for r in _all_containers(run) if r.name.endswith("-volume")]


def env(container: Registration) -> dict[str, str]:
    return dict(e.split("=", 1) for e in container.inputs["envs"])


def test_props_and_url():
    run = plan(public_port=8080)
    assert run.by_type(GAME)[0].inputs == {
        "replicas": 2,
        "hosts": ["g0", "g1"],
        "volumeName": "ranchervol",
        "publicPort": 8080,
    }
    assert run.outputs["url"] == "http://198.51.101.10:8080/"
    assert plan(games=1).outputs["url"] == "http://198.51.101.10/"


def test_each_game_host_builds_the_image_on_its_own_daemon_and_runs_it():
    run = plan()
    game = run.by_type(GAME)[0]
    for i, container in enumerate(containers(run)):
        provider = run.by_name(f"g{i}-docker").urn
        image = run.by_name(f"game-image-g{i}")
        assert image.type == "docker:index/image:Image" and image.parent == game.urn
        assert image.provider.startswith(provider + "::") and container.provider.startswith(provider + "::")
        assert image.inputs["skipPush"] is True and image.inputs["imageName"] == IMAGE_NAME
        assert image.inputs["build"] == {
            "context": "apps/asteroids",  # relative: plans do not depend on the checkout path
            "platform": "linux/amd64",
            "args": {"NODE_IMAGE": NODE_IMAGE, "GAME_COMMIT": GAME_COMMIT},
        }
        assert APP_DIR.is_absolute() and (APP_DIR / "Dockerfile").is_file()
        assert container.inputs["image"].startswith(IMAGE_NAME + "@sha256:"), "the built image's digest"
        assert image.urn in container.dependencies
        assert container.inputs["restart"] == "unless-stopped"


def test_only_the_unpublished_volume_container_may_mount_fuse_and_nothing_more():
    run = plan()
    assert [c.name for c in volume_containers(run)] == ["game-g0-volume", "game-g1-volume"]
    for i, container in enumerate(volume_containers(run)):
        assert container.inputs["name"] == f"game-g{i}-volume"
        assert "privileged" not in container.inputs
        assert "ports" not in container.inputs, "the volume container is never published"
        assert container.inputs["devices"] == [{"hostPath": "/dev/fuse", "containerPath": "/dev/fuse"}]
        assert container.inputs["capabilities"] == {"adds": ["SYS_ADMIN"]}
        assert container.inputs["securityOpts"] == ["apparmor=unconfined"]
        assert container.inputs["command"] == ["/usr/local/bin/start.sh", "volume"]
        assert container.inputs["mounts"] == [{"type": "volume", "source": f"game-g{i}-copy", "target": COPY_ROOT}]
        assert container.inputs["healthcheck"]["tests"] == ["CMD", "/usr/local/bin/start.sh", "volume-health"]


def test_the_public_game_container_has_no_fuse_privilege_and_reads_the_copy_read_only():
    run = plan()
    for i, container in enumerate(containers(run)):
        inputs = container.inputs
        assert "privileged" not in inputs and "devices" not in inputs
        assert inputs["capabilities"] == {"drops": ["ALL"], "adds": ["CHOWN", "SETGID", "SETUID"]}
        assert "SYS_ADMIN" not in str(inputs)
        assert inputs["securityOpts"] == ["no-new-privileges:true"]
        assert not any("unconfined" in opt for opt in inputs["securityOpts"])
        assert inputs["mounts"] == [
            {"type": "volume", "source": f"game-g{i}-copy", "target": COPY_ROOT, "readOnly": True}
        ]
        assert inputs["tmpfs"] == {RUN_DIR: "rw,noexec,nosuid,size=1m"}
        assert inputs["command"] == ["/usr/local/bin/start.sh", "serve"]
        assert not any(e.startswith("GLUSTER_") for e in inputs["envs"]), "the game container mounts nothing"
        assert "hosts" not in inputs and "networksAdvanced" not in inputs


def test_each_host_has_its_own_copy_volume_and_the_game_starts_after_the_volume_container():
    run = plan()
    game = run.by_type(GAME)[0]
    for i, (served, volume) in enumerate(zip(containers(run), volume_containers(run), strict=True)):
        copy = run.by_name(f"game-g{i}-copy")
        assert copy.type == "docker:index/volume:Volume" and copy.parent == game.urn
        assert copy.inputs == {"name": f"game-g{i}-copy"}
        assert copy.provider.startswith(run.by_name(f"g{i}-docker").urn + "::"), "on the host's own daemon"
        assert volume.urn in served.dependencies and copy.urn in served.dependencies
        assert copy.urn in volume.dependencies


def test_each_volume_container_mounts_through_its_own_primary_with_every_other_server_as_backup():
    run = plan(servers=3, games=2)
    first, second = (env(c) for c in volume_containers(run))
    assert first["GLUSTER_MOUNT_SOURCE"] == "gluster-s0:/ranchervol"
    assert first["GLUSTER_MOUNT_OPTIONS"] == "backup-volfile-servers=gluster-s1:gluster-s2"
    assert second["GLUSTER_MOUNT_SOURCE"] == "gluster-s1:/ranchervol"
    assert second["GLUSTER_MOUNT_OPTIONS"] == "backup-volfile-servers=gluster-s2:gluster-s0"
    assert first["COPY_ROOT"] == COPY_ROOT and "PUBLIC_HOST" not in first
    served = [env(c) for c in containers(run)]
    assert (served[0]["PUBLIC_HOST"], served[0]["PUBLIC_PORT"]) == ("198.51.101.10", "80")
    assert served[1]["PUBLIC_HOST"] == "198.51.101.11"


def test_clients_on_the_storage_cloud_reach_the_servers_privately_others_publicly():
    same = volume_containers(plan(game_cloud="aws"))[0]
    other = volume_containers(plan(game_cloud="gcp"))[0]
    assert {h["host"]: h["ip"] for h in same.inputs["hosts"]} == {f"gluster-s{i}": f"10.1.0.{10 + i}" for i in range(3)}
    assert {h["host"]: h["ip"] for h in other.inputs["hosts"]} == {
        f"gluster-s{i}": f"198.51.101.{10 + i}" for i in range(3)
    }


def test_nginx_listens_inside_and_the_public_port_is_published():
    run = plan(public_port=8080)
    expected = render_nginx_conf(document_root=game_client_dir(), config_js=CONFIG_JS)
    assert game_client_dir() == f"{COPY_ROOT}/current/client"
    for container in containers(run):
        assert container.inputs["ports"] == [{"internal": 8080, "external": 8080}]
        assert container.inputs["uploads"] == [{"file": "/etc/nginx/nginx.conf", "content": expected}]


def test_the_volume_container_starts_only_after_the_volume_exists():
    run = plan()
    bootstrap = run.by_name("storage-bootstrap").urn
    for container in volume_containers(run):
        assert bootstrap in container.dependencies


def test_on_the_local_daemon_the_volume_container_joins_the_gluster_network():
    run = plan(servers=2, games=1, local=True, public_port=8080)
    (container,) = volume_containers(run)
    assert container.inputs["networksAdvanced"] == [{"name": "storage-gluster"}]
    assert container.inputs.get("hosts", []) == []
    assert env(container)["GLUSTER_MOUNT_SOURCE"] == "gluster-s0:/ranchervol"
    (served,) = containers(run)
    assert "networksAdvanced" not in served.inputs, "the public container does not reach Gluster"
    assert run.outputs["url"] == "http://127.0.0.1:8080/"


def test_game_hosts_sharing_the_local_daemon_publish_consecutive_ports():
    run = plan(servers=2, games=2, local=True, public_port=8080)
    assert [c.inputs["ports"] for c in containers(run)] == [
        [{"internal": 8080, "external": 8080}],
        [{"internal": 8080, "external": 8081}],
    ]
    assert [env(c)["PUBLIC_PORT"] for c in containers(run)] == ["8080", "8081"]


def test_bad_game_settings_are_refused():
    with pytest.raises(ValueError, match="at least one host"):
        plan(games=0)
    with pytest.raises(ValueError, match="not a TCP port"):
        plan(public_port=70000)

    def twice() -> None:
        cluster = GlusterCluster("storage", GlusterClusterArgs(hosts=[host(f"s{i}", "aws", i) for i in range(2)]))
        game_host = host("g0", "aws", 0)
        AsteroidsGame("game", AsteroidsGameArgs(hosts=[game_host, game_host], gluster=cluster))

    with pytest.raises(ValueError, match="must run on distinct hosts; repeated: g0"):
        run_program(twice)


def test_game_ingress_opens_http_to_the_world_only():
    (rule,) = game_ingress(80)
    assert (rule.service, rule.source) == ("http", WORLD)
    (moved,) = game_ingress(8080)
    assert [(p.protocol, p.first, p.last) for p in moved.ports] == [("tcp", 8080, 8080)]
