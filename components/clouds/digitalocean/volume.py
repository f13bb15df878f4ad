"""A droplet's data volume on DigitalOcean, and where it shows up on the droplet.

A ``digitalocean.Volume`` (encrypted at rest by DigitalOcean) with an explicit, stack-unique name
and a ``digitalocean.VolumeAttachment``. Volumes are virtio-scsi disks whose serial is the volume
name, so udev creates ``/dev/disk/by-id/scsi-0DO_Volume_<name>``. Fallback ``/dev/sda`` (the
droplet's own disk is ``vda``).
"""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean

from ..base import CreatedVolume, VolumeRequest
from ..disk import DEFAULT_MOUNT_POINT, DataDisk


def data_disk(volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
    """The volume named ``volume_key`` on a droplet."""
    return DataDisk(
        device_paths=(f"/dev/disk/by-id/scsi-0DO_Volume_{volume_key}",),
        fallback_paths=("/dev/sda",),
        mount_point=mount_point,
    )


def new_volume(request: VolumeRequest) -> CreatedVolume:
    """The volume (protected per request, always retained) and its attachment."""
    volume = digitalocean.Volume(
        f"{request.name}-volume",
        name=request.volume_name,
        region=request.zone,
        size=request.size_gb,
        description=f"rancher-stacks data volume {request.volume_name}",
        opts=pulumi.ResourceOptions(parent=request.parent, protect=request.protect, retain_on_delete=True),
    )
    attachment = digitalocean.VolumeAttachment(
        f"{request.name}-attachment",
        droplet_id=pulumi.Output.from_input(request.instance_id).apply(int),
        volume_id=volume.id,
        # A new droplet gets the volume only after the old one let go of it (a volume attaches to
        # one droplet at a time).
        opts=pulumi.ResourceOptions(parent=request.parent, delete_before_replace=True),
    )
    return CreatedVolume(
        volume=volume, attachment=attachment, volume_key=pulumi.Output.from_input(request.volume_name)
    )
