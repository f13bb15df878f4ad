"""What a firewall needs to know about a host group it admits traffic from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi


@dataclass(frozen=True)
class PeerGroup:
    """A host group seen from a firewall.

    ``source_ips`` (the hosts' outbound source addresses; ``public_ips`` when not given) always
    works, across clouds. When the firewall lives on the same cloud, the
    group's native firewall ``handle`` is used as well (an AWS security group id, a GCP network
    tag, a DigitalOcean tag: only that cloud's code reads it), so rules keep working when hosts
    are replaced. Any of the outputs may be deferred: a group can be admitted before it is built.
    """

    name: str
    cloud: str
    public_ips: pulumi.Output[list[str]]
    private_ips: pulumi.Output[list[str]]
    handle: Optional[pulumi.Input[str]] = None
    # How many hosts ``public_ips`` lists: AWS needs one rule resource per address, and
    # resources are never created inside ``apply``, so the count must be known up front.
    count: Optional[int] = None
    # False for groups on the local daemon: they have no addresses a firewall could admit.
    routable: bool = True
    # What the hosts' outbound traffic comes from, when that is not ``public_ips``: a
    # DigitalOcean droplet is reached at its reserved IP but sends from its own IPv4
    # (clouds/digitalocean/host.py). Firewalls admit a group by these.
    source_ips: Optional[pulumi.Output[list[str]]] = None

    @property
    def firewall_ips(self) -> pulumi.Output[list[str]]:
        """The addresses a firewall admits this group's hosts by."""
        return self.source_ips if self.source_ips is not None else self.public_ips
