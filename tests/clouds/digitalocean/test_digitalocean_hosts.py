"""A 2-host DigitalOcean group with volumes, under the mock engine."""

from __future__ import annotations

import asyncio
import gc
import subprocess
from typing import Any

import pytest
import yaml
from host_runs import (
    ADMIN_V4,
    ADMIN_V6,
    DO_FW,
    IMAGES,
    SSH_KEY,
    assert_parents_reach_components,
    one,
    provider_urn,
    run,
    stack_config,
    world_exposures,
)

from rancher_stacks.clouds.digitalocean.base import DigitalOceanBase, md5_fingerprint
from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.config import ConfigError
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.hostgroup import HostGroup, HostGroupArgs
from rancher_stacks.net.rules import WORLD, FromSelf, Rule
from tools.mock_outputs import INVOKE_RESULTS, public_ip
from tools.mockengine import ProgramRun

DROPLET = "digitalocean:index/droplet:Droplet"
VOLUME = "digitalocean:index/volume:Volume"
ATTACHMENT = "digitalocean:index/volumeAttachment:VolumeAttachment"
RESERVED_IP = "digitalocean:index/reservedIp:ReservedIp"
ASSIGNMENT = "digitalocean:index/reservedIpAssignment:ReservedIpAssignment"
DO_ONLY = {"storage": {"cloud": "digitalocean", "servers": 2}}
# DigitalOcean cannot schedule volume snapshots, so a stack with data volumes there must opt out of
# backups explicitly (the config check refuses it otherwise; see the backup tests below).
NO_BACKUPS = {"enabled": False}


def _program(
    image: str = "custom", size: str | None = None, host_os: str = "burmillaos", **do_settings: Any
) -> ProgramRun:
    cfg = stack_config(
        workloads=DO_ONLY,
        backups=NO_BACKUPS,
        hostOs={"name": host_os},
        clouds={"digitalocean": {"region": "nyc3", "image": image, **do_settings}},
    )

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroup(
            "storage",
            HostGroupArgs(
                base=bases["digitalocean"],
                count=2,
                size=size,
                data_volume_gb=20,
                ingress=[Rule("gluster", FromSelf()), Rule("http", WORLD)],
            ),
        )

    return run(program)


@pytest.fixture(scope="module")
def do_run() -> ProgramRun:
    return _program()


def test_resource_counts_of_a_two_host_group(do_run: ProgramRun) -> None:
    counts: dict[str, Any] = {}
    for r in do_run.resources:
        if r.custom and "digitalocean" in r.type:
            counts[r.type] = counts.get(r.type, 0) + 1
    assert counts == {
        "pulumi:providers:digitalocean": 1,
        "digitalocean:index/sshKey:SshKey": 1,
        "digitalocean:index/customImage:CustomImage": 1,
        "digitalocean:index/tag:Tag": 1,
        DO_FW: 1,
        DROPLET: 2,
        VOLUME: 2,
        ATTACHMENT: 2,
        RESERVED_IP: 2,
        ASSIGNMENT: 2,
    }


def test_each_droplet_is_reached_at_its_own_reserved_ip(do_run: ProgramRun) -> None:
    for i in (0, 1):
        droplet = one(do_run, DROPLET, f"storage-{i}-vm-droplet")
        address = one(do_run, RESERVED_IP, f"storage-{i}-vm-ip")
        assignment = one(do_run, ASSIGNMENT, f"storage-{i}-vm-ip-assignment")
        reserved = public_ip(address.name)  # the mock's ipAddress of the reserved IP
        assert reserved != public_ip(droplet.name)  # the droplet's own ipv4Address
        # In the host's region, and assigned by its own resource only (never also via dropletId).
        assert address.inputs == {"region": "nyc3"}
        assert assignment.inputs == {"ipAddress": reserved, "dropletId": int(droplet.id)}
        # Create-before-delete on purpose: the new assignment moves the address (see host.py).
        assert not assignment.delete_before_replace
        assert address.parent == droplet.parent == assignment.parent
        # Pulumi's SSH and everything a workload advertises use the reserved IP, once assigned.
        docker = one(do_run, "pulumi:providers:docker", f"storage-{i}-docker")
        assert docker.inputs["host"] == f"ssh://rancher@{reserved}:22"
        assert assignment.urn in docker.dependencies


def test_without_reserved_ips_droplets_are_reached_at_their_own_address() -> None:
    plain = _program(reservedIps=False)
    assert plain.by_type(RESERVED_IP) == [] and plain.by_type(ASSIGNMENT) == []
    docker = one(plain, "pulumi:providers:docker", "storage-0-docker")
    assert docker.inputs["host"] == f"ssh://rancher@{public_ip('storage-0-vm-droplet')}:22"


def test_custom_image_and_droplets(do_run: ProgramRun) -> None:
    (image,) = do_run.by_type("digitalocean:index/customImage:CustomImage")
    # BurmillaOS publishes no DigitalOcean image: the one the stack names is imported.
    assert image.inputs["url"] == IMAGES["digitalocean"]["customImageUrl"]
    assert image.inputs["regions"] == ["nyc3"] and image.inputs["distribution"] == "RancherOS"
    assert image.inputs["name"] == "burmillaos-v2-0-5-test"
    (key,) = do_run.by_type("digitalocean:index/sshKey:SshKey")
    assert key.inputs["publicKey"] == SSH_KEY
    droplets = sorted(do_run.by_type(DROPLET), key=lambda r: r.name)
    for i, droplet in enumerate(droplets):
        d = droplet.inputs
        assert d["image"] == image.id
        assert d["size"] == "s-2vcpu-4gb" and d["region"] == "nyc3"
        assert d["name"] == f"storage-{i}"
        assert len(d["sshKeys"]) == 1 and ":" in d["sshKeys"][0]  # the key's fingerprint
        assert d["tags"] == ["rs-test-storage"]
        doc = yaml.safe_load(d["userData"])
        assert d["userData"].startswith("#cloud-config\n")
        volume = one(do_run, VOLUME, f"storage-{i}-data-volume")
        assert doc["mounts"] == [
            [f"/dev/disk/by-id/scsi-0DO_Volume_{volume.inputs['name']}", "/mnt/data", "ext4", "noatime"]
        ]
        assert "extra_args" not in doc["rancher"]["docker"]
        assert doc["rancher"]["docker"]["engine"] == "docker-29.8.2"  # pinned, never "latest"
        assert droplet.provider_urn == provider_urn(do_run, "digitalocean")


def test_volumes_named_stack_unique_protected_retained_and_attached(do_run: ProgramRun) -> None:
    for i in (0, 1):
        volume = one(do_run, VOLUME, f"storage-{i}-data-volume")
        droplet = one(do_run, DROPLET, f"storage-{i}-vm-droplet")
        att = one(do_run, ATTACHMENT, f"storage-{i}-data-attachment")
        assert volume.inputs["name"] == f"rs-test-storage-{i}-data"
        assert volume.inputs["region"] == "nyc3" and volume.inputs["size"] == 20
        assert volume.protect is True and volume.retain_on_delete is True
        assert att.inputs == {"dropletId": int(droplet.id), "volumeId": volume.id}


def test_firewall_on_the_tag_self_rules_and_only_http_public(do_run: ProgramRun) -> None:
    (fw,) = do_run.by_type(DO_FW)
    assert fw.inputs["tags"] == ["rs-test-storage"]
    rules = {r["portRange"]: r for r in fw.inputs["inboundRules"]}
    assert rules["22"]["sourceAddresses"] == [ADMIN_V4, ADMIN_V6]
    expected = sorted(f"{public_ip(d.name)}/32" for d in do_run.by_type(DROPLET))
    for ports in ("24007-24008", "49152-49251"):
        assert rules[ports]["sourceTags"] == ["rs-test-storage"]
        assert sorted(rules[ports]["sourceAddresses"]) == expected
    assert rules["80"]["sourceAddresses"] == ["0.0.0.0/0", "::/0"]
    assert world_exposures(do_run) == []
    assert_parents_reach_components(do_run)


def test_rancheros_uses_its_release_image_or_the_slug() -> None:
    rancher = _program(host_os="rancheros")
    (image,) = rancher.by_type("digitalocean:index/customImage:CustomImage")
    assert image.inputs["url"] == "https://releases.rancher.com/os/v1.5.8/rancheros-digitalocean.img"
    assert "engine" not in yaml.safe_load(rancher.by_type(DROPLET)[0].inputs["userData"])["rancher"]["docker"]
    slug = _program(image="rancheros", host_os="rancheros")
    assert slug.by_type("digitalocean:index/customImage:CustomImage") == []
    assert {d.inputs["image"] for d in slug.by_type(DROPLET)} == {"rancheros"}
    with pytest.raises(ConfigError, match=r"clouds\.digitalocean\.image: expected 'custom'"):
        _program(image="rancheros")


def test_droplet_sizes_too_small_for_rancheros_are_refused_before_any_resource() -> None:
    cfg = stack_config(workloads=DO_ONLY, backups=NO_BACKUPS, clouds={"digitalocean": {"region": "nyc3"}})
    registered: list[str] = []

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        registered.append("bases")
        HostGroup("storage", HostGroupArgs(base=bases["digitalocean"], count=2, size="s-1vcpu-1gb"))

    with pytest.raises(ValueError, match="RancherOS needs at least 50 GB") as info:
        run(program)
    assert "While processing" not in str(info.value)  # raised before the group made anything
    assert registered == ["bases"]


def test_a_volume_on_digitalocean_is_refused_while_backups_are_on() -> None:
    """A program building its own groups bypasses the config check; the base still refuses."""
    cfg = stack_config()  # data volumes on AWS and GCP, the web app on DigitalOcean: valid
    assert cfg.backups.enabled

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroup("storage", HostGroupArgs(base=bases["digitalocean"], count=2, data_volume_gb=10))

    with pytest.raises(ValueError, match="DigitalOcean has no scheduled snapshots for block storage volumes"):
        run(program)
    collect_abandoned_futures()


def collect_abandoned_futures() -> None:
    """A failed program's abandoned futures: collect them now, quietly, not at interpreter exit."""
    loop = asyncio.get_event_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, _context: None)
    try:
        gc.collect()
    finally:
        loop.set_exception_handler(previous)


def test_a_failure_while_creating_hosts_fails_the_program_instead_of_hanging(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The firewall's self addresses and the volume attachments wait on deferred outputs."""

    def broken(self: DigitalOceanBase, name: str, spec: Any, opts: Any) -> Any:
        raise RuntimeError(f"cannot create {name}")

    monkeypatch.setattr(DigitalOceanBase, "new_host", broken)
    with pytest.raises(Exception, match="cannot create storage-0-vm"):
        _program()
    collect_abandoned_futures()


# --------------------------------------------------------------------------- the account's SSH key

SSH_KEYS = "digitalocean:index/getSshKeys:getSshKeys"
SSH_KEY_TYPE = "digitalocean:index/sshKey:SshKey"
FINGERPRINT = md5_fingerprint(SSH_KEY)


# A well-formed ed25519 key (the shipped stacks' placeholder): ssh-keygen parses the key blob.
WELL_FORMED = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoxUQlDyiffLLu/+UM15M3cGKfuMdznlM7IOGA+WOw1 someone@example"


def test_md5_fingerprint_is_what_ssh_keygen_prints(validator, tmp_path) -> None:
    keygen = validator("ssh-keygen", "openssh-client")
    path = tmp_path / "key.pub"
    path.write_text(WELL_FORMED + "\n")
    out = subprocess.run([keygen, "-E", "md5", "-lf", str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.split()[1] == "MD5:" + md5_fingerprint(WELL_FORMED)
    with pytest.raises(ValueError, match="sshPublicKey"):
        md5_fingerprint("ssh-ed25519 not*base64")


def test_a_fresh_account_gets_the_stack_key(do_run: ProgramRun) -> None:
    (key,) = do_run.by_type(SSH_KEY_TYPE)
    assert key.inputs["publicKey"] == SSH_KEY
    lookups = [args for token, args in do_run.invokes if token == SSH_KEYS]
    assert lookups == [{"filters": [{"key": "fingerprint", "values": [FINGERPRINT]}]}]
    for droplet in do_run.by_type(DROPLET):
        assert droplet.inputs["sshKeys"] == [public_key_fingerprint_of(do_run)]


def public_key_fingerprint_of(program_run: ProgramRun) -> str:
    (key,) = program_run.by_type(SSH_KEY_TYPE)
    return key.outputs.get("fingerprint") or program_run.by_type(DROPLET)[0].inputs["sshKeys"][0]


def test_a_key_another_stack_registered_is_reused(monkeypatch: pytest.MonkeyPatch) -> None:
    owned = {"sshKeys": [{"id": 7, "name": "rancher-stacks-prod", "fingerprint": FINGERPRINT, "publicKey": SSH_KEY}]}
    monkeypatch.setitem(INVOKE_RESULTS, SSH_KEYS, lambda args: {"id": "k", **owned})
    reused = _program()
    assert reused.by_type(SSH_KEY_TYPE) == []
    assert {tuple(d.inputs["sshKeys"]) for d in reused.by_type(DROPLET)} == {(FINGERPRINT,)}


def test_the_stack_own_key_from_an_earlier_run_stays_a_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    """Reusing it would drop the resource, and Pulumi would delete the key from the account."""
    own = {"sshKeys": [{"id": 7, "name": "rancher-stacks-test", "fingerprint": FINGERPRINT, "publicKey": SSH_KEY}]}
    monkeypatch.setitem(INVOKE_RESULTS, SSH_KEYS, lambda args: {"id": "k", **own})
    assert len(_program().by_type(SSH_KEY_TYPE)) == 1


def test_a_configured_fingerprint_is_used_without_lookup() -> None:
    other = "0f:" * 15 + "0f"
    pinned = _program(sshKeyFingerprint=other)
    assert pinned.by_type(SSH_KEY_TYPE) == []
    assert [t for t, _ in pinned.invokes if t == SSH_KEYS] == []
    assert {tuple(d.inputs["sshKeys"]) for d in pinned.by_type(DROPLET)} == {(other,)}
