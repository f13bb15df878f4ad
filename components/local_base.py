"""``LocalBase``: the ``local`` cloud, i.e. the Docker daemon of the machine running Pulumi.

There is no provider and no VM: a host group on this base is N ``DockerHost`` handles on the one
local daemon (each with its own data directory), and no firewall is created. It exists so that
``HostGroup`` can treat every cloud alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NoReturn, Optional

import pulumi

from components import type_token
from components.clouds import HostAccess, HostSpec
from components.config import LocalCloud

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

    def check_size(self, size: str) -> None:
        """Every size of this cloud can run RancherOS."""

    def component_opts(self, parent: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=parent)

    def new_host(self, name: str, spec: HostSpec, opts: pulumi.ResourceOptions) -> NoReturn:
        raise ValueError(f"host {name}: the local cloud has no virtual machines")
