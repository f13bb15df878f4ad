"""The only module that names every cloud: one cloud base per cloud a stack uses.

Each cloud's SDK is an optional extra (``rancher-stacks[aws]`` ...), so a cloud's folder is
imported only when the stack uses that cloud: an AWS-only stack never imports ``pulumi_gcp``.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

import pulumi

from ..config import RegistrySettings, StackConfig
from .base import CloudBase, HostAccess, ImageRegistry, SshSettings

# cloud name -> (module of its base, factory name); the order is the order bases are created in.
_BASES: dict[str, tuple[str, str]] = {
    "aws": (".aws.base", "make_base"),
    "gcp": (".gcp.base", "make_base"),
    "digitalocean": (".digitalocean.base", "make_base"),
    "local": (".local.base", "make_base"),
}
CLOUD_ORDER: tuple[str, ...] = tuple(_BASES)
# registry kind -> (module, factory name): container registries a cloud offers.
_REGISTRIES: dict[str, tuple[str, str]] = {
    "digitalocean": (".digitalocean.registry", "make_registry"),
}


def host_access(cfg: StackConfig, ssh: Optional[SshSettings]) -> HostAccess:
    """The stack-wide host settings of ``cfg``."""
    return HostAccess(
        ssh=ssh,
        ssh_public_key=cfg.ssh_public_key,
        admin_cidrs=tuple(cfg.admin_cidrs),
        protect_stateful=cfg.protect_stateful,
        os=cfg.host_os.release(),
        stack=pulumi.get_stack(),
        backups=cfg.backups if cfg.backups.enabled else None,
    )


def clouds_in_use(cfg: StackConfig) -> list[str]:
    """The clouds some workload runs on, in a fixed order."""
    used = {workload.cloud for _, workload in cfg.workload_items()}
    return [cloud for cloud in CLOUD_ORDER if cloud in used]


def base_factory(cloud: str) -> Callable[[str, Any, HostAccess], CloudBase]:
    """``make_base(name, settings, access)`` of ``cloud``'s folder, imported on first use."""
    try:
        module_name, attr = _BASES[cloud]
    except KeyError:
        raise ValueError(f"unknown cloud {cloud!r}; known clouds: {', '.join(CLOUD_ORDER)}") from None
    module = importlib.import_module(module_name, __package__)
    factory: Callable[[str, Any, HostAccess], CloudBase] = getattr(module, attr)
    return factory


def make_cloud_base(cfg: StackConfig, cloud: str, ssh: SshSettings) -> CloudBase:
    """The base of one configured cloud: for programs that build host groups themselves."""
    settings = getattr(cfg.clouds, cloud, None) if cloud in _BASES else None
    if settings is None:
        raise ValueError(f"rancher-stacks:clouds.{cloud}: expected the settings of a configured cloud")
    return base_factory(cloud)(cloud, settings, host_access(cfg, ssh))


def make_cloud_bases(cfg: StackConfig, ssh: SshSettings) -> dict[str, CloudBase]:
    """One base per cloud that some workload uses, keyed by cloud name (``"aws"``, ...).

    Clouds configured under ``clouds`` but used by no workload get nothing, so an idle cloud
    costs no provider, image or key.
    """
    return {cloud: make_cloud_base(cfg, cloud, ssh) for cloud in clouds_in_use(cfg)}


def make_image_registry(
    name: str, settings: RegistrySettings, region: Optional[str], opts: pulumi.ResourceOptions
) -> ImageRegistry:
    """The container registry of ``settings.kind`` (its cloud's SDK imported on first use)."""
    try:
        module_name, attr = _REGISTRIES[settings.kind]
    except KeyError:
        raise ValueError(f"no container registry of kind {settings.kind!r}; known: {', '.join(_REGISTRIES)}") from None
    factory: Callable[..., ImageRegistry] = getattr(importlib.import_module(module_name, __package__), attr)
    return factory(name, settings, region, opts)
