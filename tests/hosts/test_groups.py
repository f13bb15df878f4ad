"""``HostGroups``: groups declared by name, built in any order, and rule names that survive change.

The plans compared here are the canonical plans the CLI writes (``tools.planfile``), compared with
the PR diff (``tools.diff``), so "no rule renamed" is judged exactly as a reviewer would see it.
"""

from __future__ import annotations

from typing import Any, Sequence

import pytest
from host_runs import run, stack_config

from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.groups import GroupDecl, HostGroups, Peers
from rancher_stacks.net.rules import WORLD, FromSelf, Rule
from rancher_stacks.workloads.gluster.cluster import server_ingress
from rancher_stacks.workloads.mongo.replicaset import member_ingress
from tools.diff import diff_plans, render_markdown
from tools.planfile import build_plan

SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GCP_FW = "gcp:compute/firewall:Firewall"


def plan_of(decls: Sequence[GroupDecl]) -> dict[str, Any]:
    cfg = stack_config()

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroups(bases, admin_cidrs=cfg.admin_cidrs, protect_stateful=True).build(decls)

    return build_plan(run(program))


def storage(*clients: str) -> GroupDecl:
    """Gluster servers on AWS admitting ``clients`` by name."""
    return GroupDecl("storage", "aws", 2, data_volume_gb=10, ingress=lambda peers: server_ingress(peers.present(*clients)))


def database(*clients: str) -> GroupDecl:
    """Mongo members on GCP admitting ``clients`` by name."""
    return GroupDecl("database", "gcp", 3, data_volume_gb=10, ingress=lambda peers: member_ingress(peers.present(*clients)))


GAME = GroupDecl("game", "aws", 1, ingress=lambda _: [Rule("http", WORLD, tcp_port=80)])
WEB = GroupDecl("webapp", "digitalocean", 2)
TOOLS = GroupDecl("tools", "aws", 1)
REPORTS = GroupDecl("reports", "digitalocean", 1)


def test_build_order_does_not_matter() -> None:
    """Servers before or after the clients they admit: the same plan, byte for byte."""
    forward = plan_of([GAME, storage("game"), WEB, database("webapp")])
    backward = plan_of([database("webapp"), storage("game"), WEB, GAME])
    assert diff_plans(forward, backward).empty
    names = {r["name"] for r in forward["resources"] if r["type"] == SG_RULE}
    # The server group admits its client's security group and the client host's address.
    assert {"storage-fw-gluster-game-tcp24007-sg", "storage-fw-gluster-game-tcp24007-host0"} <= names


def test_a_peer_built_later_is_still_a_dependency_of_the_rules_that_admit_it() -> None:
    plan = plan_of([storage("game"), GAME])
    by_name = {r["name"]: r for r in plan["resources"]}
    game_sg = next(r["urn"] for r in plan["resources"] if r["name"] == "game-fw-sg")
    game_vm = next(r["urn"] for r in plan["resources"] if r["name"] == "game-0-vm-ip-association")
    assert game_sg in by_name["storage-fw-gluster-game-tcp24007-sg"]["dependencies"]
    assert game_vm in by_name["storage-fw-gluster-game-tcp24007-host0"]["dependencies"]


def test_admitting_one_more_client_group_renames_no_rule() -> None:
    """A new client adds its own rules; every existing rule keeps its name and inputs (a rename
    would be a delete and re-create, which AWS refuses while the old identical rule exists)."""
    before = plan_of([GAME, storage("game"), WEB, database("webapp")])
    after = plan_of([TOOLS, GAME, storage("tools", "game"), WEB, REPORTS, database("reports", "webapp")])
    change = diff_plans(before, after)
    assert change.removed == []
    # Only the firewall components' summary props (rule count, services) change; no cloud resource.
    assert {(r["name"], r["custom"]) for r, _ in change.changed} == {("storage-fw", False), ("database-fw", False)}
    added = {(r["type"], r["name"]) for r in change.added}
    assert (SG_RULE, "storage-fw-gluster-tools-tcp24007-sg") in added
    assert (GCP_FW, "database-fw-mongodb-reports") in added
    assert f"**{len(change.added)} to add, 0 to remove, 2 to change (0 by replacement)**" in render_markdown(change)


def test_two_rules_with_one_key_are_refused() -> None:
    twice = GroupDecl("game", "aws", 1, ingress=lambda _: [Rule("gluster", FromSelf()), Rule("gluster", FromSelf())])
    with pytest.raises(ValueError, match="two rules for 'gluster' from 'self'"):
        plan_of([twice])


def test_undeclared_clients_are_skipped_and_unknown_names_are_named() -> None:
    peers = Peers({})
    assert peers.present("game") == [] and peers.get("game") is None
    with pytest.raises(KeyError, match="no host group 'game' is declared; declared: none"):
        peers["game"]


def test_a_group_that_fails_to_build_fails_the_program_instead_of_hanging() -> None:
    """The database admits a group whose build raises: its deferred peer outputs are failed, so the
    program ends with the original error rather than waiting forever."""
    broken = GroupDecl("webapp", "digitalocean", 0)
    with pytest.raises(ValueError, match="count must be at least 1"):
        plan_of([database("webapp"), broken])


def test_group_names_are_unique_and_need_a_cloud_base() -> None:
    with pytest.raises(ValueError, match="declared twice: game"):
        plan_of([GAME, GAME])
    with pytest.raises(ValueError, match="no cloud base for 'local'"):
        plan_of([GroupDecl("x", "local", 1)])
