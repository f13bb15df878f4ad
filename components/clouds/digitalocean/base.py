"""``DigitalOceanBase``: the per-stack DigitalOcean pieces every RancherOS droplet shares.

* An explicit ``digitalocean.Provider``; the API token comes from ``DIGITALOCEAN_TOKEN`` in the
  environment, never from this program.
* The stack's SSH key (DigitalOcean rejects a public key already registered in the account, so
  two stacks in one account need different keys).
* The image: DigitalOcean's ``rancheros`` slug, or (default, since the slug's availability is
  not guaranteed) a custom image imported from the RancherOS DigitalOcean release image, with
  ``distribution="RancherOS"``, in the stack's region.

DigitalOcean has no zones inside a region; the region is the failure domain's zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_digitalocean as digitalocean

from ...config import DigitalOceanCloud
from ...naming import sanitized_name, type_token
from ..base import (
    CreatedVolume,
    FirewallRequest,
    HostAccess,
    HostSpec,
    RenderedFirewall,
    VolumeRequest,
)
from ..disk import DEFAULT_MOUNT_POINT, DataDisk
from . import firewall, volume
from .host import DigitalOceanRancherOSHost, DigitalOceanRancherOSHostArgs, check_droplet_size

RANCHEROS_SLUG = "rancheros"


@dataclass
class DigitalOceanBaseArgs:
    """Arguments of ``DigitalOceanBase``."""

    settings: DigitalOceanCloud
    access: HostAccess


class DigitalOceanBase(pulumi.ComponentResource):
    """Provider, SSH key and RancherOS image for the stack's droplets."""

    # Set after ``super().__init__``: the engine turns every prop key into an Output attribute.
    cloud: str
    has_vms: bool
    docker_mtu: Optional[int]
    image: pulumi.Output[str]

    def __init__(
        self, name: str, args: DigitalOceanBaseArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        s = args.settings
        version = args.access.rancheros_version
        image_url = s.custom_image_url.replace("{version}", version)
        super().__init__(
            type_token("DigitalOceanBase"),
            name,
            {
                "cloud": "digitalocean",
                "region": s.region,
                "zones": [s.region],
                "size": s.size,
                "image": s.image,
                "imageUrl": image_url if s.image == "custom" else None,
                "rancherosVersion": version,
            },
            opts,
        )
        if not args.access.ssh_public_key:
            raise ValueError("rancher-stacks:sshPublicKey is required for DigitalOcean droplets")
        self.cloud = "digitalocean"
        self.has_vms = True
        self.docker_mtu = None
        self.settings = s
        self.access = args.access
        self.region = s.region
        self.zones = [s.region]
        self.default_size = s.size

        self.provider = digitalocean.Provider(f"{name}-provider", opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        self.ssh_key = digitalocean.SshKey(
            f"{name}-ssh-key",
            name=sanitized_name("rancher-stacks", args.access.stack),
            public_key=args.access.ssh_public_key,
            opts=child,
        )
        self.custom_image: Optional[digitalocean.CustomImage] = None
        if s.image == "custom":
            self.custom_image = digitalocean.CustomImage(
                f"{name}-rancheros",
                name=sanitized_name("rancheros", version.replace(".", "-"), args.access.stack),
                url=image_url,
                regions=[s.region],
                distribution="RancherOS",
                description=f"RancherOS {version} from {image_url}",
                opts=child,
            )
            self.image = self.custom_image.id
        else:
            self.image = pulumi.Output.from_input(RANCHEROS_SLUG)
        self.register_outputs({"image": self.image, "sshKeyFingerprint": self.ssh_key.fingerprint})

    def check_size(self, size: str) -> None:
        """Droplet sizes known to have less than the 50 GB disk RancherOS needs are refused."""
        check_droplet_size(size)

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a component on DigitalOcean: parented, with this base's provider."""
        return pulumi.ResourceOptions(parent=parent, providers={"digitalocean": self.provider})

    def new_host(
        self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions
    ) -> DigitalOceanRancherOSHost:
        """A RancherOS droplet carrying the group's tag."""
        if spec.zone != self.region:
            raise ValueError(f"zone {spec.zone!r} is not the DigitalOcean region {self.region!r}")
        return DigitalOceanRancherOSHost(
            name,
            DigitalOceanRancherOSHostArgs(
                hostname=spec.hostname,
                region=self.region,
                size=spec.size,
                image=self.image,
                ssh_key_fingerprints=[self.ssh_key.fingerprint],
                tags=[spec.firewall_handle],
                user_data=spec.user_data,
            ),
            opts,
        )

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        """A tag and a firewall on it (``firewall``)."""
        return firewall.render_firewall(request)

    def new_volume(self, request: VolumeRequest) -> CreatedVolume:
        """A block storage volume and its attachment (``volume``)."""
        return volume.new_volume(request)

    def data_disk(self, volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
        return volume.data_disk(volume_key, mount_point)


def make_base(name: str, settings: DigitalOceanCloud, access: HostAccess) -> DigitalOceanBase:
    """The registry's factory: the stack's DigitalOcean base."""
    return DigitalOceanBase(name, DigitalOceanBaseArgs(settings=settings, access=access))
