"""What a firewall needs to know about a host group it admits traffic from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import pulumi


@dataclass(frozen=True)
class PeerGroup:
    """A host group seen from a firewall.

    ``public_ips`` always works, across clouds. When the firewall lives on the same cloud the
    native handle is used instead: an AWS security group id, a GCP network tag, or a
    DigitalOcean tag, so that rules keep working when hosts are replaced.
    """

    name: str
    cloud: str
    public_ips: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]
    aws_security_group_id: Optional[pulumi.Output[str]] = None
    gcp_tag: Optional[str] = None
    do_tag: Optional[pulumi.Input[str]] = None
    extra: dict[str, object] = field(default_factory=dict)
    # How many hosts ``public_ips`` lists: an AWS security group needs one rule per address, and
    # resources are never created inside ``apply``, so the count must be known up front.
    count: Optional[int] = None
