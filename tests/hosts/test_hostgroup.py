"""HostGroup across clouds, the cloud-base factory, and config errors that stop a stack early."""

from __future__ import annotations

import copy
from typing import Any

import pulumi
import pytest
from host_runs import (
    BASE_RAW,
    SG_RULE,
    assert_parents_reach_components,
    run,
    stack_config,
    world_exposures,
)

from rancher_stacks.clouds.base import assign_zones
from rancher_stacks.clouds.registry import clouds_in_use, make_cloud_bases
from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.hostgroup import HostGroup, HostGroupArgs
from rancher_stacks.naming import sanitized_name
from rancher_stacks.net.rules import WORLD, FromGroup, FromSelf, Rule
from tools.mockengine import ProgramRun

CLOUD_PACKAGES = {"aws": "aws", "gcp": "gcp", "digitalocean": "digitalocean"}
SEEN: dict[str, Any] = {}


@pytest.fixture(scope="module")
def stack_run() -> ProgramRun:
    """The three-cloud shape of seed 2: LB and web app on DigitalOcean, Mongo on GCP, Gluster on AWS."""
    cfg = stack_config()

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        SEEN["bases"] = sorted(bases)
        web = HostGroup("webapp", HostGroupArgs(base=bases["digitalocean"], count=2, ingress=[Rule("http", WORLD)]))
        db = HostGroup(
            "database",
            HostGroupArgs(
                base=bases["gcp"],
                count=3,
                data_volume_gb=20,
                ingress=[Rule("mongodb", FromSelf()), Rule("mongodb", FromGroup(web.peer))],
            ),
        )
        storage = HostGroup(
            "storage",
            HostGroupArgs(
                base=bases["aws"],
                count=3,
                size="t3.large",
                data_volume_gb=50,
                ingress=[Rule("gluster", FromSelf()), Rule("gluster", FromGroup(db.peer))],
                admin_cidrs=["192.0.2.0/28"],
            ),
        )
        SEEN["groups"] = {"webapp": web, "database": db, "storage": storage}

    return run(program)


def test_bases_only_for_clouds_in_use() -> None:
    cfg = stack_config(workloads={"storage": {"cloud": "gcp", "servers": 2}})
    assert clouds_in_use(cfg) == ["gcp"]

    def program() -> None:
        assert sorted(make_cloud_bases(cfg, SshSettings())) == ["gcp"]

    only_gcp = run(program)
    assert [r.type for r in only_gcp.resources if r.type.startswith("pulumi:providers:")] == ["pulumi:providers:gcp"]
    assert only_gcp.by_type("rancher-stacks:index:AwsBase") == []


def test_every_cloud_resource_uses_its_bases_explicit_provider(stack_run: ProgramRun) -> None:
    assert SEEN["bases"] == ["aws", "digitalocean", "gcp"]
    providers = {
        pkg: [r.urn for r in stack_run.by_type(f"pulumi:providers:{pkg}")] for pkg in CLOUD_PACKAGES.values()
    }
    assert all(len(urns) == 1 for urns in providers.values()), providers
    for r in stack_run.resources:
        pkg = r.type.split(":", 1)[0]
        if r.custom and pkg in providers:
            assert r.provider_urn == providers[pkg][0], (r.type, r.name, r.provider)
    assert_parents_reach_components(stack_run)


def test_zones_spread_by_ordinal_and_group_props(stack_run: ProgramRun) -> None:
    groups = {r.name: r for r in stack_run.by_type("rancher-stacks:index:HostGroup")}
    assert sorted(groups) == ["database", "storage", "webapp"]
    storage = SEEN["groups"]["storage"]
    assert storage.zones == ["us-east-1a", "us-east-1b", "us-east-1a"]
    assert [str(h.domain) for h in storage.hosts] == [
        "aws/us-east-1/us-east-1a",
        "aws/us-east-1/us-east-1b",
        "aws/us-east-1/us-east-1a",
    ]
    instances = sorted(stack_run.by_type("aws:ec2/instance:Instance"), key=lambda r: r.name)
    assert [i.inputs["availabilityZone"] for i in instances] == ["us-east-1a", "us-east-1b", "us-east-1a"]
    assert {i.inputs["instanceType"] for i in instances} == {"t3.large"}
    db = SEEN["groups"]["database"]
    assert db.zones == ["us-central1-a", "us-central1-b", "us-central1-a"]
    assert SEEN["groups"]["webapp"].zones == ["nyc3", "nyc3"]


def test_peer_groups_carry_the_native_handles_and_counts(stack_run: ProgramRun) -> None:
    web, db, storage = (SEEN["groups"][n].peer for n in ("webapp", "database", "storage"))
    assert (web.cloud, web.count, web.routable) == ("digitalocean", 2, True)
    assert isinstance(web.handle, pulumi.Output)  # the DigitalOcean tag's name
    assert (db.cloud, db.count, db.handle) == ("gcp", 3, "rs-test-database")  # the network tag
    assert (storage.cloud, storage.count) == ("aws", 3)
    assert isinstance(storage.handle, pulumi.Output)  # the security group id


def test_cross_cloud_sources_are_the_peer_public_ips(stack_run: ProgramRun) -> None:
    from tools.mock_outputs import public_ip

    gce = sorted(f"{public_ip(r.name)}/32" for r in stack_run.by_type("gcp:compute/address:Address"))
    from_db = [r for r in stack_run.by_type(SG_RULE) if r.name.startswith("storage-fw-gluster-database-")]
    assert len(from_db) == 2 * 3  # two port ranges x three Mongo members, no SG reference
    assert all("referencedSecurityGroupId" not in r.inputs for r in from_db)
    for first in (24007, 49152):
        assert sorted(r.inputs["cidrIpv4"] for r in from_db if r.inputs["fromPort"] == first) == gce


def test_admin_cidrs_override_and_nothing_admin_is_public(stack_run: ProgramRun) -> None:
    ssh = [r for r in stack_run.by_type(SG_RULE) if r.inputs["fromPort"] == 22]
    assert [r.inputs.get("cidrIpv4") for r in ssh] == ["192.0.2.0/28"]
    assert world_exposures(stack_run) == []


def test_stateful_volumes_are_protected_and_retained(stack_run: ProgramRun) -> None:
    volumes = [
        r
        for r in stack_run.resources
        if r.type in ("aws:ebs/volume:Volume", "gcp:compute/disk:Disk", "digitalocean:index/volume:Volume")
    ]
    assert len(volumes) == 6
    assert all(v.protect and v.retain_on_delete for v in volumes)
    dvs = stack_run.by_type("rancher-stacks:index:DataVolume")
    assert len(dvs) == 6


def test_component_props_are_visible_to_policies(stack_run: ProgramRun) -> None:
    groups = {r.name: r.inputs for r in stack_run.by_type("rancher-stacks:index:HostGroup")}
    assert groups["storage"] == {
        "cloud": "aws",
        "region": "us-east-1",
        "count": 3,
        "size": "t3.large",
        "zones": ["us-east-1a", "us-east-1b", "us-east-1a"],
        "dataVolumeGb": 50,
        "services": ["gluster"],
    }
    assert groups["webapp"]["cloud"] == "digitalocean" and "dataVolumeGb" not in groups["webapp"]
    volumes = [r.inputs for r in stack_run.by_type("rancher-stacks:index:DataVolume")]
    assert {(v["cloud"], v["sizeGb"], v["encrypted"], v["retainOnDelete"]) for v in volumes} == {
        ("gcp", 20, True, True),
        ("aws", 50, True, True),
    }
    firewalls = {r.name: r.inputs for r in stack_run.by_type("rancher-stacks:index:Firewall")}
    assert firewalls["database-fw"]["services"] == ["ssh", "mongodb", "mongodb"]
    assert firewalls["storage-fw"]["adminCidrs"] == ["192.0.2.0/28"]


def test_count_must_be_positive() -> None:
    cfg = stack_config()

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroup("g", HostGroupArgs(base=bases["aws"], count=0))

    with pytest.raises(ValueError, match="count must be at least 1"):
        run(program)


def test_helpers() -> None:
    assert assign_zones(["a", "b"], 5) == ["a", "b", "a", "b", "a"]
    # Only the set of zones counts: order and repeats move no host.
    assert assign_zones(["b", "a", "b"], 5) == assign_zones(["a", "b"], 5)
    # More hosts never move the first ones; spread stays even.
    for zones in (["x"], ["c", "a", "b"], ["d", "a", "c", "b"]):
        for count in range(1, 9):
            placed = assign_zones(zones, count)
            assert placed == assign_zones(zones, count + 3)[:count]
            loads = [placed.count(z) for z in set(zones)]
            assert max(loads) - min(loads) <= 1
    with pytest.raises(ValueError):
        assign_zones([], 1)
    assert sanitized_name("rs", "Dev.Stack", "web_app") == "rs-dev-stack-web-app"
    assert sanitized_name("9lives") == "rs-9lives"
    assert len(sanitized_name("x" * 100)) == 63


def _raw(**changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(BASE_RAW)
    raw["workloads"] = {"storage": {"cloud": "aws", "servers": 2}}
    for path, value in changes.items():
        node = raw
        keys = path.split("__")
        for key in keys[:-1]:
            node = node[key]
        if value is None:
            node.pop(keys[-1])
        else:
            node[keys[-1]] = value
    return raw


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        (_raw(workloads__storage__cloud="azure"), "rancher-stacks:workloads.storage.cloud"),
        (_raw(workloads__storage__servers=0), "rancher-stacks:workloads.storage.servers"),
        (_raw(adminCidrs=["10.0.0.300/24"]), "rancher-stacks:adminCidrs[0]"),
        (_raw(adminCidrs=["0.0.0.0/0"]), "rancher-stacks:adminCidrs[0]"),
        (_raw(sshPublicKey=None), "rancher-stacks:sshPublicKey"),
        (_raw(clouds__aws__zones=["us-west-2a"]), "rancher-stacks:clouds.aws.zones[0]"),
        (_raw(clouds__gcp__zones=["europe-west1-b"]), "rancher-stacks:clouds.gcp.zones[0]"),
        (_raw(clouds__aws=None), "rancher-stacks:workloads.storage.cloud"),
    ],
)
def test_bad_config_names_the_key(raw: dict[str, Any], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_stack_config(raw)
    assert str(info.value).startswith(f"{key}: expected"), str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Web_App"}, "hostname 'Web_App-0'"),
        ({"sysctl": {"vm.max_map_count": ""}}, "sysctl"),
    ],
)
def test_bad_group_settings_fail_before_any_resource(kwargs: dict[str, Any], message: str) -> None:
    cfg = stack_config()

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroup(kwargs.get("name", "g"), HostGroupArgs(base=bases["aws"], count=2, sysctl=kwargs.get("sysctl", {})))

    with pytest.raises(ValueError, match=message):
        run(program)
