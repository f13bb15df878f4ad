"""The environment of an Asteroids game container: what ``apps/asteroids/start.sh`` is told.

Pure functions from plain values to the ``KEY=value`` strings docker passes. The Gluster mount
is spelled out here, not in the script, so the plan records exactly what each game container
will mount: ``mount -t glusterfs -o "$GLUSTER_MOUNT_OPTIONS" "$GLUSTER_MOUNT_SOURCE" /mnt/<vol>``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

# The Node game server's port inside the container (upstream default) and nginx's port.
GAME_PORT = 28785
CONTAINER_PORT = 8080
MOUNT_ROOT = "/mnt"
# Where start.sh writes this container's client configuration (served as /config.js).
RUN_DIR = "/run/asteroids"
CONFIG_JS = f"{RUN_DIR}/config.js"

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_HOST = re.compile(r"^[A-Za-z0-9.-]+$")


@dataclass(frozen=True)
class GlusterMount:
    """A FUSE mount of ``volume``: fetch the volfile from ``primary``, else from ``backups``."""

    volume: str
    primary: str
    backups: tuple[str, ...]

    @property
    def source(self) -> str:
        return f"{self.primary}:/{self.volume}"

    @property
    def options(self) -> str:
        return "backup-volfile-servers=" + ":".join(self.backups)

    @property
    def mount_point(self) -> str:
        return f"{MOUNT_ROOT}/{self.volume}"


def gluster_mount(volume: str, servers: Sequence[str], primary_index: int = 0) -> GlusterMount:
    """Mount through ``servers[primary_index]`` first, with every other server as a backup.

    Game hosts rotate ``primary_index`` so that volfile fetches spread over the servers.
    """
    if len(servers) < 2 or len(set(servers)) != len(servers):
        raise ValueError(f"backup volfile servers need 2 or more distinct servers; got {servers}")
    for server in servers:
        if not _NAME.match(server):
            raise ValueError(f"volfile server {server!r} is not a valid host name")
    first = primary_index % len(servers)
    ordered = [*servers[first:], *servers[:first]]
    return GlusterMount(volume, ordered[0], tuple(ordered[1:]))


def game_client_dir(volume: str) -> str:
    """Where the game's browser client lives on a mounted volume (``$GAME_DIR/client`` in start.sh)."""
    return f"{MOUNT_ROOT}/{volume}/asteroids/client"


def start_environment(mount: GlusterMount, public_host: str, public_port: int) -> list[str]:
    """The ``KEY=value`` environment of one game container."""
    if not _HOST.match(public_host):
        raise ValueError(f"public host {public_host!r} must be a host name or IPv4 address")
    if not 1 <= public_port <= 65535:
        raise ValueError(f"public port {public_port} is not a TCP port")
    return [
        f"GLUSTER_VOLUME={mount.volume}",
        f"GLUSTER_MOUNT_SOURCE={mount.source}",
        f"GLUSTER_MOUNT_OPTIONS={mount.options}",
        f"MOUNT_ROOT={MOUNT_ROOT}",
        f"RUN_DIR={RUN_DIR}",
        f"PUBLIC_HOST={public_host}",
        f"PUBLIC_PORT={public_port}",
        f"GAME_PORT={GAME_PORT}",
    ]
