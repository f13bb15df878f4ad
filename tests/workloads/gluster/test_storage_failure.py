"""Failure analysis over the plan: which server losses the game survives.

Everything is read back from what a planned cluster and game registered, never from the
components' Python objects: the server containers (by their peer label), the brick list and
replica count of the bootstrap command's ``volume create``, and the mount of each game host's volume
container (``GLUSTER_MOUNT_SOURCE`` plus ``backup-volfile-servers``) and its name resolution. After
losing a set of servers the game is still served from the volume when every volume container can
still fetch the volfile from a live server it can resolve, and the volume still has a live replica.
(The game containers serve a local copy, so an outage here stops updates of that copy first.)
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import pulumi
import pytest

from rancher_stacks.hosts.dockerhost import DockerHost, DockerHostArgs, FailureDomain, SshSettings
from rancher_stacks.workloads.asteroids.game import AsteroidsGame, AsteroidsGameArgs
from rancher_stacks.workloads.gluster.cluster import PEER_LABEL, GlusterCluster, GlusterClusterArgs
from tools.mockengine import ProgramRun, Registration, run_program

CONTAINER = "docker:index/container:Container"


@dataclass(frozen=True)
class Mount:
    container: str
    volume: str
    volfile_servers: tuple[str, ...]  # primary first, then the backups, in order
    resolvable: frozenset[str]


@dataclass(frozen=True)
class StoragePlan:
    servers: frozenset[str]  # peer names of the planned server containers
    volume: str
    replica: int
    brick_servers: tuple[str, ...]
    mounts: tuple[Mount, ...]


@dataclass(frozen=True)
class Verdict:
    replicas_left: int
    mounts_without_volfile_server: tuple[str, ...]

    @property
    def served(self) -> bool:
        return self.replicas_left >= 1 and not self.mounts_without_volfile_server


def _env(container: Registration) -> dict[str, str]:
    return dict(e.split("=", 1) for e in container.inputs.get("envs", []))


def storage_plan(run: ProgramRun) -> StoragePlan:
    servers = {}
    for r in run.by_type(CONTAINER):
        labels = {label["label"]: label["value"] for label in r.inputs.get("labels", [])}
        if PEER_LABEL in labels:
            servers[labels[PEER_LABEL]] = r
    (bootstrap,) = [r for r in run.resources if r.name.endswith("-bootstrap")]
    script = bootstrap.inputs["create"]
    replica = int(re.search(r"^REPLICA=(\d+)$", script, re.MULTILINE).group(1))
    volume = re.search(r"^VOLUME=(\S+)$", script, re.MULTILINE).group(1)
    create = re.search(r'^\s*gl volume create "\$VOLUME" replica "\$REPLICA" (.+)$', script, re.MULTILINE)
    brick_servers = tuple(brick.split(":", 1)[0] for brick in create.group(1).split())

    mounts = []
    for r in run.by_type(CONTAINER):
        env = _env(r)
        if "GLUSTER_MOUNT_SOURCE" not in env:
            continue
        primary, _, mounted_volume = env["GLUSTER_MOUNT_SOURCE"].partition(":/")
        option = dict(o.split("=", 1) for o in env["GLUSTER_MOUNT_OPTIONS"].split(","))
        backups = tuple(s for s in option.get("backup-volfile-servers", "").split(":") if s)
        if r.inputs.get("networksAdvanced"):
            resolvable = frozenset(servers)  # the cluster's network: every server alias resolves
        else:
            resolvable = frozenset(h["host"] for h in r.inputs.get("hosts", []))
        mounts.append(Mount(r.name, mounted_volume, (primary, *backups), resolvable))
    return StoragePlan(frozenset(servers), volume, replica, brick_servers, tuple(mounts))


def after_losing(plan: StoragePlan, lost: set[str]) -> Verdict:
    live = plan.servers - lost
    broken = tuple(
        m.container for m in plan.mounts if not [s for s in m.volfile_servers if s in live and s in m.resolvable]
    )
    return Verdict(sum(1 for s in plan.brick_servers if s in live), broken)


def hosts(prefix: str, count: int) -> list[DockerHost]:
    offset = 10 if prefix == "g" else 0
    return [
        DockerHost(
            f"{prefix}{i}",
            DockerHostArgs(
                domain=FailureDomain("aws", "us-east-1", f"us-east-1{'abcdef'[i]}"),
                public_address=f"203.0.113.{offset + i + 1}",
                private_address=f"10.0.{offset}.{i + 1}",
                ssh=SshSettings(),
            ),
        )
        for i in range(count)
    ]


def planned(servers: int, games: int) -> StoragePlan:
    def program() -> None:
        cluster = GlusterCluster("storage", GlusterClusterArgs(hosts=hosts("s", servers)))
        AsteroidsGame("game", AsteroidsGameArgs(hosts=hosts("g", games), gluster=cluster))

    return storage_plan(run_program(program))


@pytest.mark.parametrize(("servers", "games"), [(2, 1), (2, 2), (3, 1), (3, 2)])
def test_the_game_survives_the_loss_of_any_one_server(servers, games):
    plan = planned(servers, games)
    assert len(plan.servers) == servers and plan.replica == servers
    assert sorted(plan.brick_servers) == sorted(plan.servers), "one brick on every server"
    assert len(plan.mounts) == games and {m.volume for m in plan.mounts} == {plan.volume}
    for mount in plan.mounts:
        assert set(mount.volfile_servers) == plan.servers, "the mount can use every server"
    assert after_losing(plan, set()) == Verdict(servers, ())
    for lost in plan.servers:
        verdict = after_losing(plan, {lost})
        assert verdict.served, (lost, verdict)
        assert verdict.replicas_left == plan.replica - 1 >= 1


def test_with_three_servers_the_game_survives_any_two_losses():
    plan = planned(3, 2)
    for lost in itertools.combinations(sorted(plan.servers), 2):
        assert after_losing(plan, set(lost)).served, lost


@pytest.mark.parametrize("servers", [2, 3])
def test_losing_every_server_is_an_outage(servers):
    plan = planned(servers, 2)
    verdict = after_losing(plan, set(plan.servers))
    assert not verdict.served
    assert verdict.replicas_left == 0
    assert sorted(verdict.mounts_without_volfile_server) == ["game-g0-volume", "game-g1-volume"]


def test_a_mount_without_backup_volfile_servers_is_caught():
    plan = planned(3, 2)
    first = plan.mounts[0]
    single = Mount(first.container, first.volume, first.volfile_servers[:1], first.resolvable)
    broken = StoragePlan(plan.servers, plan.volume, plan.replica, plan.brick_servers, (single, *plan.mounts[1:]))
    verdict = after_losing(broken, {single.volfile_servers[0]})
    assert not verdict.served and verdict.mounts_without_volfile_server == (single.container,)
    assert verdict.replicas_left == 2, "the data is still there; the game just cannot mount it"


def test_a_mount_that_cannot_resolve_its_backups_is_caught():
    plan = planned(2, 1)
    (mount,) = plan.mounts
    blind = Mount(mount.container, mount.volume, mount.volfile_servers, frozenset(mount.volfile_servers[:1]))
    broken = StoragePlan(plan.servers, plan.volume, plan.replica, plan.brick_servers, (blind,))
    assert not after_losing(broken, {mount.volfile_servers[0]}).served


def test_a_single_replica_volume_is_an_outage_on_its_first_loss():
    plan = planned(2, 1)
    single = StoragePlan(plan.servers, plan.volume, 1, plan.brick_servers[:1], plan.mounts)
    assert not after_losing(single, {plan.brick_servers[0]}).served


def test_the_plan_is_read_from_registrations_not_from_python_objects():
    """A plan whose mount options are rewritten in the recorded inputs reads differently."""

    def program() -> None:
        cluster = GlusterCluster("storage", GlusterClusterArgs(hosts=hosts("s", 2)))
        AsteroidsGame("game", AsteroidsGameArgs(hosts=hosts("g", 1), gluster=cluster))
        pulumi.export("done", True)

    run = run_program(program)
    game = run.by_name("game-g0-volume")  # the container that mounts the volume for the game host
    game.inputs["envs"] = [
        "GLUSTER_MOUNT_OPTIONS=backup-volfile-servers=" if e.startswith("GLUSTER_MOUNT_OPTIONS=") else e
        for e in game.inputs["envs"]
    ]
    plan = storage_plan(run)
    (mount,) = plan.mounts
    assert mount.volfile_servers == ("gluster-s0",)
    assert not after_losing(plan, {"gluster-s0"}).served
