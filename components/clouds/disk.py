"""Where a host's data volume shows up and where it is mounted: plain values, no Pulumi.

Each cloud says how its volumes appear on the host (``data_disk`` of its ``volume`` module);
the cloud-config renderer turns a ``DataDisk`` into the mount script.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional

DEFAULT_MOUNT_POINT = "/mnt/data"
DEFAULT_FS_LABEL = "rsdata"

_DEVICE_PATH = re.compile(r"^/dev/[A-Za-z0-9/_.:-]+$")
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
