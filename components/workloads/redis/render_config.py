"""``redis.conf`` of the log broker (pure).

* ``bind 0.0.0.0`` with ``protected-mode yes``: Redis listens on every interface because the
  collectors and indexers are other hosts; who may connect is the firewall's job (6379 only from
  those two groups). Protected mode only refuses outside clients when no password is set and
  the default bind is used, so with ``requirepass`` it stays on as a second net, not the gate
  (redis.conf 7.2, "protected-mode" and "requirepass" sections:
  https://raw.githubusercontent.com/redis/redis/7.2/redis.conf).
* ``requirepass``: every client authenticates; the file is therefore secret (written 0400 for
  the redis user by the container's entrypoint wrapper, never uploaded in clear).
* Persistence on the data volume (``dir``): the append-only file (``appendonly yes``,
  ``appendfsync everysec``: at most a second of events lost on a crash) and RDB snapshots.
* ``maxmemory`` with ``noeviction``: a full broker refuses new events (the collectors retry
  and Filebeat waits) instead of silently dropping queued ones.
"""

from __future__ import annotations

import re
from typing import Sequence

_PASSWORD = re.compile(r"^[A-Za-z0-9]{16,128}$")
_DIR = re.compile(r"^/[A-Za-z0-9_./-]*$")


def render_redis_conf(
    *,
    password: str,
    port: int = 6379,
    bind: Sequence[str] = ("0.0.0.0",),
    data_dir: str = "/data",
    max_memory_mb: int = 256,
) -> str:
    """The broker's config. ``password``: letters and digits, 16 to 128 of them."""
    if not _PASSWORD.match(password):
        raise ValueError("the Redis password must be 16-128 letters and digits")
    if not 1 <= port <= 65535:
        raise ValueError(f"bad port {port}")
    if not _DIR.match(data_dir):
        raise ValueError(f"bad data directory {data_dir!r}")
    if not bind:
        raise ValueError("bind needs at least one address")
    return "\n".join(
        [
            "# rancher-stacks: the log broker (collectors push, indexers pop one list)",
            f"bind {' '.join(bind)}",
            "protected-mode yes",
            f"port {port}",
            f"requirepass {password}",
            f"dir {data_dir}",
            "appendonly yes",
            'appendfilename "appendonly.aof"',
            "appendfsync everysec",
            'dbfilename "dump.rdb"',
            "save 900 1",
            "save 300 10",
            "save 60 10000",
            f"maxmemory {max_memory_mb}mb",
            "maxmemory-policy noeviction",
            "",
        ]
    )
