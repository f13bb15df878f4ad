"""``DataVolume``: one host's block volume for stateful data, and its attachment.

The cloud base creates both (``clouds/<cloud>/volume.py``: an encrypted gp3 EBS volume, a
pd-balanced persistent disk, a DigitalOcean volume) and says where the volume shows up on the
host (``volume_key``: the EBS volume id, the GCP device name, the DigitalOcean volume name).

The volume resources are stateful: ``protect`` follows ``protectStateful`` and
``retain_on_delete`` is always on, so neither ``pulumi destroy`` nor a replacement deletes data.
The volume is created before the host (the host's cloud-config names it), the attachment after
it; the instance id therefore arrives as an input that may be a deferred output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi

from ..clouds.base import CloudBase, VolumeRequest
from ..naming import type_token


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
        base = args.base
        super().__init__(
            type_token("DataVolume"),
            name,
            {
                "cloud": base.cloud,
                "zone": args.zone,
                "sizeGb": args.size_gb,
                "encrypted": True,
                "protect": args.protect,
                "retainOnDelete": True,
            },
            opts,
        )
        self.cloud = base.cloud
        self.size_gb = args.size_gb
        created = base.new_volume(
            VolumeRequest(
                name=name,
                zone=args.zone,
                size_gb=args.size_gb,
                instance_id=args.instance_id,
                volume_name=args.volume_name,
                parent=self,
                protect=args.protect,
            )
        )
        self.volume: pulumi.CustomResource = created.volume
        self.attachment: pulumi.CustomResource = created.attachment
        self.volume_key = created.volume_key
        # Changes exactly when a new volume replaces this one (the host re-checks it, workloads
        # re-run their bootstrap on it).
        self.identity: pulumi.Output[str] = created.identity or self.volume.id
        self.register_outputs({"volumeId": self.volume.id, "volumeKey": self.volume_key})
