"""Compose variable interpolation: ``$VAR``, ``${VAR}``, ``${VAR:-default}``, ``${VAR-default}``,
``${VAR:?error}``, ``${VAR?error}``, ``${VAR:+alt}``, ``${VAR+alt}`` and ``$$`` for a literal ``$``.

The semantics follow the compose specification's "Interpolation" section
(https://github.com/compose-spec/compose-spec/blob/main/spec.md#interpolation): ``:-`` applies the
default when the variable is unset OR empty, ``-`` only when it is unset; an unset variable with no
default becomes the empty string (compose warns). Defaults may themselves contain references
(``${A:-${B}}``), hence the small scanner instead of one regular expression.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Optional

Lookup = Callable[[str], Optional[str]]

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class InterpolationError(ValueError):
    """A ``${VAR:?message}`` whose variable is missing, or a malformed ``${...}``."""


def lookup_in(*mappings: Mapping[str, str]) -> Lookup:
    """A lookup that tries each mapping in turn (the first one that has the name wins)."""

    def find(name: str) -> Optional[str]:
        for mapping in mappings:
            if name in mapping:
                return mapping[name]
        return None

    return find


def interpolate(text: str, lookup: Lookup, unset: Optional[list[str]] = None) -> str:
    """``text`` with every reference substituted; names found unset are appended to ``unset``."""
    out: list[str] = []
    i = 0
    n = len(text)
    while i < n:
        c = text[i]
        if c != "$":
            out.append(c)
            i += 1
            continue
        if i + 1 < n and text[i + 1] == "$":
            out.append("$")
            i += 2
            continue
        if i + 1 < n and text[i + 1] == "{":
            end = _closing_brace(text, i + 2)
            out.append(_braced(text[i + 2 : end], lookup, unset))
            i = end + 1
            continue
        match = _NAME.match(text, i + 1)
        if match is None:
            out.append("$")
            i += 1
            continue
        out.append(_value(match.group(0), lookup, unset))
        i = match.end()
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise InterpolationError(f"unterminated variable reference '${{{text[start:]}' (no closing '}}')")


def _value(name: str, lookup: Lookup, unset: Optional[list[str]]) -> str:
    value = lookup(name)
    if value is None:
        if unset is not None:
            unset.append(name)
        return ""
    return value


def _braced(body: str, lookup: Lookup, unset: Optional[list[str]]) -> str:
    match = _NAME.match(body)
    if match is None:
        raise InterpolationError(f"invalid variable reference '${{{body}}}'")
    name = match.group(0)
    rest = body[match.end() :]
    if not rest:
        return _value(name, lookup, unset)
    value = lookup(name)
    for op in (":-", ":?", ":+", "-", "?", "+"):
        if rest.startswith(op):
            arg = rest[len(op) :]
            break
    else:
        raise InterpolationError(f"invalid variable reference '${{{body}}}'")
    empty_counts = op.startswith(":")
    missing = value is None or (empty_counts and value == "")
    kind = op[-1]
    if kind == "-":
        return interpolate(arg, lookup, unset) if missing else str(value)
    if kind == "?":
        if missing:
            detail = interpolate(arg, lookup, unset) or "is required"
            raise InterpolationError(f"required variable {name} is missing a value: {detail}")
        return str(value)
    # '+': the alternative when set
    return "" if missing else interpolate(arg, lookup, unset)


def parse_env_file(text: str, lookup: Optional[Lookup] = None) -> dict[str, str]:
    """A dotenv file (``KEY=value`` lines, ``#`` comments, optional ``export``, quotes) as a dict.

    Unquoted and double-quoted values are interpolated with ``lookup`` extended by the names the
    file defined above (compose's ``.env`` rules); single-quoted values are literal.
    """
    result: dict[str, str] = {}

    def find(name: str) -> Optional[str]:
        if lookup is not None:
            found = lookup(name)
            if found is not None:
                return found
        return result.get(name)

    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        key, sep, value = line.partition("=")
        key = key.strip()
        if not sep:
            # A bare name: compose takes it from the environment, if there.
            found = find(key)
            if found is not None:
                result[key] = found
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] == "'":
            result[key] = value[1:-1]
            continue
        if len(value) >= 2 and value[0] == value[-1] == '"':
            value = value[1:-1].replace("\\n", "\n").replace('\\"', '"')
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        result[key] = interpolate(value, find)
    return result
