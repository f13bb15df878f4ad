"""``Firewall``: a host group's provider-neutral ingress rules, rendered for its cloud.

Input: the group's cloud base, its *target* (the stack-unique group name used as security-group
name, GCP network tag and DigitalOcean tag), its ``Rule`` list, and the admin CIDRs. SSH (22)
from the admin CIDRs is always added; nothing else is open by default. A rule that would open a
non-public service (anything but http/https) to the whole internet is refused.

Rendering per cloud:

* **AWS**: one ``aws.ec2.SecurityGroup`` (in the default VPC, no inline rules) plus one
  ``aws.vpc.SecurityGroupIngressRule`` per (port range x source), and explicit egress rules
  allowing all traffic to ``0.0.0.0/0`` and ``::/0`` (AWS would otherwise add, and Pulumi remove,
  the implicit one; hosts pull images and reach peers on other clouds).
* **GCP**: one ``gcp.compute.Firewall`` per rule (and per address family: GCP does not mix IPv4
  and IPv6 ranges in one rule), ``direction="INGRESS"``, ``target_tags=[tag]``. Egress is the
  network's implied allow-all rule.
* **DigitalOcean**: a ``digitalocean.Tag`` and one ``digitalocean.Firewall`` on that tag with one
  inbound rule per (rule x port range) and outbound allow-all (TCP, UDP, ICMP; a DigitalOcean
  firewall blocks any outbound traffic it does not list).

Sources:

* ``Cidrs``: the ranges themselves (IPv4 and IPv6 separated where the API needs it).
* ``FromSelf`` / ``FromGroup`` on the SAME cloud: the native handle (the security group id, the
  source tag, the DigitalOcean source tag) AND the hosts' public IPs as /32, because members that
  advertise public addresses (a Mongo replica set reachable across clouds, say) talk to each
  other through those, and such traffic no longer carries the tag or security-group identity.
* ``FromGroup`` on ANOTHER cloud: exactly the peer hosts' public IPs as /32.

Peer addresses are ``Output`` lists of a known length, so AWS gets one rule resource per index
(no resources are created inside ``apply``). The group's own addresses exist only after its
hosts, which in turn need this firewall's handle at launch; the host group therefore passes
them as a deferred output, which keeps the resource graph acyclic: security group / tag ->
instances -> the rules that list the instances' addresses.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Optional, Sequence

import pulumi

from components import type_token
from components.rules import NEVER_PUBLIC_PORTS, Cidrs, FromGroup, FromSelf, PortRange, Rule, Source

if TYPE_CHECKING:  # pragma: no cover - typing only
    from components.aws_base import AwsBase
    from components.clouds import CloudBase
    from components.gcp_base import GcpBase

# Services that may be reachable from 0.0.0.0/0 or ::/0 ...
PUBLIC_SERVICES: frozenset[str] = frozenset({"http", "https"})
ALL_IPV4 = "0.0.0.0/0"
ALL_IPV6 = "::/0"
_AWS_DESCRIPTION_UNSAFE = re.compile(r"[^A-Za-z0-9. _\-:/()#,@\[\]+=&;{}!$*]")


@dataclass
class FirewallArgs:
    """Arguments of ``Firewall``."""

    base: CloudBase
    # The group's stack-unique name on the cloud: SG name tag, GCP network tag, DO tag.
    target: str
    rules: Sequence[Rule] = field(default_factory=list)
    admin_cidrs: Sequence[str] = field(default_factory=list)
    # The protected group's own public IPs (often a deferred output) and how many there are.
    self_public_ips: Optional[pulumi.Input[list[str]]] = None
    self_count: int = 0


@dataclass
class _Resolved:
    """One rule source, resolved for the firewall's cloud."""

    label: str
    ipv4: list[str]
    ipv6: list[str]
    host_ips: Optional[pulumi.Output[list[str]]] = None
    host_count: int = 0
    aws_security_group_id: Optional[pulumi.Input[str]] = None
    tag: Optional[pulumi.Input[str]] = None


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


def _nth_host_cidr(ips: pulumi.Output[list[str]], index: int, count: int) -> pulumi.Output[str]:
    """Host ``index``'s /32 out of an address list of known length (no resources in apply)."""

    def pick(values: list[str]) -> str:
        return host_cidr(values, index, count)

    return ips.apply(pick)


def _is_world(cidr: str) -> bool:
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def _aws_description(text: str) -> str:
    return _AWS_DESCRIPTION_UNSAFE.sub(" ", text)[:255]


class Firewall(pulumi.ComponentResource):
    """The ingress policy of one host group, on the group's cloud.

    Exactly one of ``aws_security_group_id``, ``gcp_tag`` or ``do_tag`` is set: the handle hosts
    are launched with.
    """

    aws_security_group_id: Optional[pulumi.Output[str]]
    gcp_tag: Optional[str]
    do_tag: Optional[pulumi.Output[str]]

    def __init__(self, name: str, args: FirewallArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        base = args.base
        if base.cloud == "local":
            raise ValueError(f"firewall {name}: the local cloud has no firewall")
        admin = tuple(args.admin_cidrs)
        if not admin:
            raise ValueError(f"firewall {name}: at least one admin CIDR is needed for SSH")
        rules = [Rule("ssh", Cidrs(admin), "SSH from the admin networks"), *args.rules]
        for rule in rules:
            self._check_rule(name, rule)
        super().__init__(
            type_token("Firewall"),
            name,
            {
                "cloud": base.cloud,
                "target": args.target,
                "services": [rule.service for rule in rules],
                "adminCidrs": list(admin),
                "ruleCount": len(rules),
            },
            opts,
        )
        self.cloud = base.cloud
        self.target = args.target
        self.rules = rules
        self._self_ips = (
            pulumi.Output.from_input(args.self_public_ips) if args.self_public_ips is not None else None
        )
        self._self_count = args.self_count
        self.aws_security_group_id = None
        self.gcp_tag = None
        self.do_tag = None
        child = pulumi.ResourceOptions(parent=self)

        if base.cloud == "aws":
            self._render_aws(name, base, child)
            handle: object = self.aws_security_group_id
        elif base.cloud == "gcp":
            self._render_gcp(name, base, child)
            handle = self.gcp_tag
        elif base.cloud == "digitalocean":
            self._render_digitalocean(name, child)
            handle = self.do_tag
        else:
            raise ValueError(f"firewall {name}: unknown cloud {base.cloud!r}")
        self.register_outputs({"handle": handle, "target": self.target})

    # ----------------------------------------------------------------------- sources

    @staticmethod
    def _check_rule(name: str, rule: Rule) -> None:
        source = rule.source
        if not isinstance(source, Cidrs):
            return
        world = [c for c in source.cidrs if _is_world(c)]
        if not world:
            return
        ports = ", ".join(f"{p.protocol}/{p.render()}" for p in rule.ports)
        admin = any(
            first <= p.last and p.first <= last for p in rule.ports for first, last in NEVER_PUBLIC_PORTS
        )
        if rule.service not in PUBLIC_SERVICES or admin:
            raise ValueError(
                f"firewall {name}: service {rule.service!r} ({ports}) must not be open to "
                f"{', '.join(world)}; only {sorted(PUBLIC_SERVICES)} on non-management ports may be public"
            )

    def _own_handle(self) -> tuple[Optional[pulumi.Input[str]], Optional[pulumi.Input[str]]]:
        """(security group id, tag) of this firewall, for ``FromSelf``."""
        if self.cloud == "aws":
            return self.aws_security_group_id, None
        if self.cloud == "gcp":
            return None, self.gcp_tag
        return None, self.do_tag

    def _resolve(self, source: Source) -> _Resolved:
        if isinstance(source, Cidrs):
            return _Resolved("cidr", source.ipv4, source.ipv6)
        if isinstance(source, FromSelf):
            sg, tag = self._own_handle()
            own_count = self._self_count if self._self_ips is not None else 0
            return _Resolved("self", [], [], self._self_ips, own_count, sg, tag)
        if isinstance(source, FromGroup):
            peer = source.group
            if peer.cloud == "local":
                raise ValueError(f"host group {peer.name!r} is local; it cannot be a firewall source")
            count = peer.count
            if count is None:
                raise ValueError(f"host group {peer.name!r} does not say how many hosts it has")
            resolved = _Resolved(
                f"group {peer.name}", [], [], pulumi.Output.from_input(peer.public_ips), count
            )
            if peer.cloud == self.cloud:
                if self.cloud == "aws":
                    resolved.aws_security_group_id = peer.aws_security_group_id
                elif self.cloud == "gcp":
                    resolved.tag = peer.gcp_tag
                else:
                    resolved.tag = peer.do_tag
            return resolved
        raise TypeError(f"unknown rule source {source!r}")

    @staticmethod
    def _addresses(src: _Resolved, family_static: list[str]) -> Optional[pulumi.Input[list[str]]]:
        """Static CIDRs plus the hosts' /32s, or None when there is no address at all."""
        if src.host_ips is None or src.host_count == 0:
            return list(family_static) if family_static else None
        static = list(family_static)
        count = src.host_count
        return src.host_ips.apply(lambda ips: static + host_cidrs(ips, count))

    # ----------------------------------------------------------------------- AWS

    def _render_aws(self, name: str, base: CloudBase, child: pulumi.ResourceOptions) -> None:
        import pulumi_aws as aws

        aws_base: AwsBase = base  # type: ignore[assignment]
        sg = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=aws_base.vpc_id,
            description=_aws_description(f"rancher-stacks host group {self.target}"),
            tags={"Name": self.target},
            opts=child,
        )
        self.security_group = sg
        self.aws_security_group_id = sg.id
        self.ingress_rules: list[pulumi.CustomResource] = []

        def ingress(
            resource_name: str,
            ports: PortRange,
            text: str,
            *,
            cidr_ipv4: Optional[pulumi.Input[str]] = None,
            cidr_ipv6: Optional[pulumi.Input[str]] = None,
            referenced_security_group_id: Optional[pulumi.Input[str]] = None,
        ) -> None:
            self.ingress_rules.append(
                aws.vpc.SecurityGroupIngressRule(
                    resource_name,
                    security_group_id=sg.id,
                    ip_protocol=ports.protocol,
                    from_port=ports.first,
                    to_port=ports.last,
                    cidr_ipv4=cidr_ipv4,
                    cidr_ipv6=cidr_ipv6,
                    referenced_security_group_id=referenced_security_group_id,
                    description=text,
                    opts=child,
                )
            )

        for index, rule in enumerate(self.rules):
            src = self._resolve(rule.source)
            text = _aws_description(rule.description or f"{rule.service} from {src.label}")
            for ports in rule.ports:
                prefix = f"{name}-{index}-{rule.service}-{ports.protocol}{ports.first}"
                for j, cidr in enumerate(src.ipv4):
                    ingress(f"{prefix}-v4-{j}", ports, text, cidr_ipv4=cidr)
                for j, cidr in enumerate(src.ipv6):
                    ingress(f"{prefix}-v6-{j}", ports, text, cidr_ipv6=cidr)
                if src.aws_security_group_id is not None:
                    ingress(f"{prefix}-sg", ports, text, referenced_security_group_id=src.aws_security_group_id)
                if src.host_ips is not None:
                    for j in range(src.host_count):
                        cidr_out = _nth_host_cidr(src.host_ips, j, src.host_count)
                        ingress(f"{prefix}-host{j}", ports, text, cidr_ipv4=cidr_out)
        self.egress_rules = [
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-v4",
                security_group_id=sg.id,
                ip_protocol="-1",
                cidr_ipv4=ALL_IPV4,
                description="All outbound IPv4",
                opts=child,
            ),
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-v6",
                security_group_id=sg.id,
                ip_protocol="-1",
                cidr_ipv6=ALL_IPV6,
                description="All outbound IPv6",
                opts=child,
            ),
        ]

    # ----------------------------------------------------------------------- GCP

    def _render_gcp(self, name: str, base: CloudBase, child: pulumi.ResourceOptions) -> None:
        import pulumi_gcp as gcp

        gcp_base: GcpBase = base  # type: ignore[assignment]
        self.gcp_tag = self.target
        self.firewalls: list[pulumi.CustomResource] = []
        for index, rule in enumerate(self.rules):
            src = self._resolve(rule.source)
            by_protocol: dict[str, list[str]] = {}
            for ports in rule.ports:
                by_protocol.setdefault(ports.protocol, []).append(ports.render())
            allows = [gcp.compute.FirewallAllowArgs(protocol=p, ports=r) for p, r in by_protocol.items()]
            text = rule.description or f"{rule.service} from {src.label}"

            def firewall(
                resource_name: str,
                ranges: Optional[pulumi.Input[list[str]]],
                tags: Optional[list[pulumi.Input[str]]],
                allows: list[gcp.compute.FirewallAllowArgs] = allows,
                text: str = text,
            ) -> None:
                self.firewalls.append(
                    gcp.compute.Firewall(
                        resource_name,
                        network=gcp_base.network,
                        direction="INGRESS",
                        target_tags=[self.target],
                        allows=allows,
                        source_ranges=ranges,
                        source_tags=tags,
                        description=text,
                        opts=child,
                    )
                )

            ranges_v4 = self._addresses(src, src.ipv4)
            tags = [src.tag] if src.tag is not None else None
            # A GCP ingress rule without any source means 0.0.0.0/0: never create one.
            if ranges_v4 is not None or tags:
                firewall(f"{name}-{index}-{rule.service}", ranges_v4, tags)
            if src.ipv6:
                firewall(f"{name}-{index}-{rule.service}-v6", list(src.ipv6), None)

    # ----------------------------------------------------------------------- DigitalOcean

    def _render_digitalocean(self, name: str, child: pulumi.ResourceOptions) -> None:
        import pulumi_digitalocean as digitalocean

        self.tag = digitalocean.Tag(f"{name}-tag", name=self.target, opts=child)
        self.do_tag = self.tag.name
        inbound: list[digitalocean.FirewallInboundRuleArgs] = []
        for rule in self.rules:
            src = self._resolve(rule.source)
            addresses = self._addresses(src, [*src.ipv4, *src.ipv6])
            tags = [src.tag] if src.tag is not None else None
            if addresses is None and not tags:
                continue
            for ports in rule.ports:
                inbound.append(
                    digitalocean.FirewallInboundRuleArgs(
                        protocol=ports.protocol,
                        port_range=ports.render(),
                        source_addresses=addresses,
                        source_tags=tags,
                    )
                )
        everywhere = [ALL_IPV4, ALL_IPV6]
        outbound = [
            digitalocean.FirewallOutboundRuleArgs(
                protocol="tcp", port_range="1-65535", destination_addresses=everywhere
            ),
            digitalocean.FirewallOutboundRuleArgs(
                protocol="udp", port_range="1-65535", destination_addresses=everywhere
            ),
            digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=everywhere),
        ]
        self.firewall = digitalocean.Firewall(
            f"{name}-firewall",
            name=self.target,
            tags=[self.tag.name],
            inbound_rules=inbound,
            outbound_rules=outbound,
            opts=child,
        )
