"""Placement helpers every workload shares: which port a host publishes, which address other
containers use to reach it, distinct hosts, and the build context of an image we build.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Sequence

import pulumi
import pulumi_docker as docker

from .dockerhost import DockerHost

# Which address other hosts use to reach a host.
Advertise = Literal["public", "private"]
# Containers on the local daemon reach ports published on that machine through the daemon's
# gateway, never through 127.0.0.1 (inside a container that is the container itself). Every local
# container maps this name to the gateway (Docker 20.10+), and local hosts advertise it.
LOCAL_GATEWAY_NAME = "host.docker.internal"
LOCAL_GATEWAY = docker.ContainerHostArgs(host=LOCAL_GATEWAY_NAME, ip="host-gateway")

def published_ports(hosts: Sequence[DockerHost], port: int) -> list[int]:
    """The host port each host's container publishes ``port`` on.

    Remote hosts each have their own daemon and use ``port``; local hosts share one daemon, so
    the n-th local host uses ``port + n``.
    """
    ports, local = [], 0
    for host in hosts:
        if host.is_local:
            ports.append(port + local)
            local += 1
        else:
            ports.append(port)
    return ports


def check_distinct_hosts(hosts: Sequence[DockerHost], what: str) -> None:
    """``ValueError`` when a host appears twice in ``hosts`` (by object or by name)."""
    names = [h.host_name for h in hosts]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must run on distinct hosts; repeated: {', '.join(repeated)}")


def host_address(host: DockerHost, advertise: str) -> pulumi.Output[str]:
    """The address of ``host`` that containers elsewhere use: its public or private address.

    A local host is always ``host.docker.internal``: the other containers run on the same daemon.
    """
    if advertise not in ("public", "private"):
        raise ValueError(f"advertise must be 'public' or 'private'; got {advertise!r}")
    if host.is_local:
        return pulumi.Output.from_input(LOCAL_GATEWAY_NAME)
    return host.public_address if advertise == "public" else host.private_address


def build_context(app_dir: Path) -> str:
    """``app_dir`` relative to the working directory when inside it (``pulumi up`` runs in the
    project directory), so that plans and state do not depend on where the checkout lives."""
    path = Path(app_dir).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
