"""The GlusterFS bootstrap script: peers, volume, bricks. A pure function from names to sh text.

The script runs where the first server's ``docker`` CLI works (over SSH on a RancherOS host, or
locally) and drives that server's ``gluster`` CLI with ``docker exec``. Every step checks before it
acts, so a re-run (a host added, a previous run interrupted) converges instead of failing:

1. wait (bounded) until glusterd answers in the local server container;
2. ``peer probe`` every other server (probing a known peer succeeds and changes nothing);
3. wait (bounded) until every peer is ``Peer in Cluster (Connected)``;
4. ``volume create <vol> replica N <bricks>`` only if ``volume info <vol>`` fails; if the volume
   exists with fewer bricks, ``add-brick <vol> replica <n+1> <brick>`` for each missing brick and
   start a full self-heal so the new replica receives the data. Bricks are never removed;
5. ``volume start`` unless the volume is already started;
6. ``network.ping-timeout`` set low, so clients fail over to the surviving replicas in seconds, and
   ``cluster.heal-timeout`` low, so the self-heal daemon's periodic sweep picks up what a returning
   brick missed within seconds (the fault drill, ``tools/drills/gluster.py``, found entries left
   for the 600 s default).

Servers and bricks are named by peer name (``gluster-<host>``), never by IP; each container
resolves those names itself (see ``cluster``).
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from typing import Sequence

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")
_VOLUME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,31}$")


@dataclass(frozen=True)
class Brick:
    """One brick: the peer name of its server and its absolute path on that server."""

    server: str
    path: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.server):
            raise ValueError(f"brick server {self.server!r} is not a valid host name")
        if not _PATH.match(self.path) or "/../" in f"{self.path}/":
            raise ValueError(f"brick path {self.path!r} must be a plain absolute path")

    @property
    def spec(self) -> str:
        """``server:/path``, as the gluster CLI and ``volume info`` write it."""
        return f"{self.server}:{self.path}"


def render_bootstrap(
    *,
    container: str,
    volume: str,
    bricks: Sequence[Brick],
    attempts: int = 60,
    interval_seconds: int = 5,
    ping_timeout_seconds: int = 10,
    heal_timeout_seconds: int = 10,
) -> str:
    """The idempotent bootstrap script for ``volume``, replicated on one brick per server.

    ``bricks[0]`` lives on the server whose container ``container`` the script drives; the
    others' servers are its peers. Waits are bounded by ``attempts`` x ``interval_seconds``.
    """
    if not _NAME.match(container):
        raise ValueError(f"container name {container!r} is not a valid docker container name")
    if not _VOLUME.match(volume):
        raise ValueError(f"volume name {volume!r} must match {_VOLUME.pattern}")
    servers = [b.server for b in bricks]
    if len(servers) < 2 or len(set(servers)) != len(servers):
        raise ValueError(f"a replicated volume needs 2 or more bricks on distinct servers; got {servers}")
    if attempts < 1 or interval_seconds < 1 or ping_timeout_seconds < 1:
        raise ValueError("attempts, interval_seconds and ping_timeout_seconds must be positive")
    if heal_timeout_seconds < 5:
        raise ValueError("heal_timeout_seconds must be at least 5 (GlusterFS's minimum)")

    replica = len(bricks)
    peers = servers[1:]
    specs = " ".join(b.spec for b in bricks)
    probes = "\n".join(f"retry 'peer probe {p}' gl peer probe {shlex.quote(p)}" for p in peers)
    return f"""#!/bin/sh
# GlusterFS bootstrap for volume {volume}: {replica} servers, replica {replica}.
# Rendered by rancher-stacks. Idempotent: each step checks before it acts.
set -eu

CONTAINER={shlex.quote(container)}
VOLUME={shlex.quote(volume)}
REPLICA={replica}
ATTEMPTS={attempts}
INTERVAL={interval_seconds}

log() {{
    printf 'gluster-bootstrap %s: %s\\n' "$VOLUME" "$*" >&2
}}

gl() {{
    docker exec "$CONTAINER" gluster --mode=script "$@"
}}

# retry WHAT COMMAND...: run COMMAND until it succeeds, at most ATTEMPTS times.
retry() {{
    what=$1
    shift
    n=0
    until "$@" >/dev/null 2>&1; do
        n=$((n + 1))
        if [ "$n" -ge "$ATTEMPTS" ]; then
            log "gave up after $ATTEMPTS attempts: $what"
            return 1
        fi
        sleep "$INTERVAL"
    done
}}

connected_peers() {{
    gl peer status 2>/dev/null | grep -c 'Peer in Cluster (Connected)' || true
}}

volume_bricks() {{
    gl volume info "$VOLUME" | sed -n 's/^Brick[0-9][0-9]*: //p'
}}

# 1. glusterd answers in the local server container.
retry "glusterd in $CONTAINER" gl pool list

# 2. Every other server is probed (a known peer is a no-op).
{probes}

# 3. Every peer is connected.
want=$((REPLICA - 1))
n=0
while [ "$(connected_peers)" -lt "$want" ]; do
    n=$((n + 1))
    if [ "$n" -ge "$ATTEMPTS" ]; then
        log "only $(connected_peers) of $want peers are connected"
        gl peer status >&2 || true
        exit 1
    fi
    sleep "$INTERVAL"
done

# 4. The volume is created once; a volume with fewer bricks grows one replica per new server.
added=0
if ! gl volume info "$VOLUME" >/dev/null 2>&1; then
    log "creating volume: replica $REPLICA"
    gl volume create "$VOLUME" replica "$REPLICA" {specs}
else
    have=$(volume_bricks | wc -l)
    for brick in {specs}; do
        if ! volume_bricks | grep -qxF "$brick"; then
            have=$((have + 1))
            log "adding brick $brick: replica $have"
            gl volume add-brick "$VOLUME" replica "$have" "$brick"
            added=1
        fi
    done
    if [ "$have" -gt "$REPLICA" ]; then
        log "the volume has $have bricks for $REPLICA configured servers; bricks are never removed here"
    fi
fi

# 5. The volume is started.
if ! gl volume info "$VOLUME" | grep -q '^Status: Started$'; then
    gl volume start "$VOLUME"
fi

# 6. Clients drop a lost server after {ping_timeout_seconds} s (default 42 s) and carry on with the others.
gl volume set "$VOLUME" network.ping-timeout {ping_timeout_seconds}
# The self-heal daemon sweeps its index every {heal_timeout_seconds} s (default 600 s): a write that lands on one brick
# between the daemon's reconnect and the client's (seen in the fault drill) heals in seconds, not minutes.
gl volume set "$VOLUME" cluster.heal-timeout {heal_timeout_seconds}
if [ "$added" -eq 1 ]; then
    gl volume heal "$VOLUME" full || log "full heal not started; the self-heal daemon catches up"
fi

log "ready: $(volume_bricks | tr '\\n' ' ')"
"""
