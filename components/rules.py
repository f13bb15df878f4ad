"""The provider-neutral firewall rule model and the named port catalog.

A rule says *which service* may be reached *from where*. Services are looked up by name in
``CATALOG``; sources are CIDR lists, another host group, or the group itself. The ``Firewall``
component renders a list of rules to an AWS security group, a GCP firewall or a DigitalOcean
firewall, so workloads state their needs once and never see the cloud.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Optional, Union

if TYPE_CHECKING:  # pragma: no cover - typing only
    from components.peer import PeerGroup

Protocol = Literal["tcp", "udp"]


@dataclass(frozen=True)
class PortRange:
    """An inclusive port range for one protocol."""

    protocol: Protocol
    first: int
    last: int

    def __post_init__(self) -> None:
        if not (1 <= self.first <= self.last <= 65535):
            raise ValueError(f"bad port range {self.first}-{self.last}")

    def render(self) -> str:
        """``"22"`` or ``"49152-49251"``: the form GCP and DigitalOcean take."""
        return str(self.first) if self.first == self.last else f"{self.first}-{self.last}"


def _tcp(first: int, last: int | None = None) -> PortRange:
    return PortRange("tcp", first, first if last is None else last)


def _udp(first: int, last: int | None = None) -> PortRange:
    return PortRange("udp", first, first if last is None else last)


# GlusterFS gives each brick one port from 49152 up; 100 covers any volume layout we deploy.
GLUSTER_BRICK_PORTS = _tcp(49152, 49251)

CATALOG: dict[str, tuple[PortRange, ...]] = {
    "ssh": (_tcp(22),),
    "http": (_tcp(80),),
    "https": (_tcp(443),),
    "docker-tls": (_tcp(2376),),
    "rancher-ui": (_tcp(8080),),
    "rancher-ipsec": (_udp(500), _udp(4500)),
    "rancher": (_tcp(9345, 9346),),
    "gluster": (_tcp(24007, 24008), GLUSTER_BRICK_PORTS),
    "mongodb": (_tcp(27017),),
    "mysql": (_tcp(3306),),
    "redis": (_tcp(6379),),
    "elasticsearch": (_tcp(9200), _tcp(9300)),
    "kibana": (_tcp(5601),),
    "logstash": (_udp(5000),),
    "jenkins": (_tcp(8080), _tcp(50000)),
    "hitcounter": (_tcp(5000),),
}


# Ports that are never reachable from the whole internet, whatever service a rule calls them:
# management, cluster and database ports (SSH, the Docker API, Rancher, Jenkins/Rancher UI,
# Gluster and its bricks, MongoDB, MySQL, Redis, Elasticsearch, Jenkins agents).
NEVER_PUBLIC_PORTS: tuple[tuple[int, int], ...] = (
    (22, 22),
    (2375, 2376),
    (3306, 3306),
    (6379, 6379),
    (8080, 8080),
    (9200, 9200),
    (9300, 9300),
    (9345, 9346),
    (24007, 24008),
    (27017, 27019),
    (49152, 49251),
    (50000, 50000),
)


def never_public(port: int) -> bool:
    """Whether ``port`` is a management or data port that must not face the internet."""
    return any(first <= port <= last for first, last in NEVER_PUBLIC_PORTS)


def ports_of(service: str) -> tuple[PortRange, ...]:
    """The port ranges of a catalog service; ``KeyError`` names the known services."""
    try:
        return CATALOG[service]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown service {service!r}; known services: {known}") from None


@dataclass(frozen=True)
class Cidrs:
    """Source: fixed IPv4/IPv6 networks (admin CIDRs, or the world for public services)."""

    cidrs: tuple[str, ...]

    def __post_init__(self) -> None:
        for cidr in self.cidrs:
            ipaddress.ip_network(cidr, strict=False)  # raises ValueError on a malformed CIDR

    @property
    def ipv4(self) -> list[str]:
        return [c for c in self.cidrs if ipaddress.ip_network(c, strict=False).version == 4]

    @property
    def ipv6(self) -> list[str]:
        return [c for c in self.cidrs if ipaddress.ip_network(c, strict=False).version == 6]


WORLD = Cidrs(("0.0.0.0/0", "::/0"))


@dataclass(frozen=True)
class FromGroup:
    """Source: every host of another host group (on any cloud)."""

    group: PeerGroup


@dataclass(frozen=True)
class FromSelf:
    """Source: the hosts of the group the firewall protects."""


Source = Union[Cidrs, FromGroup, FromSelf]


@dataclass(frozen=True)
class Rule:
    """Allow ``service`` (a ``CATALOG`` name) from ``source``.

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
    def ports(self) -> tuple[PortRange, ...]:
        if self.tcp_port is not None:
            return (PortRange("tcp", self.tcp_port, self.tcp_port),)
        return ports_of(self.service)
