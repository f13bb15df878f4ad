"""A 2-host GCP group with data disks, admitting a DigitalOcean group, under the mock engine."""

from __future__ import annotations

import json

import pytest
import yaml
from host_runs import (
    ADMIN_V4,
    ADMIN_V6,
    GCP_FW,
    IMAGES,
    SSH_KEY,
    assert_parents_reach_components,
    one,
    provider_urn,
    run,
    stack_config,
    world_exposures,
)

from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.hostgroup import HostGroup, HostGroupArgs
from rancher_stacks.net.rules import FromGroup, FromSelf, Rule
from tools.mock_outputs import public_ip
from tools.mockengine import ProgramRun

INSTANCE = "gcp:compute/instance:Instance"
DISK = "gcp:compute/disk:Disk"
ATTACHED = "gcp:compute/attachedDisk:AttachedDisk"
DROPLET = "digitalocean:index/droplet:Droplet"


@pytest.fixture(scope="module")
def gcp_run() -> ProgramRun:
    cfg = stack_config(
        workloads={
            "database": {"cloud": "gcp", "members": 3},
            "webapp": {"cloud": "digitalocean", "replicas": 2},
        }
    )

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        web = HostGroup("webapp", HostGroupArgs(base=bases["digitalocean"], count=2))
        HostGroup(
            "database",
            HostGroupArgs(
                base=bases["gcp"],
                count=2,
                data_volume_gb=30,
                ingress=[Rule("mongodb", FromSelf()), Rule("mongodb", FromGroup(web.peer))],
            ),
        )

    return run(program)


def _gcp_custom(program_run: ProgramRun) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in program_run.resources:
        if r.custom and (r.type.startswith("gcp:") or r.type == "pulumi:providers:gcp"):
            counts[r.type] = counts.get(r.type, 0) + 1
    return counts


def test_resource_counts_of_a_two_host_group(gcp_run: ProgramRun) -> None:
    assert _gcp_custom(gcp_run) == {
        "pulumi:providers:gcp": 1,
        "gcp:compute/image:Image": 1,
        "gcp:compute/network:Network": 1,
        "gcp:compute/address:Address": 2,  # static addresses for the members
        "gcp:compute/subnetwork:Subnetwork": 1,
        GCP_FW: 2 + 2,  # ssh v4 + v6; mongodb from self; mongodb from the DigitalOcean group
        INSTANCE: 2,
        DISK: 2,
        ATTACHED: 2,
        # backups (on by default): one snapshot schedule, attached to each data disk
        "gcp:compute/resourcePolicy:ResourcePolicy": 1,
        "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment": 2,
    }


def test_every_data_disk_is_attached_to_the_regional_snapshot_schedule(gcp_run: ProgramRun) -> None:
    (policy,) = gcp_run.by_type("gcp:compute/resourcePolicy:ResourcePolicy")
    snapshot = policy.inputs["snapshotSchedulePolicy"]
    assert policy.inputs["region"] == "us-central1"
    assert snapshot["schedule"] == {"dailySchedule": {"daysInCycle": 1, "startTime": "04:00"}}
    assert snapshot["retentionPolicy"] == {"maxRetentionDays": 7, "onSourceDiskDelete": "KEEP_AUTO_SNAPSHOTS"}
    disks = {d.urn: d for d in gcp_run.by_type(DISK)}
    attachments = gcp_run.by_type("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment")
    attached = {urn for a in attachments for urn in a.dependencies if urn in disks}
    assert attached == set(disks)
    for a in attachments:
        (disk,) = [disks[u] for u in a.dependencies if u in disks]
        # The mocks name a GCP resource after its Pulumi name (tools.mock_outputs._gcp_self_link).
        assert a.inputs["disk"] == disk.name and a.inputs["zone"] == disk.inputs["zone"]
        assert a.inputs["name"] == policy.name and policy.urn in a.dependencies
    # The disk itself is untouched: its resourcePolicies input would force a new (empty) disk.
    assert all("resourcePolicies" not in d.inputs for d in disks.values())


NETWORK = "https://www.googleapis.com/compute/v1/projects/mock-project/global/networks/gcp-network"
SUBNET = "https://www.googleapis.com/compute/v1/projects/mock-project/regions/us-central1/subnetworks/gcp-subnet"


def test_hosts_live_in_the_stacks_own_network_never_the_default_one(gcp_run: ProgramRun) -> None:
    """GCP's default network admits SSH and RDP from anywhere through rules this program did not
    write; a custom-mode network the program creates has no ingress rule but ours."""
    (network,) = gcp_run.by_type("gcp:compute/network:Network")
    assert network.inputs["autoCreateSubnetworks"] is False and network.inputs["mtu"] == 1460
    (subnet,) = gcp_run.by_type("gcp:compute/subnetwork:Subnetwork")
    assert subnet.inputs["ipCidrRange"] == "10.40.0.0/20" and subnet.inputs["region"] == "us-central1"
    assert subnet.inputs["network"] == network.id
    for fw in gcp_run.by_type(GCP_FW):
        assert fw.inputs["network"] == NETWORK
    assert "default" not in json.dumps([r.inputs for r in gcp_run.resources if r.type.startswith("gcp:")])


def test_image_is_imported_from_the_tarball_the_stack_names(gcp_run: ProgramRun) -> None:
    (image,) = gcp_run.by_type("gcp:compute/image:Image")
    assert image.inputs["rawDisk"] == {"source": IMAGES["gcp"]["imageUrl"]}
    assert image.inputs["family"] == "burmillaos"
    (provider,) = gcp_run.by_type("pulumi:providers:gcp")
    assert provider.inputs["project"] == "rancher-stacks-test" and provider.inputs["region"] == "us-central1"


def test_instances_image_metadata_tag_public_ip_and_zone_spread(gcp_run: ProgramRun) -> None:
    (image,) = gcp_run.by_type("gcp:compute/image:Image")
    instances = sorted(gcp_run.by_type(INSTANCE), key=lambda r: r.name)
    assert [r.inputs["zone"] for r in instances] == ["us-central1-a", "us-central1-b"]
    for i, inst in enumerate(instances):
        x = inst.inputs
        assert x["machineType"] == "e2-medium"
        assert x["bootDisk"]["initializeParams"]["image"] == f"https://www.googleapis.com/compute/v1/{image.id}"
        assert x["bootDisk"]["initializeParams"]["size"] == 20
        assert x["tags"] == ["rs-test-database"]
        address = one(gcp_run, "gcp:compute/address:Address", inst.name.replace("-instance", "-ip"))
        assert address.inputs["addressType"] == "EXTERNAL" and address.inputs["region"] == "us-central1"
        nat = public_ip(address.name)  # a static address: a stop (machine type change) keeps it
        assert x["networkInterfaces"] == [
            {"network": NETWORK, "subnetwork": SUBNET, "accessConfigs": [{"natIp": nat}]}
        ]
        assert x["metadata"]["block-project-ssh-keys"] == "true"
        doc = yaml.safe_load(x["metadata"]["user-data"])
        assert x["metadata"]["user-data"].startswith("#cloud-config\n")
        assert doc["hostname"] == f"database-{i}"
        assert doc["ssh_authorized_keys"] == [SSH_KEY]
        assert doc["rancher"]["docker"]["extra_args"] == ["--mtu", "1460"]
        assert doc["mounts"] == [["/dev/disk/by-id/scsi-0Google_PersistentDisk_data", "/mnt/data", "ext4", "noatime"]]
        assert inst.provider_urn == provider_urn(gcp_run, "gcp")


def test_data_disks_protected_retained_and_attached_with_a_fixed_device_name(gcp_run: ProgramRun) -> None:
    for i, zone in enumerate(("us-central1-a", "us-central1-b")):
        disk = one(gcp_run, DISK, f"database-{i}-data-disk")
        inst = one(gcp_run, INSTANCE, f"database-{i}-vm-instance")
        att = one(gcp_run, ATTACHED, f"database-{i}-data-attachment")
        assert disk.inputs["zone"] == zone and disk.inputs["size"] == 30 and disk.inputs["type"] == "pd-balanced"
        assert disk.protect is True and disk.retain_on_delete is True
        assert att.inputs == {"disk": disk.id, "instance": inst.id, "zone": zone, "deviceName": "data"}
        wait = one(gcp_run, "command:remote:Command", f"database-{i}-wait-docker")
        assert att.urn in wait.dependencies and inst.urn in wait.dependencies
    (dv,) = [r for r in gcp_run.by_type("rancher-stacks:index:DataVolume") if r.name == "database-0-data"]
    assert dv.custom is False


def test_cross_cloud_peer_is_exactly_the_droplets_public_ips(gcp_run: ProgramRun) -> None:
    droplets = gcp_run.by_type(DROPLET)
    assert len(droplets) == 2
    expected = sorted(f"{public_ip(d.name)}/32" for d in droplets)
    fw = one(gcp_run, GCP_FW, "database-fw-mongodb-webapp")
    assert sorted(fw.inputs["sourceRanges"]) == expected
    assert "sourceTags" not in fw.inputs
    assert fw.inputs["targetTags"] == ["rs-test-database"]
    assert all(d.urn in fw.dependencies for d in droplets)


def test_self_rule_uses_tag_and_own_ips(gcp_run: ProgramRun) -> None:
    instances = gcp_run.by_type(INSTANCE)
    fw = one(gcp_run, GCP_FW, "database-fw-mongodb-self")
    assert fw.inputs["sourceTags"] == ["rs-test-database"]
    assert sorted(fw.inputs["sourceRanges"]) == sorted(f"{public_ip(i.name.replace('-instance', '-ip'))}/32" for i in instances)


def test_ssh_only_from_admin_cidrs_and_nothing_admin_open_to_the_world(gcp_run: ProgramRun) -> None:
    ssh = [r for r in gcp_run.by_type(GCP_FW) if any("22" in a.get("ports", []) for a in r.inputs["allows"])]
    assert sorted(tuple(r.inputs["sourceRanges"]) for r in ssh) == [(ADMIN_V4,), (ADMIN_V6,)]
    assert world_exposures(gcp_run) == []
    assert_parents_reach_components(gcp_run)


def test_rancheros_is_imported_from_its_public_release_bucket() -> None:
    cfg = stack_config(hostOs={"name": "rancheros"}, workloads={"database": {"cloud": "gcp", "image": "mongo:6.0"}})

    def program() -> None:
        make_cloud_bases(cfg, SshSettings())

    (image,) = run(program).by_type("gcp:compute/image:Image")
    assert image.inputs["rawDisk"] == {
        "source": "https://storage.googleapis.com/releases.rancher.com/os/v1.5.8/rancheros-gce.tar.gz"
    }
    assert image.inputs["family"] == "rancheros"
