"""A host group's firewall on GCP: one ``gcp.compute.Firewall`` per rule and address family.

Each firewall is ``direction="INGRESS"`` on the stack's network with ``target_tags=[<group tag>]``
(GCP does not mix IPv4 and IPv6 ranges in one rule, so IPv6 sources get their own). Egress is
the network's implied allow-all rule. A GCP ingress rule without any source means 0.0.0.0/0, so
a rule that resolves to no source at all creates nothing. Names come from the rule's key:
``database-fw-mongodb-webapp``; the handle hosts carry is the network tag.
"""

from __future__ import annotations

from typing import Optional

import pulumi
import pulumi_gcp as gcp

from ..base import FirewallRequest, RenderedFirewall


def render_firewall(network: pulumi.Input[str], request: FirewallRequest) -> RenderedFirewall:
    """The group's firewalls; the handle is its network tag (the group's target name)."""
    child = pulumi.ResourceOptions(parent=request.parent)
    made: list[pulumi.CustomResource] = []
    for rule in request.rules:
        src = rule.source
        by_protocol: dict[str, list[str]] = {}
        for ports in rule.ports:
            by_protocol.setdefault(ports.protocol, []).append(ports.render())
        allows = [gcp.compute.FirewallAllowArgs(protocol=p, ports=r) for p, r in by_protocol.items()]

        def firewall(
            resource_name: str,
            ranges: Optional[pulumi.Input[list[str]]],
            tags: Optional[list[pulumi.Input[str]]],
            allows: list[gcp.compute.FirewallAllowArgs] = allows,
            text: str = rule.description,
        ) -> None:
            made.append(
                gcp.compute.Firewall(
                    resource_name,
                    network=network,
                    direction="INGRESS",
                    target_tags=[request.target],
                    allows=allows,
                    source_ranges=ranges,
                    source_tags=tags,
                    description=text,
                    opts=child,
                )
            )

        ranges_v4 = src.addresses(src.ipv4)
        tags = [src.handle] if src.handle is not None else None
        if ranges_v4 is not None or tags:
            firewall(f"{request.name}-{rule.key}", ranges_v4, tags)
        if src.ipv6:
            firewall(f"{request.name}-{rule.key}-v6", list(src.ipv6), None)
    return RenderedFirewall(handle=request.target, resources=made)
