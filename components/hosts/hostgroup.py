"""``HostGroup``: N RancherOS-family hosts of one workload on one cloud, as Docker hosts.

On a VM cloud the group creates, in this order:

1. its ``Firewall`` (the security group / network tag / DigitalOcean tag hosts launch with);
2. per host ``i`` (zone from its ordinal and the set of zones, ``assign_zones``): a
   ``DataVolume`` when requested, the RancherOS VM whose cloud-config mounts that volume at
   ``data_dir``, the volume attachment, and a ``DockerHost`` that depends on the VM and the
   attachment and waits until the data directory is really a mount point;
3. the firewall rules that list the group's own public IPs (fed through a deferred output, so the
   graph stays firewall handle -> VMs -> rules).

On the ``local`` cloud it creates N ``DockerHost`` handles on the local daemon (addresses
``127.0.0.1``, failure domain ``local/local/host-<i>``, a data directory each), and nothing else.

``peer`` describes the group to other groups' firewalls; ``hosts`` is what workloads deploy to.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Optional, Sequence, cast

import pulumi

from ..clouds.base import CloudBase, HostSpec, RancherOSHost, SshSettings, assign_zones
from ..clouds.disk import DEFAULT_MOUNT_POINT
from ..naming import sanitized_name, type_token
from ..net.peer import PeerGroup
from ..net.ports import LINUX_DASH_SERVICE
from ..net.rules import Rule, admin_source
from .datavolume import DataVolume, DataVolumeArgs
from .dockerhost import DataVolumeWatch, DockerHost, DockerHostArgs
from .firewall import Firewall, FirewallArgs
from .render_cloud_config import render_cloud_config
from .render_linux_dash import LinuxDash

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..clouds.local.base import LocalBase

# Where a host without a data volume keeps data: /opt persists on RancherOS and is shared with
# User Docker.
ROOT_DISK_DATA_DIR = "/opt/rancher-stacks/data"


def group_target(stack: str, name: str) -> str:
    """The group's stack-unique cloud-side name: security group name, network tag, DO tag."""
    return sanitized_name("rs", stack, name)


def failed_output(exc: BaseException) -> pulumi.Output[Any]:
    """An output that fails with ``exc``.

    A deferred output that is never resolved keeps its consumers (and so the whole program)
    waiting forever; when building a group fails, its deferred outputs resolve to this, so the
    program fails with the original error instead of hanging.
    """

    async def fail() -> Any:
        raise exc

    return pulumi.Output.from_input(asyncio.ensure_future(fail()))


@dataclass
class HostGroupArgs:
    """Arguments of ``HostGroup``. ``None`` settings fall back to the base's stack settings."""

    base: CloudBase
    count: int
    # Instance type / machine type / droplet slug; the cloud's default when None.
    size: Optional[str] = None
    # A data volume of this size per host, mounted at ``data_dir``; none when None.
    data_volume_gb: Optional[int] = None
    ingress: list[Rule] = field(default_factory=list)
    sysctl: dict[str, str] = field(default_factory=dict)
    admin_cidrs: Optional[Sequence[str]] = None
    protect_stateful: Optional[bool] = None
    ssh_public_key: Optional[str] = None
    data_dir: str = DEFAULT_MOUNT_POINT
    # Linux Dash on every VM of the group (cloud-config service); none when None.
    linux_dash: Optional[LinuxDash] = None


def linux_dash_rules(dash: Optional[LinuxDash], admin_cidrs: Sequence[str]) -> list[Rule]:
    """The firewall rule Linux Dash needs: its port from the admin networks when it is exposed,
    nothing when it listens on the loopback only (or is off)."""
    if dash is None or not dash.exposed:
        return []
    return [
        Rule(LINUX_DASH_SERVICE, admin_source(tuple(admin_cidrs)), "Linux Dash from the admin networks", dash.port)
    ]


class HostGroup(pulumi.ComponentResource):
    """A group of Docker hosts on one cloud with one firewall."""

    hosts: list[DockerHost]
    peer: PeerGroup
    public_ips: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]
    source_ips: pulumi.Output[list[str]]

    def __init__(self, name: str, args: HostGroupArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        base = args.base
        if args.count < 1:
            raise ValueError(f"host group {name}: count must be at least 1; got {args.count}")
        if args.data_volume_gb is not None and args.data_volume_gb < 1:
            raise ValueError(f"host group {name}: dataVolumeGb must be at least 1; got {args.data_volume_gb}")
        size = args.size or base.default_size
        zones = assign_zones(base.zones, args.count)
        super().__init__(
            type_token("HostGroup"),
            name,
            {
                "cloud": base.cloud,
                "region": base.region,
                "count": args.count,
                "size": size,
                "zones": zones,
                "dataVolumeGb": args.data_volume_gb,
                "services": sorted({rule.service for rule in args.ingress}),
            },
            opts,
        )
        self.group_name = name
        self.cloud = base.cloud
        self.count = args.count
        self.zones = zones
        self.firewall: Optional[Firewall] = None
        self.vms: list[RancherOSHost] = []
        self.volumes: list[DataVolume] = []
        self.hosts = []

        if not base.has_vms:
            self._build_local(name, cast("LocalBase", base))
        else:
            self._build_vms(name, args, size)

        self.public_ips = pulumi.Output.all(*[h.public_address for h in self.hosts])
        self.private_ips = pulumi.Output.all(*[h.private_address for h in self.hosts])
        self.source_ips = (
            pulumi.Output.all(*[vm.egress_ip for vm in self.vms]) if self.vms else self.public_ips
        )
        self.peer = PeerGroup(
            name=name,
            cloud=base.cloud,
            count=args.count,
            public_ips=self.public_ips,
            private_ips=self.private_ips,
            handle=self.firewall.handle if self.firewall else None,
            routable=base.has_vms,
            source_ips=self.source_ips,
        )
        self.register_outputs({"publicIps": self.public_ips, "privateIps": self.private_ips})

    # ----------------------------------------------------------------------- local

    def _build_local(self, name: str, base: LocalBase) -> None:
        for i in range(self.count):
            host_name = f"{name}-{i}"
            self.hosts.append(
                DockerHost(
                    host_name,
                    DockerHostArgs(
                        domain=base.domain(i),
                        public_address="127.0.0.1",
                        private_address="127.0.0.1",
                        data_dir=base.data_dir(host_name),
                        ssh=None,
                        docker_host=base.docker_host,
                    ),
                    opts=pulumi.ResourceOptions(parent=self),
                )
            )

    # ----------------------------------------------------------------------- VMs

    def _build_vms(self, name: str, args: HostGroupArgs, size: str) -> None:
        base = args.base
        access = base.access
        admin_cidrs = list(args.admin_cidrs if args.admin_cidrs is not None else access.admin_cidrs)
        protect = args.protect_stateful if args.protect_stateful is not None else access.protect_stateful
        ssh_key = args.ssh_public_key or access.ssh_public_key
        if not ssh_key:
            raise ValueError(f"host group {name}: rancher-stacks:sshPublicKey is required for VMs")
        target = group_target(access.stack, name)
        base.check_size(size)
        for i in range(self.count):
            # Fail before creating anything if a host's cloud-config cannot be rendered (a group
            # name that is no DNS label, a bad sysctl); the real documents render per host below.
            render_cloud_config(
                hostname=f"{name}-{i}", ssh_authorized_keys=[ssh_key], sysctl=args.sysctl, linux_dash=args.linux_dash
            )

        self_ips: pulumi.Output[list[str]]
        resolve_self_ips: Callable[[pulumi.Output[list[str]]], None]
        self_ips, resolve_self_ips = pulumi.deferred_output()
        try:
            firewall = Firewall(
                f"{name}-fw",
                FirewallArgs(
                    base=base,
                    target=target,
                    rules=[*args.ingress, *linux_dash_rules(args.linux_dash, admin_cidrs)],
                    admin_cidrs=admin_cidrs,
                    self_public_ips=self_ips,
                    self_count=self.count,
                ),
                opts=base.component_opts(self),
            )
            self.firewall = firewall
            for i, zone in enumerate(self.zones):
                self._build_vm(name, i, zone, size, args, firewall, ssh_key, protect, access.ssh)
        except BaseException as exc:
            resolve_self_ips(failed_output(exc))
            raise
        # FromSelf admits the members' own traffic: their source addresses (clouds.base.RancherOSHost).
        resolve_self_ips(pulumi.Output.all(*[vm.egress_ip for vm in self.vms]))

    def _build_vm(
        self,
        name: str,
        i: int,
        zone: str,
        size: str,
        args: HostGroupArgs,
        firewall: Firewall,
        ssh_key: str,
        protect: bool,
        ssh: Optional[SshSettings],
    ) -> None:
        base = args.base
        host_name = f"{name}-{i}"
        mtu = base.docker_mtu
        engine = base.access.os.docker_engine
        sysctl = dict(args.sysctl)

        volume: Optional[DataVolume] = None
        attach_to: Optional[Callable[[pulumi.Output[str]], None]] = None
        if args.data_volume_gb:
            instance_id, attach_to = pulumi.deferred_output()
            volume = DataVolume(
                f"{host_name}-data",
                DataVolumeArgs(
                    base=base,
                    zone=zone,
                    size_gb=args.data_volume_gb,
                    instance_id=instance_id,
                    volume_name=sanitized_name("rs", base.access.stack, host_name, "data"),
                    protect=protect,
                ),
                opts=base.component_opts(self),
            )
            self.volumes.append(volume)

        data_dir = args.data_dir if volume is not None else ROOT_DISK_DATA_DIR

        def render(volume_key: Optional[str]) -> str:
            disk = base.data_disk(volume_key, data_dir) if volume_key is not None else None
            return render_cloud_config(
                hostname=host_name,
                ssh_authorized_keys=[ssh_key],
                docker_mtu=mtu,
                docker_engine=engine,
                sysctl=sysctl,
                data_disk=disk,
                linux_dash=args.linux_dash,
            )

        user_data: pulumi.Input[str] = (
            volume.volume_key.apply(render) if volume is not None else render(None)
        )
        try:
            vm = base.new_host(
                f"{host_name}-vm",
                HostSpec(
                    hostname=host_name, zone=zone, size=size, user_data=user_data, firewall_handle=firewall.handle
                ),
                base.component_opts(self),
            )
        except BaseException as exc:
            if attach_to is not None:
                attach_to(failed_output(exc))
            raise
        self.vms.append(vm)
        depends: list[pulumi.Resource] = [vm.instance]
        if volume is not None and attach_to is not None:
            attach_to(vm.instance_id)
            depends.append(volume.attachment)
        self.hosts.append(
            DockerHost(
                host_name,
                DockerHostArgs(
                    domain=vm.domain,
                    public_address=vm.public_ip,
                    private_address=vm.private_ip,
                    data_dir=data_dir,
                    ssh=ssh or SshSettings(),
                    depends_on=depends,
                    require_data_mount=volume is not None,
                    host_identity=[vm.instance_id],
                    data_volume=(
                        DataVolumeWatch(
                            volume_id=volume.identity,
                            disk=volume.volume_key.apply(lambda key: base.data_disk(key, data_dir)),
                            size_gb=volume.size_gb,
                        )
                        if volume is not None
                        else None
                    ),
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
        )
