"""The script that checks a host's data volume after it changes, and grows its filesystem.

Pulumi runs it over SSH (as root, through ``sudo``) whenever the volume's id or size changes:

* **the mounted volume is the attached one**: the device mounted at the mount point must be the
  volume the cloud says is attached, found exactly as the boot-time mount script finds it
  (``device_functions``). A volume replaced under a running host is mounted only at the host's
  next boot (the mount script runs from ``runcmd``); until then the mount point still names the
  old, detached device, and the script fails saying so instead of letting a workload bootstrap
  into a stale mount;
* **growing ``dataVolumeGb`` grows the filesystem online**: the clouds resize the volume in place
  (EBS ModifyVolume, a persistent disk resize, a DigitalOcean volume resize), the kernel sees the
  new size (an NVMe namespace is told by its controller; a SCSI disk, as on GCP and DigitalOcean,
  is asked with its ``device/rescan``), and ``resize2fs`` extends the mounted ext4 filesystem
  (resize2fs(8): "If the filesystem is mounted, it can be used to expand the size of the mounted
  filesystem"). BurmillaOS and RancherOS ship e2fsprogs (the mount script's ``mkfs.ext4``; their
  own ``rancher.resize_device`` runs ``resize2fs``: cmd/cloudinitexecute/cloudinitexecute.go).

A volume is never shrunk: a smaller size is refused by the clouds (or, on GCP, replaces the disk,
which the plan diff flags), and this script only ever grows.
"""

from __future__ import annotations

from ..clouds.disk import DataDisk
from .render_cloud_config import device_functions

GIB = 1024**3
# How long the kernel gets to see a resized volume's new size.
RESIZE_WAIT_SECONDS = 300


def grow_data_script(
    disk: DataDisk,
    size_gb: int,
    *,
    mounts_file: str = "/proc/mounts",
    wait_seconds: int = RESIZE_WAIT_SECONDS,
) -> str:
    """POSIX sh: check that ``disk`` is what is mounted at its mount point, then grow it to fill
    ``size_gb`` GiB once the kernel sees that size."""
    if size_gb < 1:
        raise ValueError(f"a data volume of {size_gb} GB cannot be grown to")
    if wait_seconds < 0:
        raise ValueError("wait_seconds must not be negative")
    serial = disk.nvme_serial or ""
    return f"""#!/bin/sh
# rancher-stacks: check the data volume at {disk.mount_point} and grow its filesystem to {size_gb} GiB.
set -eu

MOUNT_POINT='{disk.mount_point}'
NVME_SERIAL='{serial}'
MOUNTS_FILE='{mounts_file}'
WANT_BYTES={size_gb * GIB}
WAIT_SECONDS={wait_seconds}

log() {{
    echo "grow-data-volume: $*" >&2
}}

{device_functions(disk)}
mounted=$(awk -v m="$MOUNT_POINT" '$2 == m {{ d = $1 }} END {{ print d }}' "$MOUNTS_FILE")
if [ -z "$mounted" ]; then
    log "$MOUNT_POINT is not mounted"
    exit 1
fi
device=$(find_stable_device) || device=$(find_fallback_device) || {{
    log "no data volume is attached"
    exit 1
}}
real=$(readlink -f "$device")
if [ "$(readlink -f "$mounted")" != "$real" ]; then
    log "$MOUNT_POINT holds $mounted, not the attached data volume $real: a volume that replaced" \\
        "another under a running host is mounted at the host's next boot; reboot the host, then" \\
        "run pulumi up again"
    exit 1
fi

name=${{real##*/}}
size_bytes() {{
    echo $(( $(cat "/sys/class/block/$name/size") * 512 ))
}}
waited=0
while [ "$(size_bytes)" -lt "$WANT_BYTES" ]; do
    if [ -w "/sys/class/block/$name/device/rescan" ]; then
        echo 1 > "/sys/class/block/$name/device/rescan" || true
    fi
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
        log "$real is $(size_bytes) bytes after $WAIT_SECONDS seconds; expected $WANT_BYTES"
        exit 1
    fi
    sleep 5
    waited=$((waited + 5))
done

resize2fs "$real"
log "$real at $MOUNT_POINT fills $(size_bytes) bytes"
"""
