"""The entrypoint wrapper that turns secret environment variables into files, then runs the image.

Keys and certificates reach a container through its own environment (secret inputs of the
``docker.Container``; never an SSH environment variable, never the host's disk): this small sh
script, uploaded as the container's entrypoint, writes each to a file with a tight mode (and
owner, when the wrapper starts as root and the service runs as another user), unsets the
variables so the service never sees them, runs an optional preparation snippet, and ``exec``\\ s
the image's own entrypoint with the original arguments. The same approach as the replica set's
member entrypoint (``workloads/mongo/render_scripts.py``), for any image with a POSIX sh.
"""

from __future__ import annotations

import posixpath
import re
import shlex
from dataclasses import dataclass
from typing import Sequence

_ENV = re.compile(r"^[A-Z][A-Z0-9_]{0,63}$")
_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")
_MODE = re.compile(r"^0[0-7]{3}$")
_OWNER = re.compile(r"^\d+:\d+$")


@dataclass(frozen=True)
class SecretFile:
    """One file written from one environment variable."""

    env: str
    path: str
    mode: str = "0400"


def render_tls_entrypoint(
    files: Sequence[SecretFile],
    *,
    owner: str | None = None,
    prepare: str = "",
    exec_prefix: Sequence[str] = (),
) -> str:
    """sh: write ``files`` from their variables, unset them, ``prepare``, then ``exec "$@"``.

    ``owner`` (``uid:gid``) chowns the files (the wrapper must then start as root);
    ``exec_prefix`` goes before ``"$@"`` (e.g. ``setpriv`` to drop root).
    """
    if not files:
        raise ValueError("no files to write")
    for f in files:
        if not _ENV.match(f.env) or not _PATH.match(f.path) or ".." in f.path.split("/"):
            raise ValueError(f"bad secret file {f!r}")
        if not _MODE.match(f.mode):
            raise ValueError(f"bad mode {f.mode!r}")
    if owner is not None and not _OWNER.match(owner):
        raise ValueError(f"owner must be uid:gid; got {owner!r}")
    envs = [f.env for f in files]
    if len(set(envs)) != len(envs) or len({f.path for f in files}) != len(files):
        raise ValueError("each variable and each path once")
    dirs = sorted({posixpath.dirname(f.path) for f in files})
    lines = [
        "#!/bin/sh",
        "# rancher-stacks: secret files from this container's environment, then the image's command.",
        "set -eu",
        "umask 077",
        f"mkdir -p {' '.join(shlex.quote(d) for d in dirs)}",
    ]
    for f in files:
        path = shlex.quote(f.path)
        lines.append(f'if [ -z "${{{f.env}:-}}" ]; then echo "{f.env} is not set" >&2; exit 1; fi')
        lines.append(f"printf '%s\\n' \"${f.env}\" > {path}")
        lines.append(f"chmod {f.mode} {path}")
    if owner is not None:
        lines.append(
            f"chown {owner} {' '.join(shlex.quote(d) for d in dirs)} {' '.join(shlex.quote(f.path) for f in files)}"
        )
    lines.append(f"unset {' '.join(envs)}")
    if prepare:
        lines.append(prepare.rstrip("\n"))
    prefix = " ".join(shlex.quote(w) for w in exec_prefix)
    lines.append(f'exec {prefix + " " if prefix else ""}"$@"')
    return "\n".join(lines) + "\n"
