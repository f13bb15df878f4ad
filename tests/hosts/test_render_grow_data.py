"""The data-volume check and grow script, run for real on a loop device.

The loop-device tests need root (``losetup``) and e2fsprogs. This sandbox refuses the online
resize ioctl, so they grow an unmounted filesystem (after ``e2fsck -f``, which an offline resize
requires) and point the script at a mounts file that says it is mounted: every step of the
script runs for real, and ``resize2fs`` is the same call a host makes online.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from root_tools import find_root_tool

from rancher_stacks.clouds.aws.volume import data_disk as aws_disk
from rancher_stacks.clouds.disk import DataDisk
from rancher_stacks.clouds.gcp.volume import data_disk as gcp_disk
from rancher_stacks.hosts.render_grow_data import GIB, grow_data_script

MOUNT_POINT = "/mnt/data"


@pytest.mark.parametrize("disk", [aws_disk("vol-0123456789abcdef0"), gcp_disk("rs-data")], ids=["aws", "gcp"])
def test_script_passes_shellcheck(disk: DataDisk, tmp_path: Path, validator) -> None:
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / "grow.sh"
    path.write_text(grow_data_script(disk, 20))
    result = subprocess.run([shellcheck, "--shell=sh", "--severity=style", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ValueError, match="cannot be grown"):
        grow_data_script(gcp_disk("rs-data"), 0)


def _tool(name: str) -> str:
    return find_root_tool(name, "util-linux e2fsprogs mawk coreutils")


@pytest.fixture
def loop(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    losetup, mkfs = _tool("losetup"), _tool("mkfs.ext4")
    # What the script itself runs, besides sh: found on PATH, as the script will look.
    for program in ("awk", "readlink", "resize2fs"):
        _tool(program)
    image = tmp_path / "volume.img"
    image.write_bytes(b"")
    os.truncate(image, 8 * 1024 * 1024)
    subprocess.run([mkfs, "-q", "-F", "-L", "rsdata", str(image)], check=True)
    device = subprocess.run([losetup, "-f", "--show", str(image)], check=True, capture_output=True,
                            text=True).stdout.strip()
    try:
        yield device, image
    finally:
        subprocess.run([losetup, "-d", device], check=False)


def _run(device: str, mounted: str, size_gb: int, tmp_path: Path, wait: int = 0) -> subprocess.CompletedProcess:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/root / ext4 rw 0 0\n{mounted} {MOUNT_POINT} ext4 rw,noatime 0 0\n")
    script = tmp_path / "grow.sh"
    disk = DataDisk(device_paths=(device,), mount_point=MOUNT_POINT)
    script.write_text(grow_data_script(disk, size_gb, mounts_file=str(mounts), wait_seconds=wait))
    return subprocess.run(["sh", str(script)], capture_output=True, text=True,
                          env={**os.environ, "PATH": f"/usr/sbin:/sbin:{os.environ['PATH']}"})


def _blocks(device: str) -> int:
    out = subprocess.run([_tool("dumpe2fs"), "-h", device], check=True, capture_output=True, text=True).stdout
    return int(next(line for line in out.splitlines() if line.startswith("Block count:")).split(":")[1])


def test_a_grown_volume_gets_a_grown_filesystem(loop, tmp_path: Path) -> None:
    device, image = loop
    before = _blocks(device)
    # The cloud grew the volume: the device is larger than its filesystem.
    os.truncate(image, 1 * GIB + 4096)
    subprocess.run([_tool("losetup"), "-c", device], check=True)
    subprocess.run([_tool("e2fsck"), "-f", "-y", device], check=True, capture_output=True)
    result = _run(device, device, 1, tmp_path)
    assert result.returncode == 0, result.stderr
    assert _blocks(device) > before * 50
    assert f"{device} at {MOUNT_POINT} fills" in result.stderr


def test_it_waits_bounded_for_the_kernel_to_see_the_new_size(loop, tmp_path: Path) -> None:
    device, _ = loop
    result = _run(device, device, 2, tmp_path, wait=0)
    assert result.returncode == 1
    assert f"expected {2 * GIB}" in result.stderr


def test_a_volume_replaced_under_a_running_host_is_not_taken_for_the_mounted_one(loop, tmp_path: Path) -> None:
    device, _ = loop
    result = _run(device, "/dev/nvme9n1", 1, tmp_path)
    assert result.returncode == 1
    assert "not the attached data volume" in result.stderr and "reboot the host" in result.stderr


def test_nothing_is_mounted(loop, tmp_path: Path) -> None:
    device, _ = loop
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/root / ext4 rw 0 0\n")
    script = tmp_path / "grow.sh"
    script.write_text(grow_data_script(DataDisk(device_paths=(device,), mount_point=MOUNT_POINT), 1,
                                       mounts_file=str(mounts)))
    result = subprocess.run(["sh", str(script)], capture_output=True, text=True)
    assert result.returncode == 1 and f"{MOUNT_POINT} is not mounted" in result.stderr
