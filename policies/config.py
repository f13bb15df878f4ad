"""Policy configuration: the schema every configurable policy declares, and its defaults.

Pulumi passes each policy only the configuration written under that policy's name (for example
``{"public-ports-allowlist": {"allowedPublicPorts": [80, 443, 8443]}}`` in the file given to
``--policy-pack-config``), and numbers arrive as floats. :func:`settings` merges that with the
defaults declared here and normalises the values, so a rule never depends on the engine having
applied schema defaults.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final, Protocol

from pulumi_policy import PolicyConfigSchema

from .props import as_int, as_str, items_of, known_strings

ADMIN_CIDRS: Final = "adminCidrs"
ALLOWED_PUBLIC_PORTS: Final = "allowedPublicPorts"
MIN_REPLICAS: Final = "minReplicas"
PRIVILEGED_CONTAINERS: Final = "privilegedContainers"
PRIVILEGED_IMAGES: Final = "privilegedImages"
SINGLE_BACKEND_BALANCERS: Final = "singleBackendBalancers"

PROPERTY_SCHEMAS: Final[Mapping[str, Mapping[str, Any]]] = {
    ADMIN_CIDRS: {
        "type": "array",
        "items": {"type": "string"},
        "default": [],
        "description": (
            "Public CIDRs allowed to reach admin ports. When empty only the world (/0) is "
            "forbidden; when set, any other public source of an admin port is a violation too."
        ),
    },
    ALLOWED_PUBLIC_PORTS: {
        "type": "array",
        "items": {"type": "integer", "minimum": 0, "maximum": 65535},
        "default": [80, 443],
        "description": "Ports that may be reachable from 0.0.0.0/0 or ::/0.",
    },
    MIN_REPLICAS: {
        "type": "integer",
        "minimum": 1,
        "default": 2,
        "description": "Smallest acceptable GlusterFS replica count.",
    },
    PRIVILEGED_IMAGES: {
        "type": "array",
        "items": {"type": "string"},
        # Docker-in-Docker (the CI agents' build daemons) and the Gluster server image.
        "default": ["docker:*-dind", "gluster/gluster-centos:*"],
        "description": (
            "fnmatch patterns of the image references that may run privileged (privileged: true); "
            "a container that publishes ports may not, whatever its image."
        ),
    },
    SINGLE_BACKEND_BALANCERS: {
        "type": "array",
        "items": {"type": "string"},
        # The CI front: Jenkins has one controller (its state is one home directory).
        "default": ["ci-front"],
        "description": (
            "Names of LoadBalancer components allowed a single backend, for a backend that cannot be "
            "replicated (a Jenkins controller); every other balancer needs 2 or more."
        ),
    },
    PRIVILEGED_CONTAINERS: {
        "type": "array",
        "items": {"type": "string"},
        # The shipped systems' Gluster servers (GlusterCluster "storage" on hosts storage-<n>) and
        # the game's volume containers (AsteroidsGame "game" on hosts game-<n>).
        "default": ["storage-storage-[0-9]*", "game-game-[0-9]*-volume"],
        "description": (
            "fnmatch patterns of the container names that may hold host-level privileges "
            "(privileged, added capabilities, devices, unconfined AppArmor or seccomp); a container "
            "that publishes ports may not, whatever its name."
        ),
    },
}


def schema(*keys: str) -> PolicyConfigSchema:
    """A ``PolicyConfigSchema`` declaring the named configuration properties."""
    return PolicyConfigSchema(properties={key: dict(PROPERTY_SCHEMAS[key]) for key in keys})


def schema_defaults(config_schema: PolicyConfigSchema | None) -> dict[str, Any]:
    """The ``default`` of every property a schema declares (copied, so callers may mutate)."""
    if config_schema is None:
        return {}
    return {
        key: _copy(spec["default"])
        for key, spec in config_schema.properties.items()
        if isinstance(spec, Mapping) and "default" in spec
    }


def _copy(value: Any) -> Any:
    """A shallow copy of list defaults so a caller cannot alter the schema."""
    return list(value) if isinstance(value, list) else value


class _HasConfig(Protocol):
    """Anything with ``get_config()``: ``ResourceValidationArgs`` and ``StackValidationArgs``."""

    def get_config(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Settings:
    """Normalised configuration values, whatever shape the engine delivered them in."""

    admin_cidrs: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
    allowed_public_ports: frozenset[int]
    min_replicas: int
    privileged_containers: tuple[str, ...] = ()
    privileged_images: tuple[str, ...] = ()
    single_backend_balancers: tuple[str, ...] = ()


def settings(args: _HasConfig) -> Settings:
    """Merge ``args.get_config()`` over the schema defaults and normalise every value."""
    merged: dict[str, Any] = {key: spec["default"] for key, spec in PROPERTY_SCHEMAS.items()}
    supplied = args.get_config()
    if isinstance(supplied, Mapping):
        merged.update({key: supplied[key] for key in PROPERTY_SCHEMAS if key in supplied})
    min_replicas = as_int(merged[MIN_REPLICAS])
    if min_replicas is None:
        min_replicas = int(PROPERTY_SCHEMAS[MIN_REPLICAS]["default"])
    return Settings(
        admin_cidrs=tuple(_networks(merged[ADMIN_CIDRS])),
        allowed_public_ports=frozenset(_ports(merged[ALLOWED_PUBLIC_PORTS])),
        min_replicas=min_replicas,
        privileged_containers=tuple(known_strings(merged[PRIVILEGED_CONTAINERS])),
        privileged_images=tuple(known_strings(merged[PRIVILEGED_IMAGES])),
        single_backend_balancers=tuple(known_strings(merged[SINGLE_BACKEND_BALANCERS])),
    )


def _networks(values: Any) -> Iterable[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Parse CIDR strings, ignoring anything malformed."""
    for item in items_of(values):
        text = as_str(item)
        if text is None:
            continue
        try:
            yield ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            continue


def _ports(values: Any) -> Iterable[int]:
    """Integers in 0..65535 from a list of numbers (floats included)."""
    for item in items_of(values):
        port = as_int(item)
        if port is not None and 0 <= port <= 65535:
            yield port
