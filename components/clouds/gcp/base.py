"""``GcpBase``: the per-stack GCP pieces every RancherOS-family host on GCP shares.

* An explicit ``gcp.Provider`` for the configured project and region. Credentials come from the
  environment (``GOOGLE_CREDENTIALS`` or Application Default Credentials), never from here.
* The host OS image. Neither OS has a public image project, so a GCE tarball (a ``disk.raw``
  inside) is imported as a private image from its GCS URL (``rawDisk.source``): the one you
  built for BurmillaOS (``clouds.gcp.imageUrl``), or RancherOS's ``rancheros-gce.tar.gz``.
  The GCE network MTU is 1460, so hosts on GCP get Docker's MTU set to 1460 in their
  cloud-config (``docker_mtu``).
* The stack's own VPC network (custom mode, MTU 1460) and one subnet in the region. The project's
  ``default`` network is never used: GCP pre-populates it with rules that admit SSH (22) and RDP
  (3389) from 0.0.0.0/0 (``default-allow-ssh``, ``default-allow-rdp``), which this program did
  not write and the policy pack cannot see. A new network has no ingress allow rule at all (the
  implied rules deny all ingress, allow all egress) and a system-generated default route to the
  internet, so every ingress rule the hosts have is one of ours.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_gcp as gcp

from ...config import Backups, GcpCloud
from ...hostos import RANCHEROS_GCE_IMAGE_URL
from ...naming import sanitized_name, type_token
from ..base import FirewallRequest, HostAccess, HostSpec, RenderedFirewall, SnapshotSchedule, VmCloud
from . import backup, firewall, volume
from .host import GcpRancherOSHost, GcpRancherOSHostArgs

# The GCE network's MTU; Docker's default 1500 silently drops large packets between hosts.
GCE_MTU = 1460


@dataclass
class GcpBaseArgs:
    """Arguments of ``GcpBase``."""

    settings: GcpCloud
    access: HostAccess


class GcpBase(VmCloud, pulumi.ComponentResource):
    """Provider and RancherOS image for the stack's GCP hosts."""

    # Set after ``super().__init__``: the engine turns every prop key into an Output attribute.
    cloud: str
    docker_mtu: Optional[int]
    image_self_link: pulumi.Output[str]

    def __init__(self, name: str, args: GcpBaseArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        s = args.settings
        host_os = args.access.os
        image_url = (s.image_url or RANCHEROS_GCE_IMAGE_URL).replace("{version}", host_os.version)
        super().__init__(
            type_token("GcpBase"),
            name,
            {
                "cloud": "gcp",
                "project": s.project,
                "region": s.region,
                "zones": sorted(set(s.zones)),
                "machineType": s.machine_type,
                "subnetCidr": s.subnet_cidr,
                "imageUrl": image_url,
                "dockerMtu": GCE_MTU,
                "hostOs": host_os.name,
                "hostOsVersion": host_os.version,
            },
            opts,
        )
        self.cloud = "gcp"
        self.volumes = volume
        self.docker_mtu = GCE_MTU
        self.settings = s
        self.access = args.access
        self.region = s.region
        self.zones = sorted(set(s.zones))  # only the set counts (assign_zones)
        self.default_size = s.machine_type
        self.base_name = name

        self.provider = gcp.Provider(
            f"{name}-provider",
            project=s.project,
            region=s.region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        network_opts = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.vpc = gcp.compute.Network(
            f"{name}-network",
            auto_create_subnetworks=False,
            mtu=GCE_MTU,
            description=f"rancher-stacks {args.access.stack}: the stack's hosts; no rule but the stack's own",
            opts=network_opts,
        )
        self.subnet = gcp.compute.Subnetwork(
            f"{name}-subnet",
            network=self.vpc.id,
            region=s.region,
            ip_cidr_range=s.subnet_cidr,
            description=f"rancher-stacks {args.access.stack} hosts in {s.region}",
            opts=network_opts,
        )
        self.network: pulumi.Output[str] = self.vpc.self_link
        self.image = gcp.compute.Image(
            f"{name}-{host_os.name}",
            raw_disk=gcp.compute.ImageRawDiskArgs(source=image_url),
            family=host_os.name,
            description=(
                f"{host_os.title} {host_os.version} imported from {image_url}; "
                f"hosts set Docker's MTU to {GCE_MTU}"
            ),
            opts=pulumi.ResourceOptions(parent=self, provider=self.provider),
        )
        self.image_self_link = self.image.self_link
        self.register_outputs({"image": self.image_self_link, "network": self.network})

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> GcpRancherOSHost:
        """A RancherOS GCE instance in ``spec.zone``, carrying the group's network tag."""
        if spec.zone not in self.zones:
            raise ValueError(f"zone {spec.zone!r} is not one of the GCP zones {self.zones}")
        return GcpRancherOSHost(
            name,
            GcpRancherOSHostArgs(
                hostname=spec.hostname,
                region=self.region,
                zone=spec.zone,
                machine_type=spec.size,
                image=self.image_self_link,
                network=self.network,
                subnetwork=self.subnet.self_link,
                network_tags=[spec.firewall_handle],
                user_data=spec.user_data,
                boot_disk_gb=self.settings.boot_disk_gb,
                labels={"stack": sanitized_name(self.access.stack)},
            ),
            opts,
        )

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        """Ingress firewalls on the stack's network targeting the group's tag (``firewall``)."""
        return firewall.render_firewall(self.network, request)

    def new_snapshot_schedule(self, backups: Backups) -> SnapshotSchedule:
        """The stack's snapshot-schedule resource policy (``backup``), created with the first data disk."""
        return backup.new_snapshot_policy(
            self.base_name,
            backups,
            self.region,
            sanitized_name(self.access.stack),
            pulumi.ResourceOptions(parent=self, provider=self.provider),
        )



def make_base(name: str, settings: GcpCloud, access: HostAccess) -> GcpBase:
    """The registry's factory: the stack's GCP base."""
    return GcpBase(name, GcpBaseArgs(settings=settings, access=access))
