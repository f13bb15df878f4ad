"""The data-directory script runs for real under sh: it creates nothing unless the volume is mounted."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rancher_stacks.hosts.render_data_dirs import render_data_dirs


def run(script: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["/bin/sh", "-c", script], capture_output=True, text=True, timeout=30)


@pytest.fixture()
def volume(tmp_path: Path) -> Path:
    mount_point = tmp_path / "mnt" / "data"
    mount_point.mkdir(parents=True)
    return mount_point


def script(volume: Path, mounts: Path) -> str:
    return render_data_dirs(
        str(volume),
        [f"{volume}/gluster/peer/etc", f"{volume}/mongodb/db-0"],
        mounts_file=str(mounts),
        attempts=2,
        interval=0,
        sudo="",
    )


def test_unmounted_volume_fails_and_creates_nothing(volume: Path, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text("/dev/root / ext4 rw 0 0\n")
    result = run(script(volume, mounts))
    assert result.returncode == 1
    assert f"{volume} is not mounted" in result.stderr
    assert list(volume.iterdir()) == []  # the root disk's empty mount point stays empty


def test_mounted_volume_gets_every_directory(volume: Path, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/root / ext4 rw 0 0\n/dev/nvme1n1 {volume} ext4 rw,noatime 0 0\n")
    result = run(script(volume, mounts))
    assert result.returncode == 0, result.stderr
    assert (volume / "gluster" / "peer" / "etc").is_dir() and (volume / "mongodb" / "db-0").is_dir()


def test_a_prefix_of_the_mount_point_is_not_the_mount(volume: Path, tmp_path: Path) -> None:
    mounts = tmp_path / "mounts"
    mounts.write_text(f"/dev/nvme1n1 {volume}-old ext4 rw 0 0\n")
    assert run(script(volume, mounts)).returncode == 1


def test_the_shipped_script_passes_shellcheck(validator, tmp_path: Path) -> None:
    shellcheck = validator("shellcheck", "shellcheck")
    path = tmp_path / "dirs.sh"
    path.write_text("#!/bin/sh\n" + render_data_dirs("/mnt/data", ["/mnt/data/gluster/gluster-storage-0/etc", "/mnt/data/x"]) + "\n")
    result = subprocess.run([shellcheck, "-s", "sh", str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout


@pytest.mark.parametrize(
    "paths", [["/mnt/other/x"], ["/mnt/data"], ["/mnt/data/../etc"], ["relative"], ["/mnt/data/$(reboot)"], []]
)
def test_only_plain_paths_under_the_mount_point(paths: list[str]) -> None:
    with pytest.raises(ValueError):
        render_data_dirs("/mnt/data", paths)
