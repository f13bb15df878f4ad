"""The systems registry: every module of this package that defines ``SYSTEM`` is a system.

A system is a plain object, not a component (so it adds no URN layer): which config section
enables it, which host groups it needs and whom they admit (by group name), and how it deploys
its workloads onto the built groups. ``deploy_systems`` declares every enabled system's groups,
builds them all in one go (peers are deferred outputs, so order does not matter), then deploys
each system and gathers the stack outputs. Adding a system means adding its module here, its
config model and its stack entries; nothing else changes.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

import pulumi

from ..clouds.base import CloudBase
from ..config import StackConfig
from ..hosts.groups import GroupDecl, HostGroups
from ..hosts.hostgroup import HostGroup
from ..hosts.render_linux_dash import LinuxDash

Exports = dict[str, Any]


@dataclass(frozen=True)
class System:
    """One deployable system (a seed): its config section, host groups and deployment."""

    name: str
    # The stack config section that enables it, e.g. ``workloads.storage``.
    section: str
    enabled: Callable[[StackConfig], bool]
    groups: Callable[[StackConfig], list[GroupDecl]]
    # Deploys the workloads onto the built groups; returns the stack outputs it adds.
    deploy: Callable[[StackConfig, Mapping[str, HostGroup]], Exports]


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
    """The systems ``cfg`` enables."""
    return [system for system in all_systems() if system.enabled(cfg)]


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
    groups = HostGroups(
        bases,
        admin_cidrs=cfg.admin_cidrs,
        protect_stateful=cfg.protect_stateful,
        linux_dash=linux_dash(cfg),
    ).build(decls)
    exports: Exports = {}
    for system in systems:
        for key, value in system.deploy(cfg, groups).items():
            if key in exports:
                raise ValueError(f"system {system.name!r} exports {key!r}, which another system exports too")
            exports[key] = value
    return exports
