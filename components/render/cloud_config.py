"""RancherOS cloud-config for one host: a pure function from plain values to YAML text.

RancherOS reads user data that starts with ``#cloud-config`` and rejects nothing loudly: a key
it does not know is silently ignored. So the renderer only ever emits keys of RancherOS's
``CloudConfig`` schema (rancher/os ``config/types.go``), kept below as ``ACCEPTED_*`` constants
that the tests walk the rendered document against.

What a host gets:

* ``hostname`` and ``ssh_authorized_keys`` (the ``rancher`` user; Pulumi logs in over SSH).
* ``rancher.docker``: json-file log rotation, and ``--mtu 1460`` on GCP (the GCE network MTU;
  without it, large packets between containers on different hosts are silently dropped). The
  daemon keeps its default ``unix://`` socket only: no ``host`` entry, ``tls: false``, so it
  never listens on TCP 2375/2376. Pulumi reaches it through SSH.
* ``rancher.sysctl``: whatever the workload needs (e.g. ``vm.max_map_count`` for Elasticsearch).
* For a data volume: a mount script in ``write_files`` (mode 0755), run from ``runcmd``, plus a
  ``mounts`` entry for later boots. RancherOS starts User Docker only after ``runcmd`` has
  finished, so no container starts before the data disk is mounted. The mount point must lie
  under ``/mnt`` or ``/media``: those are shared mounts in RancherOS, so a mount made by the
  console container (where ``runcmd`` runs) is visible to User Docker.

Where the data volume shows up (``data_disk_for``):

* **AWS** (Nitro instances, e.g. t3): EBS volumes are NVMe namespaces whose kernel name
  (``/dev/nvme1n1``...) depends on attach order, so the script finds the namespace whose
  controller serial is the volume id (``vol0123...``, read from sysfs, no udev needed) or the
  udev link ``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123...``. On Xen instance
  types the requested name ``/dev/sdf`` appears as ``/dev/xvdf`` (fallback).
* **GCP**: the attached disk has a fixed ``device_name`` (``data``), so its SCSI serial is known:
  stock udev creates ``/dev/disk/by-id/scsi-0Google_PersistentDisk_data`` and Google's guest rules
  ``/dev/disk/by-id/google-data``. Fallback ``/dev/sdb`` (the boot disk is ``sda``).
* **DigitalOcean**: volumes are virtio-scsi disks whose serial is the volume name, so udev creates
  ``/dev/disk/by-id/scsi-0DO_Volume_<name>``. Fallback ``/dev/sda`` (the droplet disk is ``vda``).

The script never formats a disk that holds anything: it refuses disks with partitions or in
use, and runs ``mkfs.ext4`` only when ``blkid`` finds no filesystem signature AND the first MiB
of the device is all zeros (a fresh cloud volume). A fallback path is used only when no stable
name shows up; the same guards then keep a wrong guess harmless.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import yaml

# --------------------------------------------------------------------------- accepted schema

# rancher/os config/types.go: CloudConfig.
ACCEPTED_TOP_LEVEL_KEYS: frozenset[str] = frozenset(
    {"ssh_authorized_keys", "write_files", "hostname", "mounts", "rancher", "runcmd", "bootcmd"}
)

# rancher/os config/types.go: RancherConfig.
ACCEPTED_RANCHER_KEYS: frozenset[str] = frozenset(
    {
        "console", "environment", "services", "bootstrap", "bootstrap_docker", "cloud_init",
        "debug", "rm_usr", "no_sharedroot", "log", "force_console_rebuild", "disable",
        "services_include", "modules", "network", "default_network", "repositories", "ssh",
        "state", "system_docker", "upgrade", "docker", "registry_auths", "defaults",
        "resize_device", "sysctl", "restart_services",
    }
)

# rancher/os config/types.go: DockerConfig (with the embedded EngineOpts).
ACCEPTED_DOCKER_KEYS: frozenset[str] = frozenset(
    {
        "bridge", "config_file", "containerd", "debug", "exec_root", "group", "graph", "host",
        "insecure_registry", "live_restore", "log_driver", "log_opts", "pid_file",
        "registry_mirror", "restart", "selinux_enabled", "storage_driver", "userland_proxy",
        "engine", "tls", "tls_args", "extra_args", "server_cert", "server_key", "ca_cert",
        "ca_key", "environment", "storage_context", "exec",
    }
)

# coreos-cloudinit config.File plus RancherOS's ``container``.
ACCEPTED_WRITE_FILE_KEYS: frozenset[str] = frozenset(
    {"path", "content", "permissions", "owner", "encoding", "container"}
)

# --------------------------------------------------------------------------- data disk

DEFAULT_MOUNT_POINT = "/mnt/data"
DEFAULT_FS_LABEL = "rsdata"
MOUNT_SCRIPT_PATH = "/opt/rancher-stacks/mount-data-volume.sh"
# Bounded wait for the volume to be attached (the attachment is created after the instance).
DEVICE_WAIT_SECONDS = 600
# Once some device is there, how long udev gets to create the stable link before a fallback.
UDEV_SETTLE_SECONDS = 30
# GCP: the attached disk's device_name, hence its /dev/disk/by-id name.
GCP_DATA_DEVICE_NAME = "data"
# AWS: the block device name the attachment requests (shown as /dev/xvdf on Xen types).
AWS_DATA_DEVICE_NAME = "/dev/sdf"
GCE_MTU = 1460

_DEVICE_PATH = re.compile(r"^/dev/[A-Za-z0-9/_.:-]+$")
_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_-]+)+$")
_LABEL = re.compile(r"^[A-Za-z0-9_-]{1,16}$")
_NVME_SERIAL = re.compile(r"^vol[0-9a-f]{8,17}$")
_MOUNT_POINT = re.compile(r"^/(mnt|media)/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$")


@dataclass(frozen=True)
class DataDisk:
    """Where the data volume appears on the host and where it is mounted.

    ``device_paths`` are stable names tried first (``mounts`` uses the first one);
    ``nvme_serial`` additionally matches an NVMe namespace by its controller serial;
    ``fallback_paths`` are used only if no stable name appears.
    """

    device_paths: tuple[str, ...]
    mount_point: str = DEFAULT_MOUNT_POINT
    label: str = DEFAULT_FS_LABEL
    nvme_serial: Optional[str] = None
    fallback_paths: tuple[str, ...] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        if not self.device_paths:
            raise ValueError("a data disk needs at least one stable device path")
        for path in (*self.device_paths, *self.fallback_paths):
            if not _DEVICE_PATH.match(path):
                raise ValueError(f"device path {path!r} is not a plain /dev path")
        if not _MOUNT_POINT.match(self.mount_point):
            raise ValueError(
                f"mount point {self.mount_point!r} must be under /mnt or /media (RancherOS shares "
                "only those mounts between the console and User Docker)"
            )
        if not _LABEL.match(self.label):
            raise ValueError(f"filesystem label {self.label!r}: 1-16 characters of [A-Za-z0-9_-]")
        if self.nvme_serial is not None and not _NVME_SERIAL.match(self.nvme_serial):
            raise ValueError(f"NVMe serial {self.nvme_serial!r} is not an EBS volume serial")

    @property
    def fstab_device(self) -> str:
        return self.device_paths[0]


def data_disk_for(cloud: str, volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
    """The ``DataDisk`` of a volume on ``cloud``.

    ``volume_key`` is what names the volume on the host: the EBS volume id (``vol-...``) on AWS,
    the attached disk's ``device_name`` on GCP, the volume name on DigitalOcean.
    """
    if cloud == "aws":
        if not volume_key.startswith("vol-"):
            raise ValueError(f"an EBS volume id (vol-...) is needed on AWS; got {volume_key!r}")
        serial = volume_key.replace("-", "", 1)
        return DataDisk(
            device_paths=(f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{serial}",),
            nvme_serial=serial,
            fallback_paths=("/dev/xvdf", "/dev/nvme1n1"),
            mount_point=mount_point,
        )
    if cloud == "gcp":
        return DataDisk(
            device_paths=(
                f"/dev/disk/by-id/scsi-0Google_PersistentDisk_{volume_key}",
                f"/dev/disk/by-id/google-{volume_key}",
            ),
            fallback_paths=("/dev/sdb",),
            mount_point=mount_point,
        )
    if cloud == "digitalocean":
        return DataDisk(
            device_paths=(f"/dev/disk/by-id/scsi-0DO_Volume_{volume_key}",),
            fallback_paths=("/dev/sda",),
            mount_point=mount_point,
        )
    raise ValueError(f"no data volumes on cloud {cloud!r}")


def _sh_words(paths: Sequence[str]) -> str:
    # Paths match _DEVICE_PATH (no blanks, quotes, globs or $), so they are plain shell words.
    return " ".join(paths)


def mount_script(disk: DataDisk) -> str:
    """The POSIX sh script that finds, (only if empty) formats, and mounts the data volume."""
    stable = _sh_words(disk.device_paths)
    serial = disk.nvme_serial or ""
    fallback_loop = (
        f"""    set -- {_sh_words(disk.fallback_paths)}
    for candidate in "$@"; do
        if [ -b "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
"""
        if disk.fallback_paths
        else ""
    )
    return f"""#!/bin/sh
# rancher-stacks: mount the data volume at {disk.mount_point} (runs on every boot, from runcmd).
# Formats the volume ONLY when blkid finds no filesystem on it and its first MiB is all zeros.
set -eu

MOUNT_POINT='{disk.mount_point}'
FS_LABEL='{disk.label}'
NVME_SERIAL='{serial}'
WAIT_SECONDS={DEVICE_WAIT_SECONDS}
SETTLE_SECONDS={UDEV_SETTLE_SECONDS}

log() {{
    echo "mount-data-volume: $*" >&2
}}

# The volume under a name that cannot point at another disk.
find_stable_device() {{
    set -- {stable}
    for candidate in "$@"; do
        if [ -b "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    if [ -n "$NVME_SERIAL" ]; then
        for namespace in /sys/block/nvme*; do
            if [ -r "$namespace/device/serial" ]; then
                serial=$(tr -d ' ' < "$namespace/device/serial")
                if [ "$serial" = "$NVME_SERIAL" ]; then
                    echo "/dev/${{namespace##*/}}"
                    return 0
                fi
            fi
        done
    fi
    return 1
}}

# A kernel name that is the volume on this cloud unless something unusual happened.
find_fallback_device() {{
{fallback_loop}    return 1
}}

if grep -qs " $MOUNT_POINT " /proc/mounts; then
    log "$MOUNT_POINT is already mounted"
    exit 0
fi

waited=0
until find_stable_device >/dev/null || find_fallback_device >/dev/null; do
    if [ "$waited" -ge "$WAIT_SECONDS" ]; then
        log "no data volume appeared within $WAIT_SECONDS seconds"
        exit 1
    fi
    sleep 2
    waited=$((waited + 2))
done

settled=0
device=''
until device=$(find_stable_device); do
    if [ "$settled" -ge "$SETTLE_SECONDS" ]; then
        device=$(find_fallback_device) || {{
            log "the volume disappeared while waiting for its stable name"
            exit 1
        }}
        log "no stable name for the volume; using $device"
        break
    fi
    sleep 2
    settled=$((settled + 2))
done

real=$(readlink -f "$device")
name=${{real##*/}}

if grep -qs "^$real" /proc/mounts; then
    log "$real (or a partition of it) is already mounted elsewhere; not touching it"
    exit 1
fi
for partition in "/sys/class/block/$name/$name"*; do
    if [ -e "$partition" ]; then
        log "$real has partitions; refusing to format or mount it"
        exit 1
    fi
done

if ! command -v blkid >/dev/null 2>&1; then
    log "blkid is not available; refusing to decide whether $real is empty"
    exit 1
fi
if ! dd if="$real" of=/dev/null bs=1048576 count=1 2>/dev/null; then
    log "cannot read $real"
    exit 1
fi

signature=$(blkid "$real" 2>/dev/null || true)
if [ -z "$signature" ]; then
    nonzero=$(dd if="$real" bs=1048576 count=1 2>/dev/null | tr -d '\\000' | wc -c | tr -d ' ')
    if [ "$nonzero" != "0" ]; then
        log "$real holds data blkid does not recognise; refusing to format it"
        exit 1
    fi
    log "formatting the empty volume $real as ext4 (label $FS_LABEL)"
    mkfs.ext4 -q -F -m 0 -L "$FS_LABEL" "$real"
else
    log "$real already has a filesystem; keeping it ($signature)"
fi

mkdir -p "$MOUNT_POINT"
mount -t ext4 -o noatime "$real" "$MOUNT_POINT"
log "mounted $real at $MOUNT_POINT"
"""


# --------------------------------------------------------------------------- renderer


class _Dumper(yaml.SafeDumper):
    """Safe YAML with multi-line strings as literal blocks (readable scripts)."""


def _str_representer(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str_representer)


def render_cloud_config(
    *,
    hostname: str,
    ssh_authorized_keys: Sequence[str],
    docker_mtu: Optional[int] = None,
    sysctl: Optional[Mapping[str, str]] = None,
    data_disk: Optional[DataDisk] = None,
) -> str:
    """The ``#cloud-config`` user data of one RancherOS host."""
    if not _HOSTNAME.match(hostname):
        raise ValueError(f"hostname {hostname!r} is not a lowercase DNS label")
    keys = [k.strip() for k in ssh_authorized_keys if k and k.strip()]
    if not keys:
        raise ValueError("at least one SSH public key is needed for the rancher user")
    sysctl = dict(sysctl or {})
    for key, value in sysctl.items():
        if not _SYSCTL_KEY.match(key) or not isinstance(value, str) or not value:
            raise ValueError(f"sysctl {key}={value!r}: keys like vm.max_map_count, string values")

    docker: dict[str, Any] = {
        "tls": False,
        "log_driver": "json-file",
        "log_opts": {"max-size": "25m", "max-file": "3"},
    }
    if docker_mtu is not None:
        docker["extra_args"] = ["--mtu", str(int(docker_mtu))]
    rancher: dict[str, Any] = {"docker": docker}
    if sysctl:
        rancher["sysctl"] = sysctl

    doc: dict[str, Any] = {"hostname": hostname, "ssh_authorized_keys": keys}
    if data_disk is not None:
        doc["write_files"] = [
            {
                "path": MOUNT_SCRIPT_PATH,
                "permissions": "0755",
                "owner": "root",
                "content": mount_script(data_disk),
            }
        ]
        doc["runcmd"] = [MOUNT_SCRIPT_PATH]
        doc["mounts"] = [[data_disk.fstab_device, data_disk.mount_point, "ext4", "noatime"]]
    doc["rancher"] = rancher

    body = yaml.dump(doc, Dumper=_Dumper, sort_keys=False, default_flow_style=False, width=4096)
    return "#cloud-config\n" + body
