"""``Firewall``: a host group's provider-neutral ingress rules, rendered by the group's cloud.

Input: the group's cloud base, its *target* (the stack-unique group name used as security-group
name, GCP network tag and DigitalOcean tag), its ``Rule`` list, and the admin CIDRs. SSH (22)
from the admin CIDRs is always added; nothing else is open by default. A rule that would open a
non-public service, or any management or data port of the catalog, to the whole internet is
refused, and so are two rules with the same key (service and source).

Sources are resolved here, the same for every cloud, then the cloud base renders them
(``clouds/<cloud>/firewall.py``):

* ``Cidrs``: the ranges themselves (IPv4 and IPv6 separated where the API needs it).
* ``FromSelf`` / ``FromGroup`` on the SAME cloud: the group's native handle (security group id,
  network tag, DigitalOcean tag) AND the hosts' source IPs as /32, because members that
  advertise public addresses (a Mongo replica set reachable across clouds, say) talk to each
  other through those, and such traffic no longer carries the tag or security-group identity.
* ``FromGroup`` on ANOTHER cloud: exactly the peer hosts' source IPs as /32.

A host's source IP is where its outbound traffic comes from: its static public address on AWS
and GCP, but a DigitalOcean droplet's own IPv4, not its reserved IP (``PeerGroup.source_ips``).

The group's own addresses exist only after its hosts, which in turn need this firewall's handle
at launch; the host group therefore passes them as a deferred output, which keeps the resource
graph acyclic: security group / tag -> instances -> the rules that list the instances' addresses.
Peers are deferred outputs too when their group is built later (see ``HostGroups``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Callable, Optional, Sequence

import pulumi

from ..clouds.base import CloudBase, FirewallRequest, ResolvedRule, ResolvedSource
from ..naming import type_token
from ..net.ports import CATALOG, overlaps_never_public
from ..net.rules import Cidrs, FromGroup, FromSelf, Rule, Source, admin_source

# Services that may be reachable from 0.0.0.0/0 or ::/0: the catalog's public class.
PUBLIC_SERVICES: frozenset[str] = frozenset(name for name, s in CATALOG.items() if s.exposure == "public")


@dataclass
class FirewallArgs:
    """Arguments of ``Firewall``."""

    base: CloudBase
    # The group's stack-unique name on the cloud: SG name tag, GCP network tag, DO tag.
    target: str
    rules: Sequence[Rule] = field(default_factory=list)
    admin_cidrs: Sequence[str] = field(default_factory=list)
    # The protected group's own outbound source IPs (often a deferred output) and how many.
    self_public_ips: Optional[pulumi.Input[list[str]]] = None
    self_count: int = 0


def _is_world(cidr: str) -> bool:
    return ipaddress.ip_network(cidr, strict=False).prefixlen == 0


def check_rules(name: str, rules: Sequence[Rule]) -> None:
    """``ValueError`` for a world-open admin/data/non-public service, or a repeated rule key."""
    seen: set[str] = set()
    for rule in rules:
        if rule.key in seen:
            raise ValueError(f"firewall {name}: two rules for {rule.service!r} from {rule.source.key!r}")
        seen.add(rule.key)
        source = rule.source
        if not isinstance(source, Cidrs):
            continue
        world = [c for c in source.cidrs if _is_world(c)]
        if not world:
            continue
        if rule.service not in PUBLIC_SERVICES or overlaps_never_public(rule.ports):
            ports = ", ".join(f"{p.protocol}/{p.render()}" for p in rule.ports)
            raise ValueError(
                f"firewall {name}: service {rule.service!r} ({ports}) must not be open to "
                f"{', '.join(world)}; only {sorted(PUBLIC_SERVICES)} on non-management ports may be public"
            )


class Firewall(pulumi.ComponentResource):
    """The ingress policy of one host group, on the group's cloud.

    ``handle`` is what hosts launch with: the AWS security group id, the GCP network tag or the
    DigitalOcean tag (only the cloud's own code reads it).
    """

    handle: pulumi.Input[str]

    def __init__(self, name: str, args: FirewallArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        base = args.base
        if not base.has_vms:
            raise ValueError(f"firewall {name}: the {base.cloud} cloud has no firewall")
        admin = tuple(args.admin_cidrs)
        if not admin:
            raise ValueError(f"firewall {name}: at least one admin CIDR is needed for SSH")
        rules = [Rule("ssh", admin_source(admin), "SSH from the admin networks"), *args.rules]
        check_rules(name, rules)
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
        # FromSelf needs this firewall's own handle, which exists only once rendered: defer it.
        own_handle: pulumi.Output[str]
        resolve_own_handle: Callable[[pulumi.Output[str]], None]
        own_handle, resolve_own_handle = pulumi.deferred_output()
        self._own_handle = own_handle
        resolved = [self._resolve_rule(rule) for rule in rules]
        rendered = base.render_firewall(
            FirewallRequest(name=name, target=args.target, rules=resolved, parent=self)
        )
        resolve_own_handle(pulumi.Output.from_input(rendered.handle))
        self.handle = rendered.handle
        self.resources = rendered.resources
        self.register_outputs({"handle": self.handle, "target": self.target})

    def _resolve_rule(self, rule: Rule) -> ResolvedRule:
        source = self._resolve(rule.source)
        return ResolvedRule(
            key=rule.key,
            service=rule.service,
            ports=rule.ports,
            description=rule.description or f"{rule.service} from {source.label}",
            source=source,
        )

    def _resolve(self, source: Source) -> ResolvedSource:
        if isinstance(source, Cidrs):
            return ResolvedSource(source.key, "cidr", source.ipv4, source.ipv6)
        if isinstance(source, FromSelf):
            own_count = self._self_count if self._self_ips is not None else 0
            return ResolvedSource("self", "self", [], [], self._self_ips, own_count, self._own_handle)
        if isinstance(source, FromGroup):
            peer = source.group
            if not peer.routable:
                raise ValueError(f"host group {peer.name!r} is local; it cannot be a firewall source")
            if peer.count is None:
                raise ValueError(f"host group {peer.name!r} does not say how many hosts it has")
            return ResolvedSource(
                peer.name,
                f"group {peer.name}",
                [],
                [],
                pulumi.Output.from_input(peer.firewall_ips),
                peer.count,
                peer.handle if peer.cloud == self.cloud else None,
            )
        raise TypeError(f"unknown rule source {source!r}")
