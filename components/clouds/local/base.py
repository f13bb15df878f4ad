"""``LocalBase``: the ``local`` cloud, i.e. the Docker daemon of the machine running Pulumi.

There is no provider and no VM: a host group on this base is N ``DockerHost`` handles on the one
local daemon (each with its own data directory), and no firewall is created. It exists so that
``HostGroup`` can treat every cloud alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn, Optional

import pulumi

from ...config import LocalCloud
from ...naming import type_token
from ..base import (
    CreatedVolume,
    FailureDomain,
    FirewallRequest,
    HostAccess,
    HostSpec,
    RenderedFirewall,
    VolumeRequest,
)
from ..disk import DEFAULT_MOUNT_POINT, DataDisk

LOCAL_ADDRESS = "127.0.0.1"
# Bind-mount sources of the local "hosts"; the daemon creates missing directories.
LOCAL_DATA_ROOT = "/var/tmp/rancher-stacks"


@dataclass
class LocalBaseArgs:
    """Arguments of ``LocalBase``."""

    settings: LocalCloud
    access: HostAccess


class LocalBase(pulumi.ComponentResource):
    """The local Docker daemon as a cloud with one region and one zone."""

    # Set after ``super().__init__``: the engine turns every prop key into an Output attribute.
    cloud: str
    has_vms: bool
    region: str
    docker_mtu: Optional[int]
    default_size: str
    provider: Optional[pulumi.ProviderResource]

    def __init__(self, name: str, args: LocalBaseArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(
            type_token("LocalBase"),
            name,
            {"cloud": "local", "dockerHost": args.settings.docker_host},
            opts,
        )
        self.cloud = "local"
        self.has_vms = False
        self.region = "local"
        self.docker_mtu = None
        self.default_size = "local"
        self.provider = None
        self.access = args.access
        self.docker_host = args.settings.docker_host
        self.zones = ["local"]
        self.register_outputs({"dockerHost": self.docker_host})

    def data_dir(self, host_name: str) -> str:
        """The local directory standing in for ``host_name``'s data volume."""
        return f"{LOCAL_DATA_ROOT}/{self.access.stack}/{host_name}"

    def domain(self, index: int) -> FailureDomain:
        """Local host ``index``'s failure domain: all share one daemon, each its own "zone"."""
        return FailureDomain("local", "local", f"host-{index}")

    def check_size(self, size: str) -> None:
        """Every size of this cloud can run RancherOS."""

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent)

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> NoReturn:
        raise ValueError(f"host {name}: the local cloud has no virtual machines")

    def render_firewall(self, request: FirewallRequest) -> RenderedFirewall:
        raise ValueError(f"firewall {request.name}: the local cloud has no firewall")

    def new_volume(self, request: VolumeRequest) -> CreatedVolume:
        raise ValueError(f"data volume {request.name}: no data volumes on the local cloud")

    def data_disk(self, volume_key: str, mount_point: str = DEFAULT_MOUNT_POINT) -> DataDisk:
        raise ValueError("no data volumes on the local cloud")


def make_base(name: str, settings: LocalCloud, access: HostAccess) -> LocalBase:
    """The registry's factory: the local daemon as a cloud."""
    return LocalBase(name, LocalBaseArgs(settings=settings, access=access))
