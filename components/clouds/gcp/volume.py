"""A host's data volume on GCP, and where it shows up on the host.

A ``pd-balanced`` ``gcp.compute.Disk`` in the host's zone (encrypted at rest with Google-managed
keys) and a ``gcp.compute.AttachedDisk`` with the fixed ``device_name`` ``data``, so its SCSI
serial is known: stock udev creates ``/dev/disk/by-id/scsi-0Google_PersistentDisk_data`` and
Google's guest rules ``/dev/disk/by-id/google-data``. Fallback ``/dev/sdb`` (the boot disk is
``sda``).
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from ..base import CreatedVolume, VolumeRequest
from ..disk import DEFAULT_MOUNT_POINT, DataDisk

# The attached disk's device_name, hence its /dev/disk/by-id name.
DATA_DEVICE_NAME = "data"


def data_disk(volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
    """The attached disk whose ``device_name`` is ``volume_key`` on a host."""
    return DataDisk(
        device_paths=(
            f"/dev/disk/by-id/scsi-0Google_PersistentDisk_{volume_key}",
            f"/dev/disk/by-id/google-{volume_key}",
        ),
        fallback_paths=("/dev/sdb",),
        mount_point=mount_point,
    )


def new_volume(request: VolumeRequest) -> CreatedVolume:
    """The persistent disk (protected per request, always retained) and its attachment."""
    disk = gcp.compute.Disk(
        f"{request.name}-disk",
        zone=request.zone,
        size=request.size_gb,
        type="pd-balanced",
        labels={"volume": request.volume_name},
        opts=pulumi.ResourceOptions(parent=request.parent, protect=request.protect, retain_on_delete=True),
    )
    attachment = gcp.compute.AttachedDisk(
        f"{request.name}-attachment",
        disk=disk.id,
        instance=request.instance_id,
        zone=request.zone,
        device_name=DATA_DEVICE_NAME,
        # A new machine gets the disk only after the old one let go of it (a read-write disk
        # attaches to one instance at a time).
        opts=pulumi.ResourceOptions(parent=request.parent, delete_before_replace=True),
    )
    backup: Optional[pulumi.CustomResource] = None
    schedule = request.schedule
    if schedule is not None and schedule.policy_name is not None:
        # Attached by a resource of its own, not the disk's ``resourcePolicies`` input, which the
        # provider cannot change in place: setting it would replace (empty) the disk.
        backup = gcp.compute.DiskResourcePolicyAttachment(
            f"{request.name}-snapshots",
            disk=disk.name,
            name=schedule.policy_name,
            zone=request.zone,
            opts=pulumi.ResourceOptions(parent=request.parent, depends_on=[schedule.policy] if schedule.policy else []),
        )
    return CreatedVolume(
        volume=disk,
        attachment=attachment,
        volume_key=pulumi.Output.from_input(DATA_DEVICE_NAME),
        identity=disk.disk_id,
        backup=backup,
    )
