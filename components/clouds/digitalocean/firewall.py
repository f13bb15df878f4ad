"""A host group's firewall on DigitalOcean: a tag, and one firewall on that tag.

One ``digitalocean.Tag`` (the handle droplets are launched with) and one
``digitalocean.Firewall`` on it with one inbound rule per (rule x port range) and outbound
allow-all (TCP, UDP, ICMP: a DigitalOcean firewall blocks any outbound traffic it does not
list). The inbound rules live inside the one firewall resource, so there are no per-rule names.
"""

from __future__ import annotations

import pulumi
import pulumi_digitalocean as digitalocean

from ..base import FirewallRequest, RenderedFirewall

ALL_IPV4 = "0.0.0.0/0"
ALL_IPV6 = "::/0"


def render_firewall(request: FirewallRequest) -> RenderedFirewall:
    """The tag and the firewall; the handle is the tag's name (an output: droplets wait for it)."""
    child = pulumi.ResourceOptions(parent=request.parent)
    tag = digitalocean.Tag(f"{request.name}-tag", name=request.target, opts=child)
    inbound: list[digitalocean.FirewallInboundRuleArgs] = []
    for rule in request.rules:
        src = rule.source
        addresses = src.addresses([*src.ipv4, *src.ipv6])
        tags = [src.handle] if src.handle is not None else None
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
        digitalocean.FirewallOutboundRuleArgs(protocol="tcp", port_range="1-65535", destination_addresses=everywhere),
        digitalocean.FirewallOutboundRuleArgs(protocol="udp", port_range="1-65535", destination_addresses=everywhere),
        digitalocean.FirewallOutboundRuleArgs(protocol="icmp", destination_addresses=everywhere),
    ]
    firewall = digitalocean.Firewall(
        f"{request.name}-firewall",
        name=request.target,
        tags=[tag.name],
        inbound_rules=inbound,
        outbound_rules=outbound,
        opts=child,
    )
    return RenderedFirewall(handle=tag.name, resources=[tag, firewall])
