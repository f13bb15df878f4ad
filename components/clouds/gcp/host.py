"""``GcpRancherOSHost``: one RancherOS Compute Engine instance.

The boot disk is created from the stack's RancherOS image; the cloud-config goes into the
instance metadata key ``user-data`` (where RancherOS's GCE datasource reads it), and
``block-project-ssh-keys`` keeps project-wide keys off the host, so only the stack's key (from
the cloud-config) logs in as ``rancher``. The instance carries the host group's network tag,
which the group's firewall rules target, and gets an ephemeral public IP (access config).

Data disks are attached by a separate ``gcp.compute.AttachedDisk`` (see ``DataVolume``), so the
instance ignores changes to its ``attachedDisks`` (otherwise every update would detach them).
Persistent disks are encrypted at rest by Google with Google-managed keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

import pulumi
import pulumi_gcp as gcp

from ...naming import type_token
from ..base import FailureDomain


@dataclass
class GcpRancherOSHostArgs:
    """Arguments of ``GcpRancherOSHost``."""

    hostname: str
    region: str
    zone: str
    machine_type: str
    image: pulumi.Input[str]
    network: pulumi.Input[str]
    subnetwork: pulumi.Input[str]
    network_tags: Sequence[pulumi.Input[str]]
    user_data: pulumi.Input[str]
    boot_disk_gb: int = 20
    labels: Mapping[str, str] = field(default_factory=dict)


class GcpRancherOSHost(pulumi.ComponentResource):
    """A RancherOS GCE instance; exposes its addresses and failure domain."""

    public_ip: pulumi.Output[str]
    egress_ip: pulumi.Output[str]
    private_ip: pulumi.Output[str]
    instance_id: pulumi.Output[str]

    def __init__(
        self, name: str, args: GcpRancherOSHostArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(
            type_token("GcpRancherOSHost"),
            name,
            {
                "cloud": "gcp",
                "region": args.region,
                "zone": args.zone,
                "size": args.machine_type,
                "bootDiskGb": args.boot_disk_gb,
                "encrypted": True,
                "networkTags": list(args.network_tags),
            },
            opts,
        )
        self.domain = FailureDomain("gcp", args.region, args.zone)
        # A static external address: an ephemeral one changes when the instance stops (a machine
        # type change with allow_stopping_for_update), and this one is baked into peers' firewall
        # rules, member certificates and the replica-set config.
        self.address = gcp.compute.Address(
            f"{name}-ip",
            region=args.region,
            address_type="EXTERNAL",
            description=f"rancher-stacks host {args.hostname}",
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.instance = gcp.compute.Instance(
            f"{name}-instance",
            zone=args.zone,
            machine_type=args.machine_type,
            boot_disk=gcp.compute.InstanceBootDiskArgs(
                auto_delete=True,
                initialize_params=gcp.compute.InstanceBootDiskInitializeParamsArgs(
                    image=args.image, size=args.boot_disk_gb, type="pd-balanced"
                ),
            ),
            network_interfaces=[
                gcp.compute.InstanceNetworkInterfaceArgs(
                    network=args.network,
                    subnetwork=args.subnetwork,
                    access_configs=[gcp.compute.InstanceNetworkInterfaceAccessConfigArgs(nat_ip=self.address.address)],
                )
            ],
            metadata={"user-data": args.user_data, "block-project-ssh-keys": "true"},
            tags=list(args.network_tags),
            labels={"host": args.hostname, **dict(args.labels)},
            allow_stopping_for_update=True,
            # ``attachedDisks``: the data disk is attached by its own AttachedDisk resource.
            # ``bootDisk.initializeParams.image``: the boot image is a launch-time input whose change
            # (a new hostOs version, or any edit of the image resource, which replaces it: every
            # field of google_compute_image is ForceNew) would replace the machine. Running hosts
            # keep their boot disk and are rolled one at a time with ``pulumi up --replace <urn>``.
            opts=pulumi.ResourceOptions(
                parent=self, ignore_changes=["attachedDisks", "bootDisk.initializeParams.image"]
            ),
        )
        self.instance_id = self.instance.id
        nic = self.instance.network_interfaces.apply(lambda nics: nics[0])
        self.private_ip = nic.apply(lambda n: n.network_ip or "")
        self.public_ip = nic.apply(
            lambda n: (n.access_configs[0].nat_ip or "") if n.access_configs else ""
        )
        # The static address is the access config's one-to-one NAT IP, used for outbound traffic
        # as well (Compute Engine "IP addresses": an external IPv4 in an access config serves both
        # directions), so peers admit the host by the same address.
        self.egress_ip = self.public_ip
        self.register_outputs(
            {"instanceId": self.instance_id, "publicIp": self.public_ip, "privateIp": self.private_ip}
        )
