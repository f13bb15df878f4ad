"""``DataVolume``: one host's block volume for stateful data, and its attachment.

* **AWS**: an encrypted gp3 ``aws.ebs.Volume`` in the host's zone and an
  ``aws.ec2.VolumeAttachment`` as ``/dev/sdf``. The volume id is the host-side key: Nitro
  instances show the volume as an NVMe namespace whose serial is the id.
* **GCP**: a ``pd-balanced`` ``gcp.compute.Disk`` in the host's zone (encrypted at rest with
  Google-managed keys) and a ``gcp.compute.AttachedDisk`` with the fixed ``device_name``
  ``data``, so the host finds it under ``/dev/disk/by-id/...-data``.
* **DigitalOcean**: a ``digitalocean.Volume`` (encrypted at rest by DigitalOcean) with an explicit,
  stack-unique name, which is its ``/dev/disk/by-id/scsi-0DO_Volume_<name>`` on the droplet, and a
  ``digitalocean.VolumeAttachment``.

The volume resources are stateful: ``protect`` follows ``protectStateful`` and
``retain_on_delete`` is always on, so neither ``pulumi destroy`` nor a replacement deletes data.
The volume is created before the host (the host's cloud-config names it), the attachment after
it; the instance id therefore arrives as an input that may be a deferred output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional

import pulumi

from components import type_token
from components.render.cloud_config import AWS_DATA_DEVICE_NAME, GCP_DATA_DEVICE_NAME

if TYPE_CHECKING:  # pragma: no cover - typing only
    from components.clouds import CloudBase


@dataclass
class DataVolumeArgs:
    """Arguments of ``DataVolume``."""

    base: CloudBase
    zone: str
    size_gb: int
    # The host's instance id (AWS), instance id/self link (GCP) or droplet id (DigitalOcean).
    instance_id: pulumi.Input[str]
    # The cloud-side name: EBS Name tag, DigitalOcean volume name (shows up on the host).
    volume_name: str
    protect: bool = True


class DataVolume(pulumi.ComponentResource):
    """An encrypted, protected data volume attached to one host."""

    volume_key: pulumi.Output[str]

    def __init__(self, name: str, args: DataVolumeArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        if args.size_gb < 1:
            raise ValueError(f"data volume {name}: size must be at least 1 GB; got {args.size_gb}")
        cloud = args.base.cloud
        super().__init__(
            type_token("DataVolume"),
            name,
            {
                "cloud": cloud,
                "zone": args.zone,
                "sizeGb": args.size_gb,
                "encrypted": True,
                "protect": args.protect,
                "retainOnDelete": True,
            },
            opts,
        )
        self.cloud = cloud
        self.size_gb = args.size_gb
        stateful = pulumi.ResourceOptions(parent=self, protect=args.protect, retain_on_delete=True)
        child = pulumi.ResourceOptions(parent=self)
        self.volume: pulumi.CustomResource
        self.attachment: pulumi.CustomResource

        if cloud == "aws":
            import pulumi_aws as aws

            ebs = aws.ebs.Volume(
                f"{name}-volume",
                availability_zone=args.zone,
                size=args.size_gb,
                type="gp3",
                encrypted=True,
                tags={"Name": args.volume_name},
                opts=stateful,
            )
            self.volume = ebs
            self.attachment = aws.ec2.VolumeAttachment(
                f"{name}-attachment",
                device_name=AWS_DATA_DEVICE_NAME,
                volume_id=ebs.id,
                instance_id=args.instance_id,
                opts=child,
            )
            self.volume_key = ebs.id
        elif cloud == "gcp":
            import pulumi_gcp as gcp

            disk = gcp.compute.Disk(
                f"{name}-disk",
                zone=args.zone,
                size=args.size_gb,
                type="pd-balanced",
                labels={"volume": args.volume_name},
                opts=stateful,
            )
            self.volume = disk
            self.attachment = gcp.compute.AttachedDisk(
                f"{name}-attachment",
                disk=disk.id,
                instance=args.instance_id,
                zone=args.zone,
                device_name=GCP_DATA_DEVICE_NAME,
                opts=child,
            )
            self.volume_key = pulumi.Output.from_input(GCP_DATA_DEVICE_NAME)
        elif cloud == "digitalocean":
            import pulumi_digitalocean as digitalocean

            volume = digitalocean.Volume(
                f"{name}-volume",
                name=args.volume_name,
                region=args.zone,
                size=args.size_gb,
                description=f"rancher-stacks data volume {args.volume_name}",
                opts=stateful,
            )
            self.volume = volume
            self.attachment = digitalocean.VolumeAttachment(
                f"{name}-attachment",
                droplet_id=pulumi.Output.from_input(args.instance_id).apply(int),
                volume_id=volume.id,
                opts=child,
            )
            self.volume_key = pulumi.Output.from_input(args.volume_name)
        else:
            raise ValueError(f"data volume {name}: no data volumes on cloud {cloud!r}")
        self.register_outputs({"volumeId": self.volume.id, "volumeKey": self.volume_key})
