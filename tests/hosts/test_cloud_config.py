"""The RancherOS cloud-config renderer: structure, accepted keys only, and a safe mount script."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from rancher_stacks.clouds.aws import volume as aws_volume
from rancher_stacks.clouds.digitalocean import volume as do_volume
from rancher_stacks.clouds.gcp import volume as gcp_volume
from rancher_stacks.hosts.render_cloud_config import (
    ACCEPTED_DOCKER_KEYS,
    ACCEPTED_RANCHER_KEYS,
    ACCEPTED_TOP_LEVEL_KEYS,
    ACCEPTED_WRITE_FILE_KEYS,
    MOUNT_SCRIPT_PATH,
    DataDisk,
    mount_script,
    render_cloud_config,
)

# Each cloud says where its volumes show up on a host (clouds/<cloud>/volume.py).
DATA_DISK = {"aws": aws_volume.data_disk, "gcp": gcp_volume.data_disk, "digitalocean": do_volume.data_disk}


def data_disk_for(cloud: str, volume_key: str) -> DataDisk:
    return DATA_DISK[cloud](volume_key)


KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbXexampleexampleexampleexample admin@example"
VOLUME_KEYS = {"aws": "vol-0123456789abcdef0", "gcp": "data", "digitalocean": "rs-test-storage-0-data"}
EXPECTED_DEVICE = {
    "aws": "/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0",
    "gcp": "/dev/disk/by-id/scsi-0Google_PersistentDisk_data",
    "digitalocean": "/dev/disk/by-id/scsi-0DO_Volume_rs-test-storage-0-data",
}


def render(cloud: str, *, volume: bool = True, **kwargs: Any) -> str:
    return render_cloud_config(
        hostname="storage-0",
        ssh_authorized_keys=[KEY],
        docker_mtu=1460 if cloud == "gcp" else None,
        sysctl={"vm.max_map_count": "262144"},
        data_disk=data_disk_for(cloud, VOLUME_KEYS[cloud]) if volume else None,
        **kwargs,
    )


def parsed(text: str) -> dict[str, Any]:
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


def walk_accepted(doc: dict[str, Any]) -> None:
    """Every key at every level is one RancherOS's schema has."""
    assert set(doc) <= ACCEPTED_TOP_LEVEL_KEYS, set(doc) - ACCEPTED_TOP_LEVEL_KEYS
    assert isinstance(doc["hostname"], str)
    assert all(isinstance(k, str) for k in doc["ssh_authorized_keys"])
    for entry in doc.get("write_files", []):
        assert set(entry) <= ACCEPTED_WRITE_FILE_KEYS, entry.keys()
        assert all(isinstance(v, str) for v in entry.values())
    for mount in doc.get("mounts", []):
        assert len(mount) == 4 and all(isinstance(f, str) for f in mount)
        assert mount[3] not in ("auto", "defaults") and mount[2] != "auto"
    for cmd in doc.get("runcmd", []) + doc.get("bootcmd", []):
        assert isinstance(cmd, str) or all(isinstance(c, str) for c in cmd)
    rancher = doc["rancher"]
    assert set(rancher) <= ACCEPTED_RANCHER_KEYS, set(rancher) - ACCEPTED_RANCHER_KEYS
    docker = rancher["docker"]
    assert set(docker) <= ACCEPTED_DOCKER_KEYS, set(docker) - ACCEPTED_DOCKER_KEYS
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in docker["log_opts"].items())
    assert all(isinstance(a, str) for a in docker.get("extra_args", []))
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in rancher.get("sysctl", {}).items())


@pytest.mark.parametrize("cloud", ["aws", "gcp", "digitalocean"])
@pytest.mark.parametrize("volume", [True, False])
def test_document_starts_with_cloud_config_and_uses_only_accepted_keys(cloud: str, volume: bool) -> None:
    text = render(cloud, volume=volume)
    assert text.splitlines()[0] == "#cloud-config"
    doc = parsed(text)
    walk_accepted(doc)
    assert doc["hostname"] == "storage-0"
    assert doc["ssh_authorized_keys"] == [KEY]
    assert doc["rancher"]["sysctl"] == {"vm.max_map_count": "262144"}
    assert ("write_files" in doc) is volume and ("mounts" in doc) is volume and ("runcmd" in doc) is volume


@pytest.mark.parametrize("cloud", ["aws", "gcp", "digitalocean"])
def test_docker_rotates_logs_and_never_listens_on_tcp(cloud: str) -> None:
    text = render(cloud)
    docker = parsed(text)["rancher"]["docker"]
    assert docker["log_driver"] == "json-file"
    assert docker["log_opts"] == {"max-size": "25m", "max-file": "3"}
    assert docker["tls"] is False
    assert "host" not in docker and "tls_args" not in docker
    assert not re.search(r"tcp://|:2375|:2376|-H\b|--host", text)


def test_gcp_sets_the_docker_mtu_and_other_clouds_do_not() -> None:
    assert parsed(render("gcp"))["rancher"]["docker"]["extra_args"] == ["--mtu", "1460"]
    for cloud in ("aws", "digitalocean"):
        assert "extra_args" not in parsed(render(cloud))["rancher"]["docker"]


@pytest.mark.parametrize("cloud", ["aws", "gcp", "digitalocean"])
def test_data_volume_script_runcmd_and_mounts(cloud: str) -> None:
    doc = parsed(render(cloud))
    (script,) = doc["write_files"]
    assert script["path"] == MOUNT_SCRIPT_PATH
    assert script["permissions"] == "0755"
    assert script["owner"] == "root"
    assert script["content"].startswith("#!/bin/sh\n")
    assert doc["runcmd"] == [MOUNT_SCRIPT_PATH]
    assert doc["mounts"] == [[EXPECTED_DEVICE[cloud], "/mnt/data", "ext4", "noatime"]]
    assert EXPECTED_DEVICE[cloud] in script["content"]


def test_device_choice_per_cloud() -> None:
    aws = data_disk_for("aws", "vol-0123456789abcdef0")
    assert aws.nvme_serial == "vol0123456789abcdef0"
    assert aws.fallback_paths == ("/dev/xvdf", "/dev/nvme1n1")
    gcp = data_disk_for("gcp", "data")
    assert gcp.device_paths == (
        "/dev/disk/by-id/scsi-0Google_PersistentDisk_data",
        "/dev/disk/by-id/google-data",
    )
    assert gcp.fallback_paths == ("/dev/sdb",)
    assert data_disk_for("digitalocean", "v1").fallback_paths == ("/dev/sda",)
    with pytest.raises(ValueError, match="EBS volume id"):
        data_disk_for("aws", "data")


def _scripts() -> dict[str, str]:
    return {cloud: mount_script(data_disk_for(cloud, key)) for cloud, key in VOLUME_KEYS.items()}


@pytest.mark.parametrize("cloud", ["aws", "gcp", "digitalocean"])
def test_mount_script_passes_shellcheck(cloud: str, tmp_path: Path, validator) -> None:
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / "mount.sh"
    path.write_text(parsed(render(cloud))["write_files"][0]["content"])
    result = subprocess.run(
        [shellcheck, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    syntax = subprocess.run(["sh", "-n", str(path)], capture_output=True, text=True)
    assert syntax.returncode == 0, syntax.stderr


@pytest.mark.parametrize("cloud", ["aws", "gcp", "digitalocean"])
def test_mount_script_never_formats_a_disk_that_has_anything_on_it(cloud: str) -> None:
    script = _scripts()[cloud]
    lines = script.splitlines()

    def line_of(fragment: str) -> int:
        found = [i for i, line in enumerate(lines) if fragment in line]
        assert len(found) == 1, (fragment, found)
        return found[0]

    mkfs = line_of("mkfs.ext4 ")
    probe = line_of('signature=$(blkid "$real"')
    empty_check = line_of('if [ -z "$signature" ]; then')
    zero_check = line_of('if [ "$nonzero" != "0" ]; then')
    partitions = line_of('log "$real has partitions; refusing')
    in_use = line_of('if grep -qs "^$real" /proc/mounts; then')
    assert in_use < partitions < probe < empty_check < zero_check < mkfs
    # mkfs sits inside the "blkid found nothing" branch, which ends before the mount.
    assert lines[mkfs].startswith("    ")
    (else_branch,) = [i for i, line in enumerate(lines) if line.strip() == "else"]
    assert empty_check < mkfs < else_branch < line_of("mount -t ext4 -o noatime")
    assert "-L \"$FS_LABEL\"" in lines[mkfs] and "FS_LABEL='rsdata'" in script
    assert script.count("mkfs") == 1 and "wipefs" not in script and "dd if=/dev/zero" not in script


def test_mount_script_waits_bounded_and_is_idempotent() -> None:
    script = _scripts()["aws"]
    assert "WAIT_SECONDS=600" in script and 'if [ "$waited" -ge "$WAIT_SECONDS" ]; then' in script
    assert 'if [ "$settled" -ge "$SETTLE_SECONDS" ]; then' in script
    assert script.index('grep -qs " $MOUNT_POINT " /proc/mounts') < script.index("until find_stable_device")
    assert "NVME_SERIAL='vol0123456789abcdef0'" in script
    assert "/sys/block/nvme*" in script
    assert "NVME_SERIAL=''" in _scripts()["gcp"]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"hostname": "Storage_0"}, "hostname"),
        ({"ssh_authorized_keys": []}, "SSH public key"),
        ({"sysctl": {"vm.max_map_count": 262144}}, "sysctl"),
    ],
)
def test_renderer_rejects_bad_inputs(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"hostname": "storage-0", "ssh_authorized_keys": [KEY], **kwargs}
    with pytest.raises(ValueError, match=message):
        render_cloud_config(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mount_point": "/var/lib/data"}, "under /mnt or /media"),
        ({"device_paths": ("/dev/sdb; rm -rf /",)}, "plain /dev path"),
        ({"device_paths": ()}, "at least one"),
        ({"label": "a-label-longer-than-16"}, "label"),
        ({"nvme_serial": "vol-0123"}, "serial"),
    ],
)
def test_data_disk_rejects_unsafe_values(kwargs: dict[str, Any], message: str) -> None:
    args: dict[str, Any] = {"device_paths": ("/dev/sdb",), **kwargs}
    with pytest.raises(ValueError, match=message):
        DataDisk(**args)


def test_the_docker_engine_is_pinned_when_given_and_never_latest() -> None:
    doc = parsed(render("aws", docker_engine="docker-29.8.2"))
    assert doc["rancher"]["docker"]["engine"] == "docker-29.8.2"
    assert "engine" in ACCEPTED_DOCKER_KEYS
    assert "engine" not in parsed(render("aws"))["rancher"]["docker"]
    with pytest.raises(ValueError, match="docker-29.8.2"):
        render("aws", docker_engine="latest")
