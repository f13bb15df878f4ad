"""A host group's firewall on AWS: one security group, one rule resource per port range and source.

``aws.ec2.SecurityGroup`` (in the default VPC, no inline rules) plus one
``aws.vpc.SecurityGroupIngressRule`` per (rule x port range x CIDR / referenced group / peer
host), and explicit egress rules allowing all traffic to ``0.0.0.0/0`` and ``::/0`` (AWS would
otherwise add, and Pulumi remove, the implicit one; hosts pull images and reach peers on other
clouds).

Resource names come from the rule's key (service and source), the protocol and first port, and
then the CIDR, ``sg`` or the peer host's index: ``storage-fw-gluster-game-tcp24007-host0``. So
adding a rule or a client group only adds resources. Peer addresses are an output list of known
length, so there is one rule per index and no resource is created inside ``apply``.
"""

from __future__ import annotations

import re
from typing import Optional

import pulumi
import pulumi_aws as aws

from ...net.ports import PortRange
from ...net.rules import cidr_key
from ..base import FirewallRequest, RenderedFirewall, host_cidr

ALL_IPV4 = "0.0.0.0/0"
ALL_IPV6 = "::/0"
_DESCRIPTION_UNSAFE = re.compile(r"[^A-Za-z0-9. _\-:/()#,@\[\]+=&;{}!$*]")


def description(text: str) -> str:
    """``text`` with the characters EC2 refuses in a rule description blanked, at most 255."""
    return _DESCRIPTION_UNSAFE.sub(" ", text)[:255]


def _nth_host_cidr(ips: pulumi.Output[list[str]], index: int, count: int) -> pulumi.Output[str]:
    """Host ``index``'s /32 out of an address list of known length (no resources in apply)."""

    def pick(values: list[str]) -> str:
        return host_cidr(values, index, count)

    return ips.apply(pick)


def render_firewall(vpc_id: pulumi.Input[str], request: FirewallRequest) -> RenderedFirewall:
    """The security group and its rules; the handle is the security group id."""
    name = request.name
    child = pulumi.ResourceOptions(parent=request.parent)
    sg = aws.ec2.SecurityGroup(
        f"{name}-sg",
        vpc_id=vpc_id,
        description=description(f"rancher-stacks host group {request.target}"),
        tags={"Name": request.target},
        opts=child,
    )
    made: list[pulumi.CustomResource] = [sg]

    def ingress(
        resource_name: str,
        ports: PortRange,
        text: str,
        *,
        cidr_ipv4: Optional[pulumi.Input[str]] = None,
        cidr_ipv6: Optional[pulumi.Input[str]] = None,
        referenced_security_group_id: Optional[pulumi.Input[str]] = None,
    ) -> None:
        made.append(
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

    for rule in request.rules:
        src = rule.source
        text = description(rule.description)
        for ports in rule.ports:
            prefix = f"{name}-{rule.key}-{ports.protocol}{ports.first}"
            for cidr in src.ipv4:
                ingress(f"{prefix}-v4-{cidr_key(cidr)}", ports, text, cidr_ipv4=cidr)
            for cidr in src.ipv6:
                ingress(f"{prefix}-v6-{cidr_key(cidr)}", ports, text, cidr_ipv6=cidr)
            if src.handle is not None:
                ingress(f"{prefix}-sg", ports, text, referenced_security_group_id=src.handle)
            if src.host_ips is not None:
                for j in range(src.host_count):
                    cidr_out = _nth_host_cidr(src.host_ips, j, src.host_count)
                    ingress(f"{prefix}-host{j}", ports, text, cidr_ipv4=cidr_out)
    for family, everywhere in (("v4", ALL_IPV4), ("v6", ALL_IPV6)):
        made.append(
            aws.vpc.SecurityGroupEgressRule(
                f"{name}-egress-{family}",
                security_group_id=sg.id,
                ip_protocol="-1",
                cidr_ipv4=everywhere if family == "v4" else None,
                cidr_ipv6=everywhere if family == "v6" else None,
                description=f"All outbound IP{family}",
                opts=child,
            )
        )
    return RenderedFirewall(handle=sg.id, resources=made)
