"""Network exposure rules for security groups and firewalls.

Every covered resource type is first reduced to a list of :class:`Ingress` permissions (protocol,
port span, source CIDRs); the four port policies and the public helpers
(:func:`world_exposures`, :func:`exposes_to_world`, :func:`opens_all_ports_to_world`) all work on
that one representation, so a test of the helpers is a test of the shipped rules.

Semantics, per provider:

* AWS: protocol ``-1``/``all`` means every protocol and port (ports are ignored, as EC2 does).
  ``fromPort``/``toPort`` are taken literally (tcp 0-0 is port 0 only); a negative bound is read as
  "all ports". Egress rules (``securityGroupRule`` with ``type: egress``) are ignored.
* GCP: only enabled ``INGRESS`` firewalls (the default direction) are read; an ``allows`` entry
  without ports, or with protocol ``all``, covers every port. An ingress firewall with no source
  ranges, tags or service accounts is open to ``0.0.0.0/0`` (GCP's default source). Deny rules and
  priorities are not modelled: each firewall is judged on its own.
* DigitalOcean: ``portRange`` ``"all"``, ``"0"`` or absent means every port.

"The world" is any CIDR whose prefix length is 0 (``0.0.0.0/0``, ``::/0`` and their spellings).
ICMP and other port-less protocols are never a port exposure; an unrecognised protocol name is
treated as covering every port-bearing protocol, so a typo cannot hide an open port. An unknown
(preview) or missing protocol or port makes a permission undecidable, and it is skipped. The one
fail-safe exception: an AWS or DigitalOcean rule that names no source of any kind (no CIDR, group,
prefix list, tag or ``self``) is invalid, and is treated as open to the world rather than ignored.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from . import config
from .props import as_bool, as_int, as_str, has_entries, is_unknown, items_of, known_strings, lookup

AWS_SECURITY_GROUP: Final = "aws:ec2/securityGroup:SecurityGroup"
AWS_SECURITY_GROUP_RULE: Final = "aws:ec2/securityGroupRule:SecurityGroupRule"
AWS_INGRESS_RULE: Final = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GCP_FIREWALL: Final = "gcp:compute/firewall:Firewall"
DO_FIREWALL: Final = "digitalocean:index/firewall:Firewall"

ALL_PROTOCOLS: Final = "all"
"""Normalised protocol of a rule that admits every protocol (AWS ``-1``, GCP ``all``)."""
ANY_PORT_PROTOCOL: Final = "any"
"""Normalised protocol of an unrecognised name: assumed to be any port-bearing protocol."""
PORT_PROTOCOLS: Final = frozenset({"tcp", "udp", "sctp"})

_PROTOCOL_ALIASES: Final[Mapping[str, str]] = {
    "-1": ALL_PROTOCOLS,
    "all": ALL_PROTOCOLS,
    "tcp": "tcp",
    "6": "tcp",
    "udp": "udp",
    "17": "udp",
    "sctp": "sctp",
    "132": "sctp",
    "icmp": "icmp",
    "1": "icmp",
    "icmpv6": "icmpv6",
    "ipv6-icmp": "icmpv6",
    "58": "icmpv6",
}
_PORTLESS_NAMES: Final = frozenset({"esp", "ah", "gre", "ipip"})


@dataclass(frozen=True, order=True)
class PortSpan:
    """An inclusive port range."""

    low: int
    high: int

    def overlaps(self, other: PortSpan) -> bool:
        """True when the two ranges share at least one port."""
        return self.low <= other.high and other.low <= self.high

    @property
    def is_all(self) -> bool:
        """True when the range covers every usable port (1-65535)."""
        return self.low <= 1 and self.high >= 65535

    def __str__(self) -> str:
        if self.is_all:
            return "all ports"
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"


ALL_PORTS: Final = PortSpan(0, 65535)


@dataclass(frozen=True)
class Ingress:
    """One ingress permission of a security group or firewall.

    ``ports`` is ``None`` for port-less protocols (ICMP, ESP, ...). ``sources`` holds the CIDR
    strings as written; ``note`` explains an implicit source (GCP's default range).
    """

    rule: str
    protocol: str
    ports: PortSpan | None
    sources: tuple[str, ...]
    note: str = ""

    def carries(self, protocol: str, span: PortSpan) -> bool:
        """True when this permission admits some port of ``span`` over ``protocol``."""
        if self.ports is None:
            return False
        if self.protocol not in (ALL_PROTOCOLS, ANY_PORT_PROTOCOL, protocol):
            return False
        return self.ports.overlaps(span)

    @property
    def is_all_traffic(self) -> bool:
        """True for an all-protocol rule or a rule opening every port of a protocol."""
        return self.protocol == ALL_PROTOCOLS or (self.ports is not None and self.ports.is_all)

    def describe(self) -> str:
        """Human-readable ``rule (protocol ports)`` fragment for messages."""
        if self.protocol == ALL_PROTOCOLS:
            what = "all protocols and ports"
        elif self.ports is None:
            what = self.protocol
        else:
            what = f"{self.protocol} {self.ports}"
        return f"{self.rule} ({what})"


@dataclass(frozen=True)
class RestrictedPort:
    """A port range that must never be reachable from the world."""

    protocol: str
    span: PortSpan
    label: str


def _port(protocol: str, low: int, high: int, label: str) -> RestrictedPort:
    return RestrictedPort(protocol, PortSpan(low, high), label)


# The pack keeps its own copy of the port table so it installs and runs without the components;
# tests/net/test_ports.py holds these two lists equal to the admin and data classes of the
# components' one catalog (rancher_stacks.net.ports).
ADMIN_PORTS: Final = (
    _port("tcp", 22, 22, "SSH"),
    _port("tcp", 2375, 2375, "Docker API (plain)"),
    _port("tcp", 2376, 2376, "Docker API (TLS)"),
    _port("tcp", 3389, 3389, "RDP"),
    _port("tcp", 8080, 8080, "Rancher/Jenkins UI"),
    _port("tcp", 8081, 8081, "Linux Dash"),
    _port("tcp", 9345, 9346, "Rancher UI logs and shell"),
)
DATA_PORTS: Final = (
    _port("tcp", 3306, 3306, "MySQL"),
    _port("udp", 5000, 5000, "Logstash UDP input"),
    _port("tcp", 5044, 5044, "Logstash Beats input"),
    _port("tcp", 5601, 5601, "Kibana"),
    _port("tcp", 6379, 6379, "Redis"),
    _port("tcp", 9200, 9200, "Elasticsearch HTTP"),
    _port("tcp", 9300, 9300, "Elasticsearch transport"),
    _port("tcp", 24007, 24008, "GlusterFS management"),
    _port("tcp", 27017, 27017, "MongoDB"),
    _port("tcp", 27018, 27019, "MongoDB shard and config servers"),
    _port("tcp", 49152, 49251, "GlusterFS bricks"),
    _port("tcp", 50000, 50000, "Jenkins agents"),
)

_INTERNAL_NETWORKS: Final = tuple(
    ipaddress.ip_network(cidr)
    for cidr in (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "fc00::/7",
        "fe80::/10",
        "::1/128",
    )
)

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


# --- parsing helpers -------------------------------------------------------------------------


def parse_network(cidr: str) -> Network | None:
    """The network a CIDR string names, or ``None`` when it is malformed."""
    try:
        return ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        return None


def is_world(cidr: str) -> bool:
    """True for any CIDR with prefix length 0 (``0.0.0.0/0``, ``::/0``, ...)."""
    network = parse_network(cidr)
    return network is not None and network.prefixlen == 0


def is_internal(network: Network) -> bool:
    """True for private, carrier-grade NAT, loopback and link-local ranges."""
    return any(
        network.version == internal.version and network.subnet_of(internal)  # type: ignore[arg-type]
        for internal in _INTERNAL_NETWORKS
    )


def normalise_protocol(value: Any) -> str | None:
    """Map a provider protocol spelling to ``tcp``/``udp``/``all``/...; ``None`` when not known."""
    number = as_int(value)
    text = str(number) if number is not None else as_str(value)
    if text is None:
        return None
    text = text.strip().lower()
    if text in _PROTOCOL_ALIASES:
        return _PROTOCOL_ALIASES[text]
    if text.isdigit() or text in _PORTLESS_NAMES:
        return f"ip-{text}" if text.isdigit() else text
    return ANY_PORT_PROTOCOL if text else None


def has_ports(protocol: str) -> bool:
    """True for protocols whose rules carry port ranges."""
    return protocol in PORT_PROTOCOLS or protocol in (ALL_PROTOCOLS, ANY_PORT_PROTOCOL)


def parse_port_text(value: Any) -> PortSpan | None:
    """``22``, ``"22"`` or ``"1000-2000"`` as a span; ``None`` when malformed or unknown."""
    number = as_int(value)
    if number is not None:
        return PortSpan(number, number) if 0 <= number <= 65535 else None
    text = as_str(value)
    if text is None or "-" not in text:
        return None
    low_text, _, high_text = text.partition("-")
    low, high = as_int(low_text), as_int(high_text)
    if low is None or high is None or not 0 <= low <= high <= 65535:
        return None
    return PortSpan(low, high)


def _aws_span(from_port: Any, to_port: Any) -> PortSpan | None:
    """EC2 ``fromPort``/``toPort`` as a span; a negative bound means all ports."""
    low, high = as_int(from_port), as_int(to_port)
    if low is None or high is None:
        return None
    if low < 0 or high < 0:
        return ALL_PORTS
    low, high = sorted((low, high))
    return PortSpan(max(low, 0), min(high, 65535))


_NO_SOURCE_NOTE: Final = "no source is set, so it is treated as open to the world"


def _sources(
    rule: Any, cidr_keys: tuple[str, ...], other_keys: tuple[str, ...]
) -> tuple[tuple[str, ...], str]:
    """The CIDR sources of a rule, and a note when none of any kind is set.

    A rule naming no source at all (no CIDR, group, prefix list, tag, ``self: true``, ...) is
    invalid in every provider; rather than guess what the API will make of it, it is treated as
    open to the world (fail-safe). Unknown values count as a source, so previews do not trip this.
    """
    cidrs = tuple(text for key in cidr_keys for text in known_strings(lookup(rule, key)))
    self_source = lookup(rule, "self")
    if cidrs or is_unknown(self_source) or as_bool(self_source):
        return cidrs, ""
    if any(has_entries(lookup(rule, key)) for key in (*cidr_keys, *other_keys)):
        return cidrs, ""
    return ("0.0.0.0/0", "::/0"), _NO_SOURCE_NOTE


_SG_CIDRS: Final = ("cidrBlocks", "ipv6CidrBlocks")


def _aws_permission(
    label: str, rule: Any, protocol_key: str, sources: tuple[tuple[str, ...], str]
) -> Ingress | None:
    """One EC2 permission, or ``None`` when its protocol or ports cannot be decided."""
    protocol = normalise_protocol(lookup(rule, protocol_key))
    if protocol is None:
        return None
    ports: PortSpan | None = None
    if protocol == ALL_PROTOCOLS:
        ports = ALL_PORTS
    elif has_ports(protocol):
        ports = _aws_span(lookup(rule, "fromPort"), lookup(rule, "toPort"))
        if ports is None:
            return None
    return Ingress(label, protocol, ports, *sources)


def _aws_security_group(props: Any) -> list[Ingress]:
    permissions = []
    for index, rule in enumerate(items_of(lookup(props, "ingress"))):
        sources = _sources(rule, _SG_CIDRS, ("securityGroups", "prefixListIds"))
        permission = _aws_permission(f"ingress[{index}]", rule, "protocol", sources)
        if permission is not None:
            permissions.append(permission)
    return permissions


def _aws_security_group_rule(props: Any) -> list[Ingress]:
    direction = as_str(lookup(props, "type"))
    if direction is None or direction.strip().lower() != "ingress":
        return []
    sources = _sources(props, _SG_CIDRS, ("sourceSecurityGroupId", "prefixListIds"))
    permission = _aws_permission("rule", props, "protocol", sources)
    return [permission] if permission is not None else []


def _aws_ingress_rule(props: Any) -> list[Ingress]:
    sources = _sources(props, ("cidrIpv4", "cidrIpv6"), ("referencedSecurityGroupId", "prefixListId"))
    permission = _aws_permission("rule", props, "ipProtocol", sources)
    return [permission] if permission is not None else []


def _gcp_sources(props: Any) -> tuple[tuple[str, ...], str] | None:
    """Source ranges of a GCP firewall (with GCP's implicit default), ``None`` if undecidable."""
    ranges = lookup(props, "sourceRanges")
    if is_unknown(ranges):
        return None
    written = tuple(known_strings(ranges))
    if written or has_entries(ranges):
        return written, ""
    if has_entries(lookup(props, "sourceTags")) or has_entries(lookup(props, "sourceServiceAccounts")):
        return (), ""
    return ("0.0.0.0/0",), "no source set, so GCP applies its default 0.0.0.0/0"


def _gcp_firewall(props: Any) -> list[Ingress]:
    direction = lookup(props, "direction")
    disabled = lookup(props, "disabled")
    if is_unknown(direction) or is_unknown(disabled) or as_bool(disabled):
        return []
    if direction is not None and (as_str(direction) or "").strip().upper() != "INGRESS":
        return []
    found = _gcp_sources(props)
    if found is None:
        return []
    sources, note = found
    permissions = []
    for index, allow in enumerate(items_of(lookup(props, "allows"))):
        protocol = normalise_protocol(lookup(allow, "protocol"))
        if protocol is None:
            continue
        label = f"allows[{index}]"
        if protocol == ALL_PROTOCOLS or not has_ports(protocol):
            ports = ALL_PORTS if protocol == ALL_PROTOCOLS else None
            permissions.append(Ingress(label, protocol, ports, sources, note))
            continue
        listed = lookup(allow, "ports")
        if is_unknown(listed):
            continue
        single = as_str(listed) is not None or as_int(listed) is not None
        entries = [listed] if single else items_of(listed)
        spans = [parse_port_text(entry) for entry in entries] if entries else [ALL_PORTS]
        permissions.extend(
            Ingress(label, protocol, span, sources, note) for span in spans if span is not None
        )
    return permissions


def _do_span(value: Any) -> PortSpan | None:
    """A DigitalOcean ``portRange``: absent, ``"all"`` or ``"0"`` mean every port."""
    if value is None:
        return ALL_PORTS
    text = as_str(value)
    if text is not None and text.strip().lower() in ("", "all", "0"):
        return ALL_PORTS
    return parse_port_text(value)


_DO_OTHER_SOURCES: Final = (
    "sourceDropletIds",
    "sourceTags",
    "sourceLoadBalancerUids",
    "sourceKubernetesIds",
)


def _do_firewall(props: Any) -> list[Ingress]:
    permissions = []
    for index, rule in enumerate(items_of(lookup(props, "inboundRules"))):
        protocol = normalise_protocol(lookup(rule, "protocol"))
        if protocol is None:
            continue
        ports: PortSpan | None = None
        if has_ports(protocol):
            ports = ALL_PORTS if protocol == ALL_PROTOCOLS else _do_span(lookup(rule, "portRange"))
            if ports is None:
                continue
        sources = _sources(rule, ("sourceAddresses",), _DO_OTHER_SOURCES)
        permissions.append(Ingress(f"inboundRules[{index}]", protocol, ports, *sources))
    return permissions


_PARSERS: Final[Mapping[str, Callable[[Any], list[Ingress]]]] = {
    AWS_SECURITY_GROUP: _aws_security_group,
    AWS_SECURITY_GROUP_RULE: _aws_security_group_rule,
    AWS_INGRESS_RULE: _aws_ingress_rule,
    GCP_FIREWALL: _gcp_firewall,
    DO_FIREWALL: _do_firewall,
}
COVERED_TYPES: Final = frozenset(_PARSERS)


# --- public helpers --------------------------------------------------------------------------


def ingress_rules(resource_type: str, props: Any) -> list[Ingress]:
    """Every decidable ingress permission of a covered resource (``[]`` for other types)."""
    parser = _PARSERS.get(resource_type)
    return parser(props) if parser is not None else []


def world_exposures(resource_type: str, props: Any) -> list[Ingress]:
    """The ingress permissions reachable from the world, with sources narrowed to world CIDRs.

    Only permissions that carry ports (or admit every protocol) are returned: ICMP from the world
    is not a port exposure.
    """
    exposed = []
    for permission in ingress_rules(resource_type, props):
        world = tuple(source for source in permission.sources if is_world(source))
        if world and permission.ports is not None:
            exposed.append(replace(permission, sources=world))
    return exposed


def exposes_to_world(resource_type: str, props: Any, port: int, protocol: str = "tcp") -> bool:
    """True when ``port``/``protocol`` of the resource is reachable from 0.0.0.0/0 or ::/0."""
    span = PortSpan(port, port)
    return any(item.carries(protocol, span) for item in world_exposures(resource_type, props))


def opens_all_ports_to_world(resource_type: str, props: Any) -> bool:
    """True when some world-reachable permission admits every protocol or every port."""
    return any(item.is_all_traffic for item in world_exposures(resource_type, props))


# --- policies --------------------------------------------------------------------------------


def _restricted_hits(permission: Ingress, table: Iterable[RestrictedPort]) -> list[str]:
    """Labels of the restricted ports a permission admits, e.g. ``tcp 22 (SSH)``."""
    return [
        f"{entry.protocol} {entry.span} ({entry.label})"
        for entry in table
        if permission.carries(entry.protocol, entry.span)
    ]


def _world_text(permission: Ingress) -> str:
    sources = ", ".join(permission.sources)
    return f"{sources} ({permission.note})" if permission.note else sources


def _restricted_violations(
    resource_type: str, props: Any, table: Iterable[RestrictedPort], kind: str
) -> list[str]:
    """Messages for every world-reachable permission that admits a port of ``table``."""
    table = tuple(table)
    messages = []
    for permission in world_exposures(resource_type, props):
        hits = _restricted_hits(permission, table)
        if hits:
            messages.append(
                f"{permission.describe()} opens {kind} port(s) {', '.join(hits)} "
                f"to the world via {_world_text(permission)}."
            )
    return messages


def _untrusted_admin_sources(permission: Ingress, admin: tuple[Network, ...]) -> list[str]:
    """Public, non-world sources of a permission that lie outside every admin CIDR."""
    outside = []
    for source in permission.sources:
        network = parse_network(source)
        if network is None or network.prefixlen == 0 or is_internal(network):
            continue
        if not any(
            network.version == allowed.version and network.subnet_of(allowed)  # type: ignore[arg-type]
            for allowed in admin
        ):
            outside.append(source)
    return outside


def admin_port_violations(resource_type: str, props: Any, settings: config.Settings) -> list[str]:
    """Admin ports open to the world, or (with ``adminCidrs`` set) to other public sources."""
    messages = _restricted_violations(resource_type, props, ADMIN_PORTS, "admin")
    if not settings.admin_cidrs:
        return messages
    for permission in ingress_rules(resource_type, props):
        hits = _restricted_hits(permission, ADMIN_PORTS)
        outside = _untrusted_admin_sources(permission, settings.admin_cidrs) if hits else []
        if outside:
            messages.append(
                f"{permission.describe()} opens admin port(s) {', '.join(hits)} to "
                f"{', '.join(outside)}, which is outside adminCidrs."
            )
    return messages


def data_port_violations(resource_type: str, props: Any) -> list[str]:
    """Database, search, storage and agent ports open to the world."""
    return _restricted_violations(resource_type, props, DATA_PORTS, "data")


def all_traffic_violations(resource_type: str, props: Any) -> list[str]:
    """All-protocol or all-port permissions open to the world."""
    return [
        f"{permission.describe()} admits all traffic from the world via {_world_text(permission)}."
        for permission in world_exposures(resource_type, props)
        if permission.is_all_traffic
    ]


def uncovered_spans(span: PortSpan, allowed: Iterable[int]) -> list[PortSpan]:
    """The parts of ``span`` left after removing the ``allowed`` ports."""
    remaining = []
    start = span.low
    for port in sorted(set(allowed)):
        if port < start or port > span.high:
            continue
        if port > start:
            remaining.append(PortSpan(start, port - 1))
        start = port + 1
    if start <= span.high:
        remaining.append(PortSpan(start, span.high))
    return remaining


def non_allowlisted_violations(resource_type: str, props: Any, settings: config.Settings) -> list[str]:
    """World-reachable ports outside the ``allowedPublicPorts`` list."""
    allowed = sorted(settings.allowed_public_ports)
    allowed_text = ", ".join(map(str, allowed)) or "none"
    messages = []
    for permission in world_exposures(resource_type, props):
        if permission.protocol == ALL_PROTOCOLS:
            shown = "every protocol and port"
        else:
            assert permission.ports is not None  # world_exposures keeps port-bearing rules only
            leftover = uncovered_spans(permission.ports, allowed)
            if not leftover:
                continue
            more = ", ..." if len(leftover) > 5 else ""
            shown = "port(s) " + ", ".join(str(span) for span in leftover[:5]) + more
        messages.append(
            f"{permission.describe()} is open to the world via {_world_text(permission)} on "
            f"{shown}; only {allowed_text} may be public (allowedPublicPorts)."
        )
    return messages


def _resource_validator(
    check: Callable[[str, Any, config.Settings], list[str]],
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Adapt a ``(type, props, settings) -> messages`` function to the SDK's callback shape."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in COVERED_TYPES:
            return
        for message in check(args.resource_type, args.props, config.settings(args)):
            report_violation(message, None)

    return validate


NO_PUBLIC_ADMIN_PORTS: Final = ResourceValidationPolicy(
    name="no-public-admin-ports",
    description=(
        "Admin ports (SSH 22, Docker 2375/2376, RDP 3389, 8080, Linux Dash 8081, 9345-9346) are never reachable "
        "from 0.0.0.0/0 or ::/0, nor from public sources outside adminCidrs when that is set."
    ),
    validate=_resource_validator(admin_port_violations),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.ADMIN_CIDRS),
)

NO_PUBLIC_DATA_PORTS: Final = ResourceValidationPolicy(
    name="no-public-data-ports",
    description=(
        "Data ports (MongoDB, MySQL, Redis, Elasticsearch, GlusterFS 24007-24008 and bricks "
        "49152-49251, Logstash 5000/udp, Jenkins agents 50000) are never reachable from the world."
    ),
    validate=_resource_validator(lambda kind, props, _settings: data_port_violations(kind, props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

NO_PUBLIC_ALL_TRAFFIC: Final = ResourceValidationPolicy(
    name="no-public-all-traffic",
    description="No all-protocol or all-ports ingress from 0.0.0.0/0 or ::/0.",
    validate=_resource_validator(lambda kind, props, _settings: all_traffic_violations(kind, props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

PUBLIC_PORTS_ALLOWLIST: Final = ResourceValidationPolicy(
    name="public-ports-allowlist",
    description="Only the ports listed in allowedPublicPorts (default 80 and 443) may be open to the world.",
    validate=_resource_validator(non_allowlisted_violations),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.ALLOWED_PUBLIC_PORTS),
)

POLICIES: Final = (
    NO_PUBLIC_ADMIN_PORTS,
    NO_PUBLIC_DATA_PORTS,
    NO_PUBLIC_ALL_TRAFFIC,
    PUBLIC_PORTS_ALLOWLIST,
)
