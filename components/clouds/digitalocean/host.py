"""``DigitalOceanRancherOSHost``: one RancherOS droplet.

The droplet boots the ``rancheros`` slug or the stack's custom RancherOS image, gets the
cloud-config as user data and the stack's SSH key, and carries the host group's tag, which the
group's DigitalOcean firewall targets. The RancherOS image needs a disk of at least 50 GB, so a
droplet size known to be smaller is rejected before anything is created.

A droplet is replaced whenever its user data or keys change (the API cannot change them), and a
new droplet gets a new public IPv4. So each host also gets a reserved IP in its region, assigned
to the droplet: that is the host's address (``public_ip``: Pulumi's SSH, the load balancer's
``webUrl``, whatever workloads advertise), and it survives a replacement. The droplet's own
address stays the source of its outbound traffic (``egress_ip``), which is what peers' firewalls
admit: see ``DigitalOceanRancherOSHost``.
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
    # A reserved IP as the host's address (``clouds.digitalocean.reservedIps``).
    reserved_ip: bool = True


class DigitalOceanRancherOSHost(pulumi.ComponentResource):
    """A RancherOS droplet; exposes its addresses and failure domain."""

    public_ip: pulumi.Output[str]
    egress_ip: pulumi.Output[str]
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
        self.address: Optional[digitalocean.ReservedIp] = None
        self.assignment: Optional[digitalocean.ReservedIpAssignment] = None
        # Without a reserved IP (``clouds.digitalocean.reservedIps: false``) the host is reached at
        # the droplet's own address, a new one after every replacement.
        self.public_ip = self.instance.ipv4_address
        if args.reserved_ip:
            # The host's stable public address. Resource names come from the host's name (a stable
            # key), never a list position. terraform-provider-digitalocean
            # digitalocean/reservedip/resource_reserved_ip.go: ``region`` is the only ForceNew input
            # (``ip_address`` is computed, ``droplet_id`` updates in place); the droplet is assigned
            # by the separate assignment below, never by ``droplet_id`` here (the provider's docs:
            # the two ways cannot be combined). A region change replaces the droplets anyway.
            self.address = digitalocean.ReservedIp(
                f"{name}-ip", region=args.region, opts=pulumi.ResourceOptions(parent=self)
            )
            # resource_reserved_ip_assignment.go: ``ip_address`` and ``droplet_id`` are both
            # ForceNew, so a replaced droplet replaces the assignment. Pulumi's default order (create the new
            # one, delete the old one later) works with this provider, so no deleteBeforeReplace:
            # - create calls the ``assign`` action for the new droplet while the address is still on
            #   the old one; assigning an assigned reserved IP moves it (DigitalOcean's "How to
            #   Reassign or Unassign Reserved IPs": reassigning is the same ``assign`` action);
            # - delete of the old assignment reads the reserved IP and unassigns it only if it is
            #   still on the OLD droplet's id; it is on the new one, so it only drops the old state.
            # The address thus moves in one step, before the old droplet is deleted; deleting the
            # old assignment first would leave the address unassigned in between for nothing.
            self.assignment = digitalocean.ReservedIpAssignment(
                f"{name}-ip-assignment",
                ip_address=self.address.ip_address,
                droplet_id=self.instance.id.apply(int),
                opts=pulumi.ResourceOptions(parent=self),
            )
            # Anything that reaches the host by this address waits until it is assigned to THIS
            # droplet: after a replacement, Pulumi's SSH must not reach the old one through it.
            self.public_ip = pulumi.Output.all(self.address.ip_address, self.assignment.id).apply(
                lambda v: v[0]
            )
        # Outbound traffic does NOT leave from the reserved IP. A reserved IP only receives: the
        # droplet's connections keep its own public IPv4 as source unless its default route is
        # moved to the anchor gateway (DigitalOcean docs, "How to Send Outbound Traffic Over a
        # Reserved IP"; droplets from custom images, ours, get no anchor IP at all: "Reserved IP
        # Limits" and "How to Find Information about Droplet Anchor IPs"). Peers' firewalls admit
        # a group by its hosts' source addresses (``ResolvedSource.addresses``: FromGroup across
        # clouds, FromSelf, and same-cloud FromGroup next to the tag), so they must admit THIS
        # address, not the reserved one: a Mongo firewall on GCP admitting the web app droplets
        # by reserved IP would drop every connection. That /32 still changes when a droplet is
        # replaced; the rules update in place (the plan diff shows it).
        self.egress_ip = self.instance.ipv4_address
        self.private_ip = self.instance.ipv4_address_private
        self.register_outputs(
            {
                "dropletId": self.instance_id,
                "publicIp": self.public_ip,
                "egressIp": self.egress_ip,
                "privateIp": self.private_ip,
            }
        )
