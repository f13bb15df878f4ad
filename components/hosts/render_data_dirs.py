"""The one-time script that creates a workload's data directories on a host's data volume.

Containers that keep state on the data volume bind those directories with Docker's mounts API
(``type=bind``), never the legacy ``-v`` binds: Docker creates a missing ``-v`` source on the
root disk, but refuses a missing ``type=bind`` source at create and start, and at boot the
daemon's autostart leaves such a container exited rather than creating the path (moby
``daemon/volumes.go`` sets ``SkipMountpointCreation`` for mounts-API binds; ``MountPoint.Setup``
then never mkdirs; v20.10.27 lines 221-223 and ``volume/mounts/mounts.go`` lines 100-103). So
the directories exist only on the volume: if it fails to mount at a reboot, the empty mount point
on the root disk holds none of them and no stateful container starts there.

This script makes them once, after checking that the volume is mounted (bounded wait), over SSH
as ``rancher``, who has passwordless sudo on RancherOS and BurmillaOS
(``images/02-console/Dockerfile``: rancher/os v1.5.8 line 8, burmilla/os v2.0.5 line 25).
"""

from __future__ import annotations

import posixpath
import re
import shlex
from typing import Sequence

MOUNTS_FILE = "/proc/mounts"
_PATH = re.compile(r"^/[A-Za-z0-9_.@/-]+$")


def wait_for_mount(path: str, *, mounts_file: str = MOUNTS_FILE, attempts: int = 120, interval: int = 5) -> str:
    """sh that waits (bounded) until ``path`` is a mount point, else fails."""
    pattern = shlex.quote(f" {path} ")
    return (
        f"i=0; until grep -qs {pattern} {shlex.quote(mounts_file)}; do "
        f"i=$((i+1)); if [ \"$i\" -ge {attempts} ]; then "
        f"echo {shlex.quote(path + ' is not mounted')} >&2; exit 1; fi; sleep {interval}; done"
    )


def render_data_dirs(
    mount_point: str,
    paths: Sequence[str],
    *,
    mounts_file: str = MOUNTS_FILE,
    attempts: int = 120,
    interval: int = 5,
    sudo: str = "sudo",
) -> str:
    """sh: wait until ``mount_point`` is mounted, then create ``paths`` (all under it)."""
    if not _PATH.match(mount_point):
        raise ValueError(f"mount point {mount_point!r} is not a plain absolute path")
    if not paths:
        raise ValueError("no data directories to create")
    for path in paths:
        inside = posixpath.normpath(path).startswith(posixpath.normpath(mount_point) + "/")
        if not _PATH.match(path) or not inside or ".." in path.split("/"):
            raise ValueError(f"data directory {path!r} must be a plain path under {mount_point}")
    words = " ".join(shlex.quote(p) for p in sorted(set(paths)))
    wait = wait_for_mount(mount_point, mounts_file=mounts_file, attempts=attempts, interval=interval)
    return f"set -eu; {wait}; {sudo} mkdir -p -- {words}"
