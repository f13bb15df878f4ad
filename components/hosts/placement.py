"""Placement helpers every workload shares: which port a host publishes, which address other
containers use to reach it, distinct hosts, and the build context of an image we build.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import posixpath
import re
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


# What every image we build runs on: RancherOS/BurmillaOS VMs and the EKS node groups are x86-64,
# whatever machine runs ``pulumi up`` (an arm64 laptop would otherwise build arm64 images).
BUILD_PLATFORM = "linux/amd64"


def build_context(app_dir: Path) -> str:
    """``app_dir`` relative to the working directory when inside it (``pulumi up`` runs in the
    project directory), so that plans and state do not depend on where the checkout lives."""
    path = Path(app_dir).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)


def _dockerignore_patterns(context: Path) -> list[tuple[bool, str]]:
    """(exclude?, pattern) per line of ``context/.dockerignore``, in order."""
    ignore = context / ".dockerignore"
    if not ignore.is_file():
        return []
    patterns: list[tuple[bool, str]] = []
    for line in ignore.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        exclude = not line.startswith("!")
        pattern = posixpath.normpath(line.lstrip("!").strip().lstrip("/"))
        patterns.append((exclude, pattern))
    return patterns


def _matches(pattern: str, relative: str) -> bool:
    """Docker's rule: a pattern matches a path or any of its parent directories; ``**/`` also
    matches no directory at all."""
    parts = relative.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    alternatives = [pattern] + ([pattern[3:]] if pattern.startswith("**/") else [])
    return any(fnmatch.fnmatchcase(c, p) for c in candidates for p in alternatives)


def context_files(context: Path, dockerfile: str = "Dockerfile") -> list[Path]:
    """The files a ``docker build`` of ``context`` sends, sorted: what its ``.dockerignore``
    admits (the last matching line decides, as Docker documents:
    https://docs.docker.com/build/concepts/context/#dockerignore-files), plus the Dockerfile,
    which the daemon always gets. Caches and bytecode are never part of it."""
    root = Path(context)
    patterns = _dockerignore_patterns(root)

    def excluded(relative: str) -> bool:
        verdict = False
        for exclude, pattern in patterns:
            if _matches(pattern, relative):
                verdict = exclude
        return verdict

    # Where a re-inclusion could reach: an excluded directory outside all of them (venv/, .git/)
    # is not walked at all.
    reachable = [re.split(r"[*?\[]", pattern, maxsplit=1)[0] for exclude, pattern in patterns if not exclude]

    def may_hold_included(relative_dir: str) -> bool:
        prefix = relative_dir + "/"
        return any(r == "" or (r + "/").startswith(prefix) or prefix.startswith(r) for r in reachable)

    files = []
    for directory, subdirs, names in os.walk(root):
        here = Path(directory).relative_to(root).as_posix()
        here = "" if here == "." else here + "/"
        subdirs[:] = sorted(
            d for d in subdirs if d != "__pycache__" and (not excluded(here + d) or may_hold_included(here + d))
        )
        for file_name in names:
            relative = here + file_name
            if Path(file_name).suffix in {".pyc", ".pyo"}:
                continue
            if relative == dockerfile or not excluded(relative):
                files.append(root / relative)
    return sorted(files)


def context_digest(context: Path, dockerfile: str = "Dockerfile") -> str:
    """A sha256 over the relative paths and bytes of :func:`context_files`: an image tag that
    changes exactly when the build's input does (editing a README next to it changes nothing)."""
    root = Path(context)
    digest = hashlib.sha256()
    for path in context_files(root, dockerfile):
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()
