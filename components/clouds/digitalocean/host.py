"""``DigitalOceanRancherOSHost``: one RancherOS droplet.

The droplet boots the ``rancheros`` slug or the stack's custom RancherOS image, gets the
cloud-config as user data and the stack's SSH key, and carries the host group's tag, which the
group's DigitalOcean firewall targets. The RancherOS image needs a disk of at least 50 GB, so a
droplet size known to be smaller is rejected before anything is created.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_digitalocean as digitalocean

from ...config import DO_SIZE_DISK_GB, RANCHEROS_MIN_DISK_GB
from ...naming import type_token
from ..base import FailureDomain


def check_droplet_size(size: str) -> None:
    """Refuse a droplet size known to have less disk than RancherOS needs."""
    disk = DO_SIZE_DISK_GB.get(size)
    if disk is not None and disk < RANCHEROS_MIN_DISK_GB:
        raise ValueError(
            f"droplet size {size!r} has a {disk} GB disk; RancherOS needs at least {RANCHEROS_MIN_DISK_GB} GB"
        )


@dataclass
class DigitalOceanRancherOSHostArgs:
    """Arguments of ``DigitalOceanRancherOSHost``."""

    hostname: str
    region: str
    size: str
    image: pulumi.Input[str]
    ssh_key_fingerprints: Sequence[pulumi.Input[str]]
    tags: Sequence[pulumi.Input[str]]
    user_data: pulumi.Input[str]


class DigitalOceanRancherOSHost(pulumi.ComponentResource):
    """A RancherOS droplet; exposes its addresses and failure domain."""

    public_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_id: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: DigitalOceanRancherOSHostArgs,
        opts: Optional[pulumi.ResourceOptions] = None,
    ) -> None:
        check_droplet_size(args.size)
        super().__init__(
            type_token("DigitalOceanRancherOSHost"),
            name,
            {"cloud": "digitalocean", "region": args.region, "zone": args.region, "size": args.size},
            opts,
        )
        self.domain = FailureDomain("digitalocean", args.region, args.region)
        self.instance = digitalocean.Droplet(
            f"{name}-droplet",
            name=args.hostname,
            image=args.image,
            size=args.size,
            region=args.region,
            ssh_keys=list(args.ssh_key_fingerprints),
            user_data=args.user_data,
            tags=list(args.tags),
            # ``image``: a launch-time input whose change (a new hostOs version, a new custom image)
            # would replace the droplet; running droplets are rolled one at a time with
            # ``pulumi up --replace <urn>``. ``userData`` and ``sshKeys`` are not ignored: the
            # droplet API cannot change them after creation (terraform-provider-digitalocean makes
            # them ForceNew; hashicorp/terraform PR #3740), so an edit of the cloud-config or the
            # key replaces droplets, which the plan diff flags; data volumes detach first.
            opts=pulumi.ResourceOptions(parent=self, ignore_changes=["image"]),
        )
        self.instance_id = self.instance.id
        self.public_ip = self.instance.ipv4_address
        self.private_ip = self.instance.ipv4_address_private
        self.register_outputs(
            {"dropletId": self.instance_id, "publicIp": self.public_ip, "privateIp": self.private_ip}
        )
