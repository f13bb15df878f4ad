"""The files the docker provider's ``ssh`` reads: each host's pinned key and the stack's key.

The docker provider has no way to take a private key or a host key as a string (its SSH runs the
system ``ssh`` binary), so the program writes them, mode 0600, under
``~/.rancher-stacks/<project>/<stack>/`` on the machine running Pulumi, on every run, from what
the stack holds (config and state). The options name them with ``~``, which ssh expands itself,
so the provider's inputs are the same on every machine and no preview shows a change because a
colleague or CI runs it from another home directory.

``RANCHER_STACKS_SSH_HOME`` moves the directory the files are written under (the offline plan
writes into a throwaway one); ssh still reads ``~``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

HOME_ENV = "RANCHER_STACKS_SSH_HOME"


def ssh_path(project: str, stack: str, *parts: str) -> str:
    """The ``~/...`` path ssh is given for a file of this stack."""
    return "/".join(["~", ".rancher-stacks", project, stack, *parts])


def write_private(path: str, content: str) -> str:
    """Write ``content`` to ``path`` (``~/...``) with mode 0600, atomically; returns ``path``."""
    home = Path(os.environ.get(HOME_ENV) or Path.home())
    target = home / path.removeprefix("~/")
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(content if content.endswith("\n") else content + "\n")
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    return path
