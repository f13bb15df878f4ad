"""A host's data volume on AWS, and where it shows up on the host.

An encrypted gp3 ``aws.ebs.Volume`` in the host's zone and an ``aws.ec2.VolumeAttachment`` as
``/dev/sdf``. The volume id is the host-side key: Nitro instances (t3, m5, ...) show EBS volumes
as NVMe namespaces whose kernel name (``/dev/nvme1n1``...) depends on attach order, so the mount
script finds the namespace whose controller serial is the volume id (``vol0123...``, read from
sysfs, no udev needed) or the udev link ``/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol...``.
On Xen instance types the requested name ``/dev/sdf`` appears as ``/dev/xvdf`` (fallback).
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from ..base import CreatedVolume, VolumeRequest
from ..disk import DEFAULT_MOUNT_POINT, DataDisk

# The block device name the attachment requests (shown as /dev/xvdf on Xen types).
DATA_DEVICE_NAME = "/dev/sdf"


def data_disk(volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
    """The EBS volume ``volume_key`` (``vol-...``) on a host."""
    if not volume_key.startswith("vol-"):
        raise ValueError(f"an EBS volume id (vol-...) is needed on AWS; got {volume_key!r}")
    serial = volume_key.replace("-", "", 1)
    return DataDisk(
        device_paths=(f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{serial}",),
        nvme_serial=serial,
        fallback_paths=("/dev/xvdf", "/dev/nvme1n1"),
        mount_point=mount_point,
    )


def new_volume(request: VolumeRequest) -> CreatedVolume:
    """The encrypted EBS volume (protected per request, always retained) and its attachment.

    On a snapshot schedule the volume carries the tags the stack's DLM policy targets (``backup``);
    tags change in place, so adding them never replaces a volume.
    """
    schedule_tags = dict(request.schedule.tags) if request.schedule is not None else {}
    ebs = aws.ebs.Volume(
        f"{request.name}-volume",
        availability_zone=request.zone,
        size=request.size_gb,
        type="gp3",
        encrypted=True,
        tags={"Name": request.volume_name, **schedule_tags},
        opts=pulumi.ResourceOptions(parent=request.parent, protect=request.protect, retain_on_delete=True),
    )
    attachment = aws.ec2.VolumeAttachment(
        f"{request.name}-attachment",
        device_name=DATA_DEVICE_NAME,
        volume_id=ebs.id,
        instance_id=request.instance_id,
        # A new machine gets the volume only after the old one let go of it (AWS refuses a volume
        # still attached: VolumeInUse); the old instance stops first so the filesystem is clean.
        stop_instance_before_detaching=True,
        opts=pulumi.ResourceOptions(parent=request.parent, delete_before_replace=True),
    )
    return CreatedVolume(volume=ebs, attachment=attachment, volume_key=ebs.id)
