"""What ``apps/asteroids/start.sh`` is told in each of its two containers per game host.

Pure functions from plain values to the ``KEY=value`` strings docker passes, one per role:

* the volume container (``start.sh volume``) gets the Gluster mount and where the copy goes. The
  mount is spelled out here, not in the script, so the plan records exactly what each volume
  container will mount: ``mount -t glusterfs -o "$GLUSTER_MOUNT_OPTIONS" "$GLUSTER_MOUNT_SOURCE"
  /mnt/<vol>``;
* the game container (``start.sh serve``) gets where the copy is and where players connect, and
  nothing about Gluster: it never mounts anything.

Nothing here is secret.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Sequence

# The Node game server's port inside the container (upstream default) and nginx's port.
GAME_PORT = 28785
CONTAINER_PORT = 8080
MOUNT_ROOT = "/mnt"
# The shared Docker volume holding the copy of the game: read-write in the volume container,
# read-only in the game container; the served tree is ``current`` (a link start.sh swaps).
COPY_ROOT = "/srv/asteroids"
# How often the volume container compares the game on Gluster with its copy.
SYNC_SECONDS = 30
START_SH = "/usr/local/bin/start.sh"
VOLUME_COMMAND = (START_SH, "volume")
SERVE_COMMAND = (START_SH, "serve")
VOLUME_HEALTH_COMMAND = (START_SH, "volume-health")
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


def game_client_dir() -> str:
    """Where the game's browser client is served from: the copy in service (``$CURRENT/client``)."""
    return f"{COPY_ROOT}/current/client"


def volume_environment(mount: GlusterMount, sync_seconds: int = SYNC_SECONDS) -> list[str]:
    """The ``KEY=value`` environment of one volume container: the mount and the copy's place."""
    if sync_seconds < 1:
        raise ValueError(f"sync interval {sync_seconds} s must be at least 1 s")
    return [
        f"GLUSTER_VOLUME={mount.volume}",
        f"GLUSTER_MOUNT_SOURCE={mount.source}",
        f"GLUSTER_MOUNT_OPTIONS={mount.options}",
        f"MOUNT_ROOT={MOUNT_ROOT}",
        f"COPY_ROOT={COPY_ROOT}",
        f"SYNC_SECONDS={sync_seconds}",
    ]


def serve_environment(public_host: str, public_port: int) -> list[str]:
    """The ``KEY=value`` environment of one game container: the copy and where players connect."""
    if not _HOST.match(public_host):
        raise ValueError(f"public host {public_host!r} must be a host name or IPv4 address")
    if not 1 <= public_port <= 65535:
        raise ValueError(f"public port {public_port} is not a TCP port")
    return [
        f"COPY_ROOT={COPY_ROOT}",
        f"RUN_DIR={RUN_DIR}",
        f"PUBLIC_HOST={public_host}",
        f"PUBLIC_PORT={public_port}",
        f"GAME_PORT={GAME_PORT}",
    ]
