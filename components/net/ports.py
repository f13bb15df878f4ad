"""THE port catalog: every service a firewall rule may name, its ports, and its exposure class.

The exposure class says who may ever reach a service:

* ``public``: anyone (the only services a rule may open to ``0.0.0.0/0`` / ``::/0``);
* ``admin``: management ports, only from the admin CIDRs (SSH, the Docker API, Rancher UI, RDP);
* ``data``: database, storage and cluster ports, only from the peers that need them;
* ``peer``: application ports reached by named peer groups only (an app port behind its load
  balancer, an overlay network); never public either, but not judged by the policy pack.

Everything else derives from this one table: the config check's never-public set and the
``Firewall``'s refusal of world-open admin/data ports (``never_public``), and the policy pack's
admin and data port lists, which the pack keeps as its own copy (it installs without this
package) and a test holds equal to :func:`ports_of_class`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Protocol = Literal["tcp", "udp"]
Exposure = Literal["public", "admin", "data", "peer"]


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

    def overlaps(self, other: PortRange) -> bool:
        return self.protocol == other.protocol and self.first <= other.last and other.first <= self.last


def _tcp(first: int, last: int | None = None) -> PortRange:
    return PortRange("tcp", first, first if last is None else last)


def _udp(first: int, last: int | None = None) -> PortRange:
    return PortRange("udp", first, first if last is None else last)


@dataclass(frozen=True)
class Service:
    """One catalog entry: a named service, its ports and who may reach it."""

    name: str
    ports: tuple[PortRange, ...]
    exposure: Exposure
    description: str


# Linux Dash, the per-host dashboard (hosts/render_linux_dash.py). Its rules move it to the port the
# stack config sets (rancher-stacks:hostServices.linuxDash.port); 8081 is the default.
LINUX_DASH_SERVICE = "linux-dash"

# GlusterFS gives each brick one port from 49152 up; 100 covers any volume layout we deploy.
GLUSTER_BRICK_PORTS = _tcp(49152, 49251)

_SERVICES: tuple[Service, ...] = (
    Service("http", (_tcp(80),), "public", "HTTP"),
    Service("https", (_tcp(443),), "public", "HTTPS"),
    Service("ssh", (_tcp(22),), "admin", "SSH"),
    Service("docker", (_tcp(2375),), "admin", "Docker API (plain)"),
    Service("docker-tls", (_tcp(2376),), "admin", "Docker API (TLS)"),
    Service("rdp", (_tcp(3389),), "admin", "RDP"),
    Service("rancher-ui", (_tcp(8080),), "admin", "Rancher server UI and API"),
    Service("rancher", (_tcp(9345, 9346),), "admin", "Rancher UI logs and shell"),
    Service(LINUX_DASH_SERVICE, (_tcp(8081),), "admin", "Linux Dash host dashboard"),
    Service("jenkins-ui", (_tcp(8080),), "admin", "Jenkins UI"),
    Service("jenkins-agents", (_tcp(50000),), "data", "Jenkins inbound agents"),
    Service("gluster", (_tcp(24007, 24008), GLUSTER_BRICK_PORTS), "data", "GlusterFS management and bricks"),
    Service("mongodb", (_tcp(27017),), "data", "MongoDB"),
    Service("mongodb-cluster", (_tcp(27018, 27019),), "data", "MongoDB shard and config servers"),
    Service("mysql", (_tcp(3306),), "data", "MySQL"),
    Service("redis", (_tcp(6379),), "data", "Redis"),
    Service("elasticsearch", (_tcp(9200), _tcp(9300)), "data", "Elasticsearch HTTP and transport"),
    Service("elasticsearch-http", (_tcp(9200),), "data", "Elasticsearch HTTP (REST) API"),
    Service("elasticsearch-transport", (_tcp(9300),), "data", "Elasticsearch transport (node to node)"),
    Service("logstash", (_udp(5000),), "data", "Logstash UDP input"),
    Service("beats", (_tcp(5044),), "data", "Logstash Beats input (log shippers, mutual TLS)"),
    # Data class, so the pack judges it: Kibana is only ever reached through its nginx proxy.
    Service("kibana", (_tcp(5601),), "data", "Kibana, behind its proxy"),
    Service("rancher-ipsec", (_udp(500), _udp(4500)), "peer", "Rancher IPsec overlay"),
    Service("hitcounter", (_tcp(5000),), "peer", "hit-counter app behind its load balancer"),
)

CATALOG: dict[str, Service] = {service.name: service for service in _SERVICES}

# Ports that are never reachable from the whole internet, whatever service a rule calls them.
NEVER_PUBLIC_CLASSES: frozenset[Exposure] = frozenset({"admin", "data"})


def ports_of_class(*exposures: Exposure) -> frozenset[PortRange]:
    """Every port range of the catalog's services of the given exposure classes."""
    return frozenset(p for s in _SERVICES if s.exposure in exposures for p in s.ports)


NEVER_PUBLIC_PORTS: frozenset[PortRange] = ports_of_class(*NEVER_PUBLIC_CLASSES)


def never_public(port: int, protocol: Protocol = "tcp") -> bool:
    """Whether ``port`` is a management or data port that must not face the internet."""
    return any(p.protocol == protocol and p.first <= port <= p.last for p in NEVER_PUBLIC_PORTS)


def overlaps_never_public(ports: tuple[PortRange, ...]) -> bool:
    """Whether any of ``ports`` touches a management or data port."""
    return any(p.overlaps(q) for p in ports for q in NEVER_PUBLIC_PORTS)


def ports_of(service: str) -> tuple[PortRange, ...]:
    """The port ranges of a catalog service; ``KeyError`` names the known services."""
    return service_named(service).ports


def service_named(service: str) -> Service:
    """The catalog entry of ``service``; ``KeyError`` names the known services."""
    try:
        return CATALOG[service]
    except KeyError:
        known = ", ".join(sorted(CATALOG))
        raise KeyError(f"unknown service {service!r}; known services: {known}") from None
