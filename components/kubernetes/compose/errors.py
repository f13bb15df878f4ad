"""Errors of the compose translator: every one names the compose file and line it comes from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Optional


@dataclass(frozen=True)
class Location:
    """Where a value was read: a compose file and a 1-based line (0: the whole file)."""

    file: str
    line: int = 0

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" if self.line else self.file


class ComposeError(ValueError):
    """A compose project we cannot read or translate; the message starts with ``file:line``."""

    def __init__(self, message: str, where: Optional[Location] = None) -> None:
        self.where = where
        self.reason = message
        super().__init__(f"{where}: {message}" if where else message)


def display_path(path: Path) -> str:
    """A path as short as is still clear in a message (relative to the working directory if inside)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)
