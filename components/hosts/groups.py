"""``HostGroups``: host groups declared by name and built in any order.

A system declares the groups it needs (``GroupDecl``) and, for each, who it admits by group name
(``ingress``: a function of :class:`Peers`). Every declared group's ``PeerGroup`` exists before
any group is built: its addresses and firewall handle are deferred outputs, resolved when the
group is built. So a database can admit its app servers whether they are built before or after
it, and no hand-kept build order exists anywhere. The resource graph stays acyclic: a firewall
rule waits for the peer's hosts, and hosts wait only for their own group's firewall handle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, Sequence

import pulumi

from ..clouds.base import CloudBase
from ..net.peer import PeerGroup
from ..net.rules import Rule
from .hostgroup import HostGroup, HostGroupArgs, failed_output
from .render_linux_dash import LinuxDash


class Peers:
    """The declared groups by name, as firewall sources (built or not yet)."""

    def __init__(self, peers: Mapping[str, PeerGroup]) -> None:
        self._peers = dict(peers)

    def get(self, name: str) -> Optional[PeerGroup]:
        """The group ``name``, or None when the stack does not declare it (an optional client)."""
        return self._peers.get(name)

    def __getitem__(self, name: str) -> PeerGroup:
        try:
            return self._peers[name]
        except KeyError:
            known = ", ".join(sorted(self._peers)) or "none"
            raise KeyError(f"no host group {name!r} is declared; declared: {known}") from None

    def names(self) -> list[str]:
        """Every declared group's name, sorted (e.g. to admit every host of the stack)."""
        return sorted(self._peers)

    def present(self, *names: str) -> list[PeerGroup]:
        """The declared ones of ``names``, in that order."""
        return [peer for name in names if (peer := self._peers.get(name)) is not None]


def no_ingress(peers: Peers) -> list[Rule]:
    """Admit nothing beyond SSH from the admin networks."""
    return []


@dataclass(frozen=True)
class GroupDecl:
    """One host group a system needs: where, how many, how big, and whom it admits."""

    name: str
    cloud: str
    count: int
    size: Optional[str] = None
    data_volume_gb: Optional[int] = None
    sysctl: Mapping[str, str] = field(default_factory=dict)
    ingress: Callable[[Peers], list[Rule]] = no_ingress


Resolver = Callable[[pulumi.Output[Any]], None]


@dataclass
class _Pending:
    peer: PeerGroup
    # What resolves the peer's deferred outputs: "public", "private", "source", and "handle" on a
    # VM cloud.
    resolvers: dict[str, Resolver]


class HostGroups:
    """Builds declared host groups on the stack's cloud bases, peers first as deferred outputs."""

    def __init__(
        self,
        bases: Mapping[str, CloudBase],
        *,
        admin_cidrs: Sequence[str],
        protect_stateful: bool,
        linux_dash: Optional[LinuxDash] = None,
    ) -> None:
        self._bases = dict(bases)
        self._admin_cidrs = list(admin_cidrs)
        self._protect = protect_stateful
        self._linux_dash = linux_dash

    def build(self, decls: Sequence[GroupDecl], extra_peers: Mapping[str, PeerGroup] = {}) -> dict[str, HostGroup]:
        """Every group of ``decls``, keyed by name. Names must be unique.

        ``extra_peers`` are address sets that are not host groups (a cluster's egress address):
        ingress rules may admit them by name like any group.
        """
        names = [d.name for d in decls] + list(extra_peers)
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"host groups declared twice: {', '.join(repeated)}")
        for decl in decls:
            if decl.cloud not in self._bases:
                raise ValueError(f"host group {decl.name!r}: no cloud base for {decl.cloud!r}")
        local = sorted(d.name for d in decls if not self._bases[d.cloud].has_vms)
        if self._linux_dash is not None and local:
            # The local cloud's "hosts" are the developer's own Docker daemon: no cloud-config to
            # carry the service, and a host-PID dashboard of the developer's machine is not ours.
            pulumi.log.info(f"linux-dash: not deployed on local host groups ({', '.join(local)}): no cloud-config")
        pending = {decl.name: self._promise(decl) for decl in decls}
        peers = Peers({**extra_peers, **{name: p.peer for name, p in pending.items()}})
        built: dict[str, HostGroup] = {}
        try:
            for decl in decls:
                group = HostGroup(
                    decl.name,
                    HostGroupArgs(
                        base=self._bases[decl.cloud],
                        count=decl.count,
                        size=decl.size,
                        data_volume_gb=decl.data_volume_gb,
                        ingress=list(decl.ingress(peers)),
                        sysctl=dict(decl.sysctl),
                        admin_cidrs=self._admin_cidrs,
                        protect_stateful=self._protect,
                        linux_dash=self._linux_dash,
                    ),
                )
                built[decl.name] = group
                self._keep(pending.pop(decl.name), group)
        except BaseException as exc:
            # A deferred output nobody resolves would keep its consumers waiting forever.
            for promise in pending.values():
                for resolve in promise.resolvers.values():
                    resolve(failed_output(exc))
            raise
        return built

    def _promise(self, decl: GroupDecl) -> _Pending:
        base = self._bases[decl.cloud]
        public_ips: pulumi.Output[list[str]]
        private_ips: pulumi.Output[list[str]]
        resolvers: dict[str, Resolver] = {}
        source_ips: pulumi.Output[list[str]]
        public_ips, resolvers["public"] = pulumi.deferred_output()
        private_ips, resolvers["private"] = pulumi.deferred_output()
        source_ips, resolvers["source"] = pulumi.deferred_output()
        handle: Optional[pulumi.Output[str]] = None
        if base.has_vms:
            handle, resolvers["handle"] = pulumi.deferred_output()
        peer = PeerGroup(
            name=decl.name,
            cloud=decl.cloud,
            count=decl.count,
            public_ips=public_ips,
            private_ips=private_ips,
            handle=handle,
            routable=base.has_vms,
            source_ips=source_ips,
        )
        return _Pending(peer, resolvers)

    @staticmethod
    def _keep(promise: _Pending, group: HostGroup) -> None:
        """Resolve the promised peer with what the group really built."""
        built: dict[str, pulumi.Input[Any]] = {
            "public": group.public_ips,
            "private": group.private_ips,
            "source": group.source_ips,
            "handle": group.peer.handle if group.peer.handle is not None else "",
        }
        for key, resolve in promise.resolvers.items():
            resolve(pulumi.Output.from_input(built[key]))
