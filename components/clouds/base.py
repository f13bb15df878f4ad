"""The cloud-neutral seam between host groups and the clouds: protocols and shared types.

A *cloud base* is created once per stack for each cloud some workload uses (see ``registry``).
It owns the explicit provider (built from our config; credentials come from the environment)
and the shared pieces every host on that cloud needs: the image, the SSH key, network lookups.
It also renders what differs per cloud behind methods: a host group's firewall, a data volume
and where that volume shows up on the host. ``HostGroup``, ``Firewall`` and ``DataVolume`` only
talk to the ``CloudBase`` protocol, so nothing outside ``clouds/`` branches on a cloud's name.

This module names no cloud and imports nothing above it.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Protocol, Sequence

import pulumi

from ..config import Backups
from ..hostos import HostOsRelease
from ..net.ports import PortRange
from .disk import DEFAULT_MOUNT_POINT, DataDisk


@dataclass(frozen=True)
class FailureDomain:
    """Where a host can fail together with others: cloud, region, zone."""

    cloud: str
    region: str
    zone: str

    def __str__(self) -> str:
        return f"{self.cloud}/{self.region}/{self.zone}"


@dataclass
class SshSettings:
    """How Pulumi logs in to hosts. ``private_key`` None means: use the SSH agent."""

    user: str = "rancher"
    private_key: Optional[pulumi.Input[str]] = None


@dataclass(frozen=True)
class HostAccess:
    """How every host of the stack is seeded and reached (from the stack config)."""

    ssh: Optional[SshSettings]
    ssh_public_key: Optional[str]
    admin_cidrs: tuple[str, ...]
    protect_stateful: bool
    os: HostOsRelease
    stack: str
    # Scheduled snapshots of data volumes; None when ``rancher-stacks:backups.enabled`` is false.
    backups: Optional[Backups] = None


@dataclass
class HostSpec:
    """What a host group asks a cloud base for: one RancherOS-family machine."""

    hostname: str
    zone: str
    size: str
    user_data: pulumi.Input[str]
    # The group's firewall handle (AWS security group id, GCP network tag, DigitalOcean tag): it
    # exists before any instance, so hosts launch already attached (no cycle with the rules).
    firewall_handle: pulumi.Input[str]


@dataclass
class ResolvedSource:
    """One rule source, resolved to what any cloud can render.

    ``key`` names the source in resource names (``admin``, ``world``, a group name, ``self``);
    ``host_ips``/``host_count`` are a group's public addresses (an output list of known length);
    ``handle`` is the native firewall handle of a group on the firewall's own cloud.
    """

    key: str
    label: str
    ipv4: list[str]
    ipv6: list[str]
    host_ips: Optional[pulumi.Output[list[str]]] = None
    host_count: int = 0
    handle: Optional[pulumi.Input[str]] = None

    def addresses(self, static: Sequence[str]) -> Optional[pulumi.Input[list[str]]]:
        """``static`` CIDRs plus the hosts' /32s, or None when there is no address at all."""
        if self.host_ips is None or self.host_count == 0:
            return list(static) if static else None
        fixed = list(static)
        count = self.host_count
        return self.host_ips.apply(lambda ips: fixed + host_cidrs(ips, count))


def host_cidr(ips: Sequence[Optional[str]], index: int, count: int) -> str:
    """The /32 (or /128) of host ``index``; fails loudly rather than allowing a bad source."""
    if len(ips) != count:
        raise ValueError(f"expected {count} host addresses, got {len(ips)}: {list(ips)}")
    ip = ips[index]
    if not ip:
        raise ValueError(f"host {index} has no public IP address (got {ip!r})")
    address = ipaddress.ip_address(ip)
    return f"{address}/{address.max_prefixlen}"


def host_cidrs(ips: Sequence[Optional[str]], count: int) -> list[str]:
    """All hosts' /32s, in order."""
    return [host_cidr(ips, i, count) for i in range(count)]


@dataclass
class ResolvedRule:
    """A rule with its source resolved: what a cloud's firewall renderer gets."""

    key: str
    service: str
    ports: tuple[PortRange, ...]
    description: str
    source: ResolvedSource


@dataclass
class FirewallRequest:
    """Everything a cloud needs to render one host group's firewall."""

    name: str  # the Pulumi name prefix of its child resources
    target: str  # the group's stack-unique cloud-side name (SG name tag, network tag, DO tag)
    rules: list[ResolvedRule]
    parent: pulumi.Resource


@dataclass
class RenderedFirewall:
    """What a cloud rendered: the handle hosts launch with, and the resources it made."""

    handle: pulumi.Input[str]
    resources: list[pulumi.CustomResource] = field(default_factory=list)


@dataclass
class VolumeRequest:
    """One host's data volume, as a cloud creates it."""

    name: str
    zone: str
    size_gb: int
    # The host's instance id (AWS), instance self link (GCP) or droplet id (DigitalOcean).
    instance_id: pulumi.Input[str]
    # The cloud-side name: EBS Name tag, GCP label, DigitalOcean volume name.
    volume_name: str
    parent: pulumi.Resource
    protect: bool
    # The cloud's snapshot schedule the volume joins (set by the cloud base; None: no backups).
    schedule: Optional[SnapshotSchedule] = None


@dataclass(frozen=True)
class SnapshotSchedule:
    """A cloud's scheduled snapshots, as a data volume joins them.

    ``tags``: what the schedule selects volumes by (the AWS DLM policy's target tags), to be set
    on the volume. ``policy``/``policy_name``: a schedule the volume is attached to by name (a GCP
    resource policy). A cloud fills in what its scheduler needs.
    """

    tags: Mapping[str, str] = field(default_factory=dict)
    policy: Optional[pulumi.CustomResource] = None
    policy_name: Optional[pulumi.Output[str]] = None


@dataclass
class CreatedVolume:
    """A cloud's data volume, its attachment, and the key that names it on the host."""

    volume: pulumi.CustomResource
    attachment: pulumi.CustomResource
    volume_key: pulumi.Output[str]
    # What tells this volume from a later one of the same name (default: its id). A GCP disk's
    # id is its path, the same for a replacement; its server-defined ``disk_id`` is not.
    identity: Optional[pulumi.Output[str]] = None
    # What puts the volume on its snapshot schedule when that is a resource of its own (GCP).
    backup: Optional[pulumi.CustomResource] = None


class ImageRegistry(Protocol):
    """A container registry the program pushes an image to and hosts pull it from."""

    @property
    def endpoint(self) -> pulumi.Output[str]:
        """Where images are named: ``<endpoint>/<repository>:<tag>``."""
        ...

    @property
    def server(self) -> pulumi.Output[str]:
        """The registry host name, as docker logins name it."""
        ...

    @property
    def username(self) -> pulumi.Output[str]:
        """The push credentials' user (secret): used where Pulumi runs, never on a host."""
        ...

    @property
    def password(self) -> pulumi.Output[str]:
        """The push credentials' password (secret)."""
        ...

    @property
    def docker_config(self) -> pulumi.Output[str]:
        """A Docker config document (secret) with read-only credentials for ``server``: what
        hosts pull with."""
        ...


class RancherOSHost(Protocol):
    """One RancherOS-family machine as the host group sees it."""

    @property
    def domain(self) -> FailureDomain: ...

    @property
    def public_ip(self) -> pulumi.Output[str]:
        """Where the host is reached: Pulumi's SSH, the addresses workloads advertise and print."""
        ...

    @property
    def egress_ip(self) -> pulumi.Output[str]:
        """The source address of the host's outbound traffic: what peers' firewalls admit. The
        same as ``public_ip`` where the static address also sends (AWS Elastic IP, GCP NAT IP);
        a DigitalOcean droplet's own IPv4, as its reserved IP only receives."""
        ...

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
    def has_vms(self) -> bool:
        """False for the local daemon: no machines, firewalls or volumes."""
        ...

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
        """Raise ``ValueError`` if the host OS cannot run on machines of ``size``."""
        ...

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> RancherOSHost:
        """A VM (raises on the local cloud, which has none)."""
        ...

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        """The group's firewall on this cloud, children of ``request.parent``."""
        ...

    def new_volume(self, request: VolumeRequest) -> CreatedVolume:
        """An encrypted data volume and its attachment, children of ``request.parent``."""
        ...

    def data_disk(self, volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
        """Where the volume named ``volume_key`` shows up on a host of this cloud."""
        ...


class VmCloud:
    """What the VM clouds' bases share (mixed into each ``<cloud>/base.py`` component).

    Each sets ``cloud``, ``provider`` and ``volumes`` (its ``volume`` module: ``new_volume`` and
    ``data_disk``); the provider is handed to child components under the cloud's package name.
    """

    cloud: str
    provider: pulumi.ProviderResource
    volumes: Any
    access: HostAccess
    has_vms = True
    _schedule: Optional[SnapshotSchedule] = None

    def check_size(self, size: str) -> None:
        """Every size of this cloud can run the host OS (a cloud that knows better overrides this)."""

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        """Options for a component on this cloud: parented, with this base's provider for its children."""
        return pulumi.ResourceOptions(parent=parent, providers={self.cloud: self.provider})

    def snapshot_schedule(self) -> Optional[SnapshotSchedule]:
        """This cloud's schedule for data volumes, created on first use; None when backups are off.

        A cloud that cannot schedule volume snapshots raises ``ValueError`` while backups are on.
        """
        if self.access.backups is None:
            return None
        if self._schedule is None:
            self._schedule = self.new_snapshot_schedule(self.access.backups)
        return self._schedule

    def new_snapshot_schedule(self, backups: Backups) -> SnapshotSchedule:
        """The cloud's one snapshot schedule for the stack (called once, by ``snapshot_schedule``)."""
        raise ValueError(f"rancher-stacks:backups: {self.cloud} cannot schedule volume snapshots")

    def new_volume(self, request: VolumeRequest) -> CreatedVolume:
        """An encrypted data volume and its attachment (the cloud's ``volume`` module), on the
        cloud's snapshot schedule when backups are on."""
        schedule = self.snapshot_schedule()
        created: CreatedVolume = self.volumes.new_volume(dataclasses.replace(request, schedule=schedule))
        return created

    def data_disk(self, volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
        """Where the volume named ``volume_key`` shows up on a host (the cloud's ``volume`` module)."""
        disk: DataDisk = self.volumes.data_disk(volume_key, mount_point)
        return disk


def assign_zones(zones: Sequence[str], count: int) -> list[str]:
    """The zones of a group's hosts ``0..count-1``: host ``i`` goes to ``sorted(set(zones))[i % n]``.

    A host's zone follows from its ordinal (the key in its name, ``<group>-<i>``) and the *set*
    of zones, never from where a zone sits in the configured list:

    * reordering or repeating entries of ``zones`` moves no host;
    * adding hosts never moves an existing one, and removing the last ones moves none;
    * hosts spread evenly (zone counts differ by at most one), so replicas that fit are in
      distinct zones.

    For a list given in sorted order (as every shipped stack's is) this is the round-robin the
    stacks were first deployed with, so adopting it moves nothing. Adding or removing a zone can
    move hosts (that is how they spread over it); a moved host is a new machine with a new, empty
    data volume in the new zone, and the plan diff flags both before a pull request can merge.
    """
    ordered = sorted(set(zones))
    if not ordered:
        raise ValueError("a cloud base needs at least one zone")
    return [ordered[i % len(ordered)] for i in range(count)]
