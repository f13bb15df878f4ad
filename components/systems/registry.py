"""The systems registry: every module of this package that defines ``SYSTEM`` is a system.

A system is a plain object, not a component (so it adds no URN layer): which config section
enables it, which host groups it needs and whom they admit (by group name), and how it deploys
its workloads onto the built groups. ``deploy_systems`` declares every enabled system's groups,
builds them all in one go (peers are deferred outputs, so order does not matter), then deploys
each system and gathers the stack outputs. Adding a system means adding its module here, its
config model and its stack entries; nothing else changes.

Systems stay independent but may build on each other explicitly: a system names in ``after`` the
systems that deploy before it and leaves what they share in ``Built.shared`` (the web app runs on
the Kubernetes system's cluster), and a system may declare address sets that are not host groups
(``PeerDecl``: the cluster's egress addresses) which any group's firewall admits by name.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Optional

import pulumi

from ..clouds.base import CloudBase
from ..config import StackConfig
from ..hosts.groups import GroupDecl, HostGroups, Resolver
from ..hosts.hostgroup import HostGroup, failed_output
from ..hosts.render_linux_dash import LinuxDash
from ..net.peer import PeerGroup

Exports = dict[str, Any]


@dataclass(frozen=True)
class PeerDecl:
    """Addresses a system provides that are not a host group, e.g. a cluster's egress IPs.

    Firewalls admit them by name like a group (``Peers``); the system resolves the addresses
    during its deploy with :meth:`Built.resolve_peer`. ``count`` is how many addresses there
    will be (AWS needs one rule per address, known before the addresses are).
    """

    name: str
    cloud: str
    count: int


class Built(Mapping[str, HostGroup]):
    """What a system's deploy gets: every built host group by name, plus what systems share.

    ``shared`` carries objects one system makes for systems deployed after it (``System.after``),
    e.g. the Kubernetes cluster a web app runs on; keys are ``<system>.<thing>``.
    """

    def __init__(self, groups: Mapping[str, HostGroup], peers: Mapping[str, tuple[PeerGroup, Resolver]]) -> None:
        self._groups = dict(groups)
        self._peers = dict(peers)
        self._resolved: set[str] = set()
        self.shared: dict[str, Any] = {}

    def __getitem__(self, name: str) -> HostGroup:
        return self._groups[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._groups)

    def __len__(self) -> int:
        return len(self._groups)

    def resolve_peer(self, name: str, public_ips: pulumi.Input[list[str]]) -> None:
        """Give the declared peer ``name`` its addresses (once)."""
        if name not in self._peers or name in self._resolved:
            raise ValueError(f"peer {name!r} is not declared by a system, or was resolved already")
        self._resolved.add(name)
        ips = pulumi.Output.from_input(public_ips)
        self._peers[name][1](ips)

    def fail_unresolved(self, error: BaseException) -> None:
        """Fail every peer nobody resolved: a deferred output left pending would hang the program."""
        for name, (_, resolve) in self._peers.items():
            if name not in self._resolved:
                self._resolved.add(name)
                resolve(failed_output(error))


@dataclass(frozen=True)
class System:
    """One deployable system (a seed): its config section, host groups and deployment."""

    name: str
    # The stack config section that enables it, e.g. ``workloads.storage``.
    section: str
    enabled: Callable[[StackConfig], bool]
    groups: Callable[[StackConfig], list[GroupDecl]]
    # Deploys the workloads onto the built groups; returns the stack outputs it adds.
    deploy: Callable[[StackConfig, Built], Exports]
    # Address sets (not host groups) it provides for other groups' firewalls.
    peers: Callable[[StackConfig], list[PeerDecl]] = lambda cfg: []
    # Systems that must deploy before it when enabled (it uses what they put in ``Built.shared``).
    after: tuple[str, ...] = ()


def all_systems() -> list[System]:
    """Every system of this package, by module name."""
    package = importlib.import_module(__package__ or "")
    found: list[System] = []
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name == "registry" or info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__package__}.{info.name}")
        system = getattr(module, "SYSTEM", None)
        if not isinstance(system, System):
            raise TypeError(f"{module.__name__} defines no SYSTEM (a rancher_stacks.systems.registry.System)")
        found.append(system)
    return found


def enabled_systems(cfg: StackConfig) -> list[System]:
    """The systems ``cfg`` enables, each after the enabled systems it names in ``after``."""
    enabled = {system.name: system for system in all_systems() if system.enabled(cfg)}
    ordered: list[System] = []
    visiting: list[str] = []

    def visit(system: System) -> None:
        if any(done.name == system.name for done in ordered):
            return
        if system.name in visiting:
            raise ValueError(f"systems wait for each other: {' -> '.join([*visiting, system.name])}")
        visiting.append(system.name)
        for name in system.after:
            if name in enabled:
                visit(enabled[name])
        visiting.pop()
        ordered.append(system)

    for system in enabled.values():
        visit(system)
    return ordered


def linux_dash(cfg: StackConfig) -> Optional[LinuxDash]:
    """Linux Dash for every VM host, as the stack config sets it; None when switched off."""
    dash = cfg.host_services.linux_dash
    if not cfg.linux_dash_enabled():
        if dash.enabled is None:
            pulumi.log.info(f"linux-dash: off by default on {cfg.host_os.release().title} (its image cannot run there)")
        return None
    return LinuxDash(port=dash.port, exposed=dash.expose_to_admins, image=dash.image)


def deploy_systems(cfg: StackConfig, bases: Mapping[str, CloudBase]) -> Exports:
    """Build every enabled system's host groups, deploy the systems, return the stack outputs."""
    systems = enabled_systems(cfg)
    decls = [decl for system in systems for decl in system.groups(cfg)]
    peers: dict[str, tuple[PeerGroup, Resolver]] = {}
    for system in systems:
        for peer in system.peers(cfg):
            ips: pulumi.Output[list[str]]
            resolve: Resolver
            ips, resolve = pulumi.deferred_output()
            peers[peer.name] = (PeerGroup(peer.name, peer.cloud, ips, ips, count=peer.count), resolve)
    hosts = HostGroups(
        bases,
        admin_cidrs=cfg.admin_cidrs,
        protect_stateful=cfg.protect_stateful,
        linux_dash=linux_dash(cfg),
    )
    built = Built({}, peers)
    try:
        built = Built(hosts.build(decls, {name: peer for name, (peer, _) in peers.items()}), peers)
        exports: Exports = {}
        for system in systems:
            for key, value in system.deploy(cfg, built).items():
                if key in exports:
                    raise ValueError(f"system {system.name!r} exports {key!r}, which another system exports too")
                exports[key] = value
    except BaseException as exc:
        built.fail_unresolved(exc)
        raise
    built.fail_unresolved(ValueError("a declared peer was never given its addresses by its system"))
    return exports
