"""Names every layer shares: component type tokens and cloud-safe resource names.

Pure functions, no Pulumi: the renderers and the config may use them too.
"""

from __future__ import annotations

PACKAGE = "rancher-stacks"


def type_token(class_name: str) -> str:
    """The component type token for ``class_name``: ``rancher-stacks:index:<ClassName>``.

    Tokens come from class names, never from module paths, so moving a module changes no URN.
    """
    return f"{PACKAGE}:index:{class_name}"


def sanitized_name(*parts: str, max_len: int = 63) -> str:
    """A lowercase ``[a-z0-9-]`` name starting with a letter: GCP tags, DO tags and volume names.

    Cloud-side names (tags, volume names) are shared by every stack in an account or project,
    so callers include the stack name in ``parts``.
    """
    raw = "-".join(p for p in parts if p).lower()
    cleaned = "".join(ch if ch.isalnum() and ch.isascii() else "-" for ch in raw)
    while "--" in cleaned:
        cleaned = cleaned.replace("--", "-")
    cleaned = cleaned.strip("-")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = "rs-" + cleaned
    return cleaned[:max_len].rstrip("-")
