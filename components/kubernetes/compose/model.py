"""The intermediate model between the compose loader and the Kubernetes transformer.

Plain typed dataclasses: the loader fills them from the merged, interpolated compose documents,
the transformer reads only them (never the raw YAML). Every service keeps the :class:`Location`
of its definition so that a feature we cannot translate is reported as ``file:line``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from .errors import Location


@dataclass(frozen=True)
class Port:
    """One ``ports:`` (or ``expose:``) entry: the container port and, if published, the host port."""

    target: int
    published: Optional[int] = None
    protocol: str = "TCP"  # TCP / UDP / SCTP, upper case as Kubernetes spells it
    host_ip: Optional[str] = None
    mode: Optional[str] = None  # "host" or "ingress" (long syntax only)


@dataclass(frozen=True)
class Mount:
    """One ``volumes:`` / ``tmpfs:`` entry of a service."""

    type: str  # "volume" (named or anonymous), "bind" or "tmpfs"
    target: str
    source: Optional[str] = None  # volume name, or the host path of a bind (relative to the project)
    read_only: bool = False
    subpath: Optional[str] = None


@dataclass(frozen=True)
class Probe:
    """A health check in Kubernetes terms: exactly one of exec / http / tcp, and the timings (s)."""

    exec_command: Optional[tuple[str, ...]] = None
    http_path: Optional[str] = None
    http_port: Optional[int] = None
    tcp_port: Optional[int] = None
    period: Optional[int] = None
    timeout: Optional[int] = None
    failure_threshold: Optional[int] = None
    success_threshold: Optional[int] = None
    initial_delay: Optional[int] = None


@dataclass(frozen=True)
class Resources:
    """Kubernetes quantities (strings) from ``deploy.resources`` / ``mem_limit`` / ``cpus``."""

    cpu_limit: Optional[str] = None
    memory_limit: Optional[str] = None
    cpu_request: Optional[str] = None
    memory_request: Optional[str] = None
    ephemeral_limit: Optional[str] = None
    ephemeral_request: Optional[str] = None


@dataclass(frozen=True)
class Constraint:
    """A swarm placement constraint ``key == value`` / ``key != value`` already mapped to a node label."""

    key: str
    equal: bool
    value: str


@dataclass(frozen=True)
class SecretUse:
    """A service's reference to a top-level secret or config (``secrets:`` / ``configs:``)."""

    source: str
    target: str  # absolute path in the container
    mode: Optional[int] = None


@dataclass
class Service:
    """One compose service, normalized (lists -> dicts, durations -> seconds, sizes -> quantities)."""

    name: str
    where: Location
    image: Optional[str] = None
    build: Optional[str] = None
    entrypoint: Optional[list[str]] = None
    command: Optional[list[str]] = None
    environment: dict[str, Optional[str]] = field(default_factory=dict)
    env_files: list[str] = field(default_factory=list)
    ports: list[Port] = field(default_factory=list)
    expose: list[Port] = field(default_factory=list)
    mounts: list[Mount] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    deploy_labels: dict[str, str] = field(default_factory=dict)
    restart: Optional[str] = None
    replicas: Optional[int] = None
    global_mode: bool = False
    liveness: Optional[Probe] = None
    readiness: Optional[Probe] = None
    resources: Resources = field(default_factory=Resources)
    constraints: list[Constraint] = field(default_factory=list)
    spread: list[str] = field(default_factory=list)
    secrets: list[SecretUse] = field(default_factory=list)
    configs: list[SecretUse] = field(default_factory=list)
    env_from_secrets: dict[str, tuple[str, str]] = field(default_factory=dict)  # ENV -> (secret, key)
    container_name: Optional[str] = None
    hostname: Optional[str] = None
    domainname: Optional[str] = None
    privileged: bool = False
    read_only: bool = False
    user: Optional[str] = None
    cap_add: list[str] = field(default_factory=list)
    cap_drop: list[str] = field(default_factory=list)
    group_add: list[int] = field(default_factory=list)
    stdin_open: bool = False
    tty: bool = False
    working_dir: Optional[str] = None
    networks: list[str] = field(default_factory=list)
    network_mode: Optional[str] = None
    stop_grace_period: Optional[int] = None
    pull_policy: Optional[str] = None


@dataclass(frozen=True)
class VolumeDef:
    """A top-level ``volumes:`` entry."""

    name: str
    external: bool = False
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SecretDef:
    """A top-level ``secrets:`` or ``configs:`` entry: from a file, an env variable, inline, or external."""

    name: str
    where: Location
    file: Optional[str] = None  # absolute path
    environment: Optional[str] = None
    content: Optional[str] = None
    external: bool = False
    external_name: Optional[str] = None


@dataclass(frozen=True)
class NetworkDef:
    name: str
    external: bool = False


@dataclass
class Project:
    """The merged compose project."""

    name: str
    directory: str
    files: list[str]
    services: dict[str, Service]
    volumes: dict[str, VolumeDef] = field(default_factory=dict)
    secrets: dict[str, SecretDef] = field(default_factory=dict)
    configs: dict[str, SecretDef] = field(default_factory=dict)
    networks: dict[str, NetworkDef] = field(default_factory=dict)
    environment: dict[str, str] = field(default_factory=dict)  # what interpolation saw (.env + process)
    warnings: list[str] = field(default_factory=list)
