"""``DigitalOceanBase``: the per-stack DigitalOcean pieces every RancherOS-family droplet shares.

* An explicit ``digitalocean.Provider``; the API token comes from ``DIGITALOCEAN_TOKEN`` in the
  environment, never from this program.
* The stack's SSH key. DigitalOcean rejects a public key already registered in the account, so
  the key is created only when the account does not hold it yet (looked up by its MD5
  fingerprint) or reused by ``clouds.digitalocean.sshKeyFingerprint``.
* The image: a custom image imported in the stack's region from ``customImageUrl`` (the one you
  built for BurmillaOS, or RancherOS's release image), ``distribution="RancherOS"``; for
  RancherOS also DigitalOcean's ``rancheros`` slug, whose availability is not guaranteed.

DigitalOcean has no zones inside a region; the region is the failure domain's zone.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_digitalocean as digitalocean

from ...config import Backups, DigitalOceanCloud
from ...hostos import RANCHEROS_DO_IMAGE_URL
from ...naming import sanitized_name, type_token
from ..base import FirewallRequest, HostAccess, HostSpec, RenderedFirewall, SnapshotSchedule, VmCloud
from . import firewall, volume
from .host import DigitalOceanRancherOSHost, DigitalOceanRancherOSHostArgs, check_droplet_size

RANCHEROS_SLUG = "rancheros"


def md5_fingerprint(public_key: str) -> str:
    """The MD5 fingerprint DigitalOcean gives an SSH public key (``aa:bb:...``, 16 bytes)."""
    try:
        blob = base64.b64decode(public_key.split()[1], validate=True)
    except (IndexError, binascii.Error):
        raise ValueError("rancher-stacks:sshPublicKey: expected an OpenSSH public key line") from None
    digest = hashlib.md5(blob, usedforsecurity=False).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def account_copy_of(public_key: str, own_name: str, opts: pulumi.InvokeOptions) -> Optional[str]:
    """The fingerprint of ``public_key`` when the account already holds it under another name.

    DigitalOcean refuses to register a key twice, so a second stack with the same key reuses the
    first one's. A key named ``own_name`` is this stack's own (created by an earlier run) and is
    kept as a resource: reusing it would make Pulumi delete it.
    """
    fingerprint = md5_fingerprint(public_key)
    found = digitalocean.get_ssh_keys(
        filters=[digitalocean.GetSshKeysFilterArgs(key="fingerprint", values=[fingerprint])], opts=opts
    )
    others = [key for key in found.ssh_keys or [] if key.fingerprint == fingerprint and key.name != own_name]
    return fingerprint if others else None


@dataclass
class DigitalOceanBaseArgs:
    """Arguments of ``DigitalOceanBase``."""

    settings: DigitalOceanCloud
    access: HostAccess


class DigitalOceanBase(VmCloud, pulumi.ComponentResource):
    """Provider, SSH key and RancherOS image for the stack's droplets."""

    # Set after ``super().__init__``: the engine turns every prop key into an Output attribute.
    cloud: str
    docker_mtu: Optional[int]
    image: pulumi.Output[str]

    def __init__(
        self, name: str, args: DigitalOceanBaseArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        s = args.settings
        host_os = args.access.os
        version = host_os.version
        image_url = (s.custom_image_url or RANCHEROS_DO_IMAGE_URL).replace("{version}", version)
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
                "hostOs": host_os.name,
                "hostOsVersion": version,
            },
            opts,
        )
        if not args.access.ssh_public_key:
            raise ValueError("rancher-stacks:sshPublicKey is required for DigitalOcean droplets")
        self.cloud = "digitalocean"
        self.volumes = volume
        self.docker_mtu = None
        self.settings = s
        self.access = args.access
        self.region = s.region
        self.zones = [s.region]
        self.default_size = s.size

        self.provider = digitalocean.Provider(f"{name}-provider", opts=pulumi.ResourceOptions(parent=self))
        child = pulumi.ResourceOptions(parent=self, provider=self.provider)
        key_name = sanitized_name("rancher-stacks", args.access.stack)
        self.ssh_key: Optional[digitalocean.SshKey] = None
        reused = s.ssh_key_fingerprint or account_copy_of(
            args.access.ssh_public_key, key_name, pulumi.InvokeOptions(parent=self, provider=self.provider)
        )
        if reused is not None:
            self.ssh_key_fingerprint: pulumi.Output[str] = pulumi.Output.from_input(reused)
        else:
            self.ssh_key = digitalocean.SshKey(
                f"{name}-ssh-key", name=key_name, public_key=args.access.ssh_public_key, opts=child
            )
            self.ssh_key_fingerprint = self.ssh_key.fingerprint
        self.custom_image: Optional[digitalocean.CustomImage] = None
        if s.image == "custom":
            self.custom_image = digitalocean.CustomImage(
                f"{name}-{host_os.name}",
                name=sanitized_name(host_os.name, version.replace(".", "-"), args.access.stack),
                url=image_url,
                regions=[s.region],
                distribution="RancherOS",
                description=f"{host_os.title} {version} from {image_url}",
                opts=child,
            )
            self.image = self.custom_image.id
        else:
            self.image = pulumi.Output.from_input(RANCHEROS_SLUG)
        self.register_outputs({"image": self.image, "sshKeyFingerprint": self.ssh_key_fingerprint})

    def check_size(self, size: str) -> None:
        """Droplet sizes known to have less than the 50 GB disk RancherOS needs are refused."""
        check_droplet_size(size)

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
                ssh_key_fingerprints=[self.ssh_key_fingerprint],
                tags=[spec.firewall_handle],
                user_data=spec.user_data,
                reserved_ip=self.settings.reserved_ips,
            ),
            opts,
        )

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        """A tag and a firewall on it (``firewall``)."""
        return firewall.render_firewall(request)

    def new_snapshot_schedule(self, backups: Backups) -> SnapshotSchedule:
        """Refused: DigitalOcean cannot schedule volume snapshots.

        Its automated backups cover a droplet's own disk only ("DigitalOcean's automated backups do
        not include volumes", https://docs.digitalocean.com/products/images/backups/details/features/),
        and volume snapshots are on-demand images
        (https://docs.digitalocean.com/products/images/snapshots/details/limits/); the provider's
        ``digitalocean.VolumeSnapshot`` takes one snapshot when it is created, not on a schedule.
        The config check refuses such a stack first (``rancher-stacks:workloads.<name>.cloud``);
        this guards programs that build host groups themselves.
        """
        raise ValueError(
            "rancher-stacks:backups: DigitalOcean has no scheduled snapshots for block storage volumes; "
            "put data volumes on aws or gcp, or set backups.enabled false and back them up another way"
        )



def make_base(name: str, settings: DigitalOceanCloud, access: HostAccess) -> DigitalOceanBase:
    """The registry's factory: the stack's DigitalOcean base."""
    return DigitalOceanBase(name, DigitalOceanBaseArgs(settings=settings, access=access))
