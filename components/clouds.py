"""The cloud-neutral seam between host groups and the clouds, and the factory of cloud bases.

A *cloud base* is created once per stack for each cloud some workload uses. It owns the
explicit provider (built from our config; credentials come from the environment) and the shared
pieces every host on that cloud needs: the RancherOS image, the SSH key, network lookups. The
``HostGroup`` only talks to the ``CloudBase`` protocol below, so it never branches on AWS, GCP or
DigitalOcean details: it asks the base for component options (which carry the provider) and for
new hosts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Protocol, Sequence

import pulumi

from components.config import StackConfig
from components.dockerhost import FailureDomain, SshSettings

if TYPE_CHECKING:  # pragma: no cover - typing only
    from components.firewall import Firewall

CLOUD_ORDER: tuple[str, ...] = ("aws", "gcp", "digitalocean", "local")


@dataclass(frozen=True)
class HostAccess:
    """How every host of the stack is seeded and reached (from the stack config)."""

    ssh: Optional[SshSettings]
    ssh_public_key: Optional[str]
    admin_cidrs: tuple[str, ...]
    protect_stateful: bool
    rancheros_version: str
    stack: str


@dataclass
class HostSpec:
    """What a host group asks a cloud base for: one RancherOS machine."""

    hostname: str
    zone: str
    size: str
    user_data: pulumi.Input[str]
    # The group's firewall: its AWS security group id / GCP tag / DigitalOcean tag exist before
    # any instance, so hosts are launched already attached (no cycle with the rules).
    firewall: Firewall


class RancherOSHost(Protocol):
    """One RancherOS machine as the host group sees it."""

    @property
    def domain(self) -> FailureDomain: ...

    @property
    def public_ip(self) -> pulumi.Output[str]: ...

    @property
    def private_ip(self) -> pulumi.Output[str]: ...

    @property
    def instance(self) -> pulumi.CustomResource:
        """The VM resource: what the Docker daemon is not usable before."""
        ...

    @property
    def instance_id(self) -> pulumi.Output[str]:
        """What a data volume attachment references."""
        ...


class CloudBase(Protocol):
    """What ``HostGroup``, ``Firewall`` and ``DataVolume`` need from a cloud."""

    @property
    def cloud(self) -> str: ...

    @property
    def region(self) -> str: ...

    @property
    def zones(self) -> list[str]: ...

    @property
    def default_size(self) -> str: ...

    @property
    def docker_mtu(self) -> Optional[int]:
        """Docker's MTU when the cloud network needs a smaller one (GCE: 1460)."""
        ...

    @property
    def access(self) -> HostAccess: ...

    @property
    def provider(self) -> Optional[pulumi.ProviderResource]: ...

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a component on this cloud: parented, carrying the explicit provider."""
        ...

    def check_size(self, size: str) -> None:
        """Raise ``ValueError`` if RancherOS cannot run on machines of ``size``."""
        ...

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> RancherOSHost:
        """A RancherOS VM (raises on the local cloud, which has none)."""
        ...


def host_access(cfg: StackConfig, ssh: Optional[SshSettings]) -> HostAccess:
    """The stack-wide host settings of ``cfg``."""
    return HostAccess(
        ssh=ssh,
        ssh_public_key=cfg.ssh_public_key,
        admin_cidrs=tuple(cfg.admin_cidrs),
        protect_stateful=cfg.protect_stateful,
        rancheros_version=cfg.rancheros_version,
        stack=pulumi.get_stack(),
    )


def clouds_in_use(cfg: StackConfig) -> list[str]:
    """The clouds some workload runs on, in a fixed order."""
    used = {workload.cloud for _, workload in cfg.workload_items()}
    return [cloud for cloud in CLOUD_ORDER if cloud in used]


def make_cloud_bases(cfg: StackConfig, ssh: SshSettings) -> dict[str, CloudBase]:
    """One base per cloud that some workload uses, keyed by cloud name (``"aws"``, ...).

    Clouds configured under ``clouds`` but used by no workload get nothing, so an idle cloud
    costs no provider, image or key.
    """
    access = host_access(cfg, ssh)
    bases: dict[str, CloudBase] = {}
    # Each cloud's SDK is an optional extra: import a base only when the stack uses its cloud.
    for cloud in clouds_in_use(cfg):
        if cloud == "aws" and cfg.clouds.aws is not None:
            from components.aws_base import AwsBase, AwsBaseArgs

            bases[cloud] = AwsBase("aws", AwsBaseArgs(settings=cfg.clouds.aws, access=access))
        elif cloud == "gcp" and cfg.clouds.gcp is not None:
            from components.gcp_base import GcpBase, GcpBaseArgs

            bases[cloud] = GcpBase("gcp", GcpBaseArgs(settings=cfg.clouds.gcp, access=access))
        elif cloud == "digitalocean" and cfg.clouds.digitalocean is not None:
            from components.digitalocean_base import DigitalOceanBase, DigitalOceanBaseArgs

            bases[cloud] = DigitalOceanBase(
                "digitalocean", DigitalOceanBaseArgs(settings=cfg.clouds.digitalocean, access=access)
            )
        elif cloud == "local" and cfg.clouds.local is not None:
            from components.local_base import LocalBase, LocalBaseArgs

            bases[cloud] = LocalBase("local", LocalBaseArgs(settings=cfg.clouds.local, access=access))
    return bases


def sanitized_name(*parts: str, max_len: int = 63) -> str:
    """A lowercase ``[a-z0-9-]`` name starting with a letter: GCP tags, DO tags and volume names.

    Cloud-side names (tags, volume names) are shared by every stack in an account or project,
    so callers include the stack name in ``parts``.
    """
    raw = "-".join(p for p in parts if p).lower()
    cleaned = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in raw)
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    cleaned = cleaned.strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "rs-" + cleaned
    return cleaned[:max_len].rstrip("-")


def zones_round_robin(zones: Sequence[str], count: int) -> list[str]:
    """``count`` zones taken round-robin from ``zones`` (host i goes to zone i mod n)."""
    if not zones:
        raise ValueError("a cloud base needs at least one zone")
    return [zones[i % len(zones)] for i in range(count)]
