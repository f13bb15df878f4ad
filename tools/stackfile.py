"""Read a project's ``Pulumi.yaml`` and a ``Pulumi.<stack>.yaml`` the way the Pulumi CLI would.

The CLI hands a program a flat map of namespaced keys to strings, with objects as JSON and
``default:`` values of the project's typed config filled in. The offline plan does the same,
so the program cannot tell it apart from ``pulumi up``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class StackFileError(Exception):
    """The stack file or project file cannot be used; the message says which and why."""


@dataclass
class StackFile:
    project: str
    stack: str
    path: Path
    config: dict[str, str]
    secret_keys: list[str]


def _load_yaml(path: Path) -> Any:
    try:
        return yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise StackFileError(f"{path}: no such file") from None
    except yaml.YAMLError as exc:
        raise StackFileError(f"{path}: not valid YAML ({exc})") from None


def load_project(project_dir: Path) -> tuple[str, dict[str, Any]]:
    """The project name and the ``default:`` values of its typed config (namespaced keys)."""
    doc = _load_yaml(project_dir / "Pulumi.yaml")
    if not isinstance(doc, dict) or "name" not in doc:
        raise StackFileError(f"{project_dir / 'Pulumi.yaml'}: expected a mapping with a 'name'")
    name = str(doc["name"])
    defaults: dict[str, Any] = {}
    for key, spec in (doc.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(spec, dict) and "default" in spec:
            defaults[full] = spec["default"]
        elif isinstance(spec, dict) and "value" in spec:
            defaults[full] = spec["value"]
    return name, defaults


def config_from_stack_values(values: dict[str, Any]) -> tuple[dict[str, str], list[str]]:
    """Turn a stack file's ``config:`` mapping into the flat string map a program receives.

    Objects and arrays become JSON strings (as the Pulumi CLI passes them); ``secure:`` values
    cannot be decrypted offline, so they become a placeholder and their keys are secret.
    """
    flat: dict[str, str] = {}
    secret: list[str] = []
    for key, value in values.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            flat[key] = "offline-plan-placeholder"
            secret.append(key)
        elif isinstance(value, (dict, list)):
            flat[key] = json.dumps(value)
        elif isinstance(value, bool):
            flat[key] = "true" if value else "false"
        else:
            flat[key] = str(value)
    return flat, secret


def load_stack_file(path: Path, project_dir: Path) -> StackFile:
    """Load ``Pulumi.<stack>.yaml`` at ``path``; the stack name comes from the file name."""
    path = Path(path)
    stem = path.name
    if not (stem.startswith("Pulumi.") and stem.endswith((".yaml", ".yml"))) or stem.count(".") < 2:
        raise StackFileError(f"{path}: a stack file is named Pulumi.<stack>.yaml")
    stack = stem[len("Pulumi.") :].rsplit(".", 1)[0]
    project, defaults = load_project(project_dir)
    doc = _load_yaml(path)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise StackFileError(f"{path}: expected a mapping with a 'config' key at the top")
    values = doc.get("config") or {}
    if not isinstance(values, dict):
        raise StackFileError(f"{path}: 'config' must be a mapping of namespaced keys")
    for key in values:
        if not isinstance(key, str) or ":" not in key:
            raise StackFileError(f"{path}: config key {key!r} must be namespaced, e.g. {project}:{key}")
    flat, secret = config_from_stack_values({**defaults, **values})
    return StackFile(project=project, stack=stack, path=path, config=flat, secret_keys=secret)
