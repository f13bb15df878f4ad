"""RancherOS-family cloud-config for one host: a pure function from plain values to YAML text.

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

Where the data volume shows up is each cloud's business (``data_disk`` in
``clouds/<cloud>/volume.py``): stable device names tried first, an NVMe serial to match, and
kernel names used only as a fallback.

The script never formats a disk that holds anything: it refuses disks with partitions or in
use, and runs ``mkfs.ext4`` only when ``blkid`` finds no filesystem signature AND the first MiB
of the device is all zeros (a fresh cloud volume). A fallback path is used only when no stable
name shows up; the same guards then keep a wrong guess harmless.
"""

from __future__ import annotations

import re
from typing import Any, Mapping, Optional, Sequence

import yaml

from ..clouds.disk import DEFAULT_MOUNT_POINT, DataDisk

__all__ = ["DEFAULT_MOUNT_POINT", "DataDisk", "mount_script", "render_cloud_config"]

MOUNT_SCRIPT_PATH = "/opt/rancher-stacks/mount-data-volume.sh"
# Bounded wait for the volume to be attached (the attachment is created after the instance).
DEVICE_WAIT_SECONDS = 600
# Once some device is there, how long udev gets to create the stable link before a fallback.
UDEV_SETTLE_SECONDS = 30

_HOSTNAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
_ENGINE = re.compile(r"^docker-\d+\.\d+\.\d+$")
_SYSCTL_KEY = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_-]+)+$")

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

def _sh_words(paths: Sequence[str]) -> str:
    # Paths match _DEVICE_PATH (no blanks, quotes, globs or $), so they are plain shell words.
    return " ".join(paths)


def device_functions(disk: DataDisk) -> str:
    """sh functions ``find_stable_device`` and ``find_fallback_device`` for ``disk``: how the
    mount script, and anything else that must find the very same volume, finds it."""
    stable = _sh_words(disk.device_paths)
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
    return f"""# The volume under a name that cannot point at another disk.
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
"""


def mount_script(disk: DataDisk) -> str:
    """The POSIX sh script that finds, (only if empty) formats, and mounts the data volume."""
    serial = disk.nvme_serial or ""
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

{device_functions(disk)}
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
    docker_engine: Optional[str] = None,
) -> str:
    """The ``#cloud-config`` user data of one RancherOS-family host.

    ``docker_engine`` pins BurmillaOS's user Docker (``rancher.docker.engine``, e.g.
    ``docker-29.8.2``); None keeps the OS's built-in engine.
    """
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
    if docker_engine is not None:
        if not _ENGINE.match(docker_engine):
            raise ValueError(f"docker engine {docker_engine!r} is not a name like docker-29.8.2")
        docker["engine"] = docker_engine
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
