"""Defensive readers for engine property bags.

Policies see resource inputs exactly as the engine hands them over: camelCase keys, numbers as
floats, values that are missing, of an unexpected shape, or not yet known during a preview. In the
live pack the bag is wrapped by ``pulumi_policy``'s unknown-checking proxy, which raises
``UnknownValueError`` on access to an unknown value; in plain dictionaries (unit tests, the offline
plan) unknowns show up as the engine's sentinel strings. The helpers here turn all of those cases
into three outcomes a rule can reason about: a usable value, ``None`` (absent or unusable), or
:data:`UNKNOWN` (present but not known yet, so the rule cannot decide).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

_SENTINELS: Final = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)


class Unknown:
    """Marker type for a value that exists but is not known yet (preview)."""

    def __repr__(self) -> str:
        return "<unknown>"


UNKNOWN: Final = Unknown()
"""The single :class:`Unknown` instance returned by the readers below."""


def is_unknown(value: object) -> bool:
    """True for :data:`UNKNOWN` and for the engine's unknown sentinel strings."""
    return value is UNKNOWN or (isinstance(value, str) and value in _SENTINELS)


def is_sequence(value: object) -> bool:
    """True for list-like values (including the policy SDK's list proxy), never for strings."""
    return isinstance(value, Sequence) and not isinstance(value, (str, bytes, bytearray))


def lookup(value: Any, *path: str | int) -> Any:
    """Follow ``path`` (keys and list indices) into ``value``.

    Returns the value found, ``None`` when a step is missing or has the wrong shape, or
    :data:`UNKNOWN` when any step is not known yet.
    """
    current = value
    for key in path:
        if is_unknown(current):
            return UNKNOWN
        try:
            if isinstance(key, str):
                if not isinstance(current, Mapping) or key not in current:
                    return None
            elif not is_sequence(current) or not -len(current) <= key < len(current):
                return None
            current = current[key]
        except UnknownValueError:
            return UNKNOWN
    return UNKNOWN if is_unknown(current) else current


def items_of(value: Any) -> list[Any]:
    """Elements of a list-like value; unknown elements become :data:`UNKNOWN`.

    Anything that is not list-like (``None``, a string, :data:`UNKNOWN`) yields ``[]``; callers that
    must tell "unknown list" from "no list" check :func:`is_unknown` first.
    """
    if is_unknown(value) or not is_sequence(value):
        return []
    return [lookup(value, index) for index in range(len(value))]


def as_int(value: Any) -> int | None:
    """An integer from an int, an integral float (the engine's numbers) or a numeric string."""
    if isinstance(value, bool) or is_unknown(value):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if value.is_integer() else None
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").isdigit():
            return int(text)
    return None


def as_bool(value: Any) -> bool | None:
    """A boolean from a bool or the strings ``"true"``/``"false"`` (any case)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and not is_unknown(value):
        lowered = value.strip().lower()
        if lowered in ("true", "false"):
            return lowered == "true"
    return None


def as_str(value: Any) -> str | None:
    """A known string, else ``None``."""
    if isinstance(value, str) and not is_unknown(value):
        return value
    return None


def known_strings(value: Any) -> list[str]:
    """The known string elements of a list-like value (a bare string counts as one element)."""
    single = as_str(value)
    if single is not None:
        return [single]
    return [text for text in (as_str(item) for item in items_of(value)) if text is not None]


def has_entries(value: Any) -> bool:
    """True when a list-like value has at least one element (known or not), or is itself unknown."""
    if is_unknown(value):
        return True
    if as_str(value):
        return True
    return bool(items_of(value))
