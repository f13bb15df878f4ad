"""The provider-neutral firewall rule model.

A rule says *which service* (a :data:`~.ports.CATALOG` name) may be reached *from where*: fixed
CIDRs, another host group, or the group itself. The ``Firewall`` renders a list of rules for its
cloud, so workloads state their needs once and never see the cloud.

Every rule and source has a stable **key** (service, then the source's name: ``admin``,
``world``, a peer group's name, ``self``, or the CIDR itself), and the firewall names its cloud
resources from those keys, never from list positions: adding a client group to a server's
ingress adds rules and renames none (a rename is a delete and a re-create, which AWS refuses
while the identical old rule still exists: ``InvalidPermission.Duplicate``).
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Optional, Union

from .ports import PortRange, ports_of

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .peer import PeerGroup

_KEY = re.compile(r"^[a-z][a-z0-9-]{0,40}$")


def cidr_key(cidr: str) -> str:
    """A resource-name-safe key of one CIDR: ``203.0.113.0/24`` -> ``203-0-113-0-24``, a /0 -> ``all``."""
    network = ipaddress.ip_network(cidr, strict=False)
    if network.prefixlen == 0:
        return "all"
    return re.sub(r"[^0-9a-z]+", "-", network.compressed.lower()).strip("-") or "all"


@dataclass(frozen=True)
class Cidrs:
    """Source: fixed IPv4/IPv6 networks (admin CIDRs, or the world for public services).

    ``name`` is the source's key in resource names; without one the CIDRs themselves are the key.
    """

    cidrs: tuple[str, ...]
    name: Optional[str] = None

    def __post_init__(self) -> None:
        for cidr in self.cidrs:
            ipaddress.ip_network(cidr, strict=False)  # raises ValueError on a malformed CIDR
        if self.name is not None and not _KEY.match(self.name):
            raise ValueError(f"source name {self.name!r} must match {_KEY.pattern}")

    @property
    def key(self) -> str:
        return self.name or "-".join(cidr_key(c) for c in self.cidrs) or "none"

    @property
    def ipv4(self) -> list[str]:
        return [c for c in self.cidrs if ipaddress.ip_network(c, strict=False).version == 4]

    @property
    def ipv6(self) -> list[str]:
        return [c for c in self.cidrs if ipaddress.ip_network(c, strict=False).version == 6]


WORLD = Cidrs(("0.0.0.0/0", "::/0"), name="world")


def admin_source(cidrs: tuple[str, ...]) -> Cidrs:
    """The admin networks as a source keyed ``admin`` (adding a CIDR renames nothing)."""
    return Cidrs(tuple(cidrs), name="admin")


@dataclass(frozen=True)
class FromGroup:
    """Source: every host of another host group (on any cloud)."""

    group: PeerGroup

    @property
    def key(self) -> str:
        return self.group.name


@dataclass(frozen=True)
class FromSelf:
    """Source: the hosts of the group the firewall protects."""

    @property
    def key(self) -> str:
        return "self"


Source = Union[Cidrs, FromGroup, FromSelf]


@dataclass(frozen=True)
class Rule:
    """Allow ``service`` (a catalog name) from ``source``.

    ``tcp_port`` moves a single-port TCP service to another port (a web app configured on 8000
    is still the "http" service); the policy pack judges the port actually opened.
    """

    service: str
    source: Source
    description: str = ""
    tcp_port: Optional[int] = None

    def __post_init__(self) -> None:
        ranges = ports_of(self.service)
        if self.tcp_port is not None:
            if len(ranges) != 1 or ranges[0].protocol != "tcp":
                raise ValueError(f"service {self.service!r} spans several ports; it cannot be moved")
            PortRange("tcp", self.tcp_port, self.tcp_port)

    @property
    def key(self) -> str:
        """The rule's stable name: service, moved port if any, and source (``mongodb-webapp``,
        ``ssh-admin``, ``http-8000-world``)."""
        default = ports_of(self.service)[0]
        moved = self.tcp_port is not None and (default.first, default.last) != (self.tcp_port, self.tcp_port)
        return f"{self.service}-{self.tcp_port}-{self.source.key}" if moved else f"{self.service}-{self.source.key}"

    @property
    def ports(self) -> tuple[PortRange, ...]:
        if self.tcp_port is not None:
            return (PortRange("tcp", self.tcp_port, self.tcp_port),)
        return ports_of(self.service)
