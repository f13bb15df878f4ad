"""Compose loader: YAML files (with line marks) -> interpolation -> merge -> :class:`model.Project`.

* Files are merged in order, like ``docker compose -f a.yaml -f b.yaml``: mappings merge key by
  key, ``environment``/``labels`` merge by name whatever their form (list or mapping),
  ``ports``/``expose``/``env_file``/``secrets``... are unions, ``volumes`` merge by container
  path, and scalars and ``command``/``entrypoint``/``healthcheck.test`` are replaced (compose
  spec, "Merge and override": https://github.com/compose-spec/compose-spec/blob/main/13-merge.md).
* ``.env`` of the project directory feeds interpolation; the process environment wins over it
  (compose spec, "Interpolation" / "Set environment variables with .env").
* A rancher-compose file (Rancher 1.x: ``scale`` and ``health_check`` per service; Rancher's
  "Rancher Compose" docs, https://rancher.com/docs/rancher/v1.6/en/cattle/rancher-compose/) adds
  replicas and probes to the services it names.

Every value keeps the line it came from (yaml node marks), so errors read ``file:line: ...``.
"""

from __future__ import annotations

import os
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

import yaml

from .errors import ComposeError, Location, display_path
from .interpolate import InterpolationError, interpolate, lookup_in, parse_env_file
from .model import (
    Constraint,
    Mount,
    NetworkDef,
    Port,
    Probe,
    Project,
    Resources,
    SecretDef,
    SecretUse,
    Service,
    VolumeDef,
)

PathKey = tuple[Union[str, int], ...]


@dataclass(frozen=True)
class Source:
    """A compose document: a file path, or text with the name to report it under."""

    name: str
    text: Optional[str] = None

    def read(self) -> str:
        if self.text is not None:
            return self.text
        try:
            return Path(self.name).read_text(encoding="utf-8")
        except OSError as exc:
            raise ComposeError(f"cannot read the compose file: {exc.strerror or exc}", Location(self.name)) from None


@dataclass
class _Doc:
    data: dict[str, Any]
    marks: dict[PathKey, Location] = field(default_factory=dict)


class _Marks:
    """Where each value of the merged document came from (later files override earlier ones)."""

    def __init__(self) -> None:
        self.paths: dict[PathKey, Location] = {}

    def at(self, *path: Union[str, int]) -> Location:
        key: PathKey = tuple(path)
        while key:
            if key in self.paths:
                return self.paths[key]
            key = key[:-1]
        return self.paths.get((), Location("compose"))


# ---------------------------------------------------------------------------------------------
# YAML with marks and interpolation


def _parse(source: Source, lookup: Any, interpolating: bool, unset: list[str]) -> _Doc:
    text = source.read()
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else 0
        raise ComposeError(f"not valid YAML: {exc.problem or exc}", Location(source.name, line)) from None
    except yaml.YAMLError as exc:
        raise ComposeError(f"not valid YAML: {exc}", Location(source.name)) from None
    doc = _Doc({})
    doc.marks[()] = Location(source.name, 1)
    if node is None:
        return doc
    constructor = yaml.SafeLoader("")

    def walk(n: yaml.Node, path: PathKey) -> Any:
        doc.marks[path] = Location(source.name, n.start_mark.line + 1)
        if isinstance(n, yaml.MappingNode):
            constructor.flatten_mapping(n)
            result: dict[str, Any] = {}
            for key_node, value_node in n.value:
                key = constructor.construct_object(key_node, deep=True)
                if not isinstance(key, (str, int, float, bool)):
                    raise ComposeError(
                        "mapping keys must be scalars", Location(source.name, key_node.start_mark.line + 1)
                    )
                key = str(key)
                result[key] = walk(value_node, path + (key,))
                # A key's own line: a block value starts on the line below it.
                doc.marks[path + (key,)] = Location(source.name, key_node.start_mark.line + 1)
            return result
        if isinstance(n, yaml.SequenceNode):
            return [walk(item, path + (i,)) for i, item in enumerate(n.value)]
        value = constructor.construct_object(n, deep=True)
        if isinstance(value, str) and interpolating and "$" in value:
            try:
                value = interpolate(value, lookup, unset)
            except InterpolationError as exc:
                raise ComposeError(str(exc), Location(source.name, n.start_mark.line + 1)) from None
        return value

    try:
        data = walk(node, ())
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        raise ComposeError(
            f"not valid YAML: {exc.problem}", Location(source.name, mark.line + 1 if mark else 0)
        ) from None
    if not isinstance(data, dict):
        raise ComposeError("a compose file must be a mapping (services:, volumes:, ...)", Location(source.name, 1))
    doc.data = data
    return doc


# ---------------------------------------------------------------------------------------------
# merge

_REPLACED = {"command", "entrypoint", "test"}
_BY_NAME = {"environment", "labels", "annotations", "sysctls", "extra_hosts", "args"}


def _as_mapping(value: Any) -> Any:
    """``["A=1", "B"]`` -> ``{"A": "1", "B": None}``; mappings unchanged."""
    if isinstance(value, list):
        out: dict[str, Any] = {}
        for item in value:
            key, sep, val = str(item).partition("=")
            out[key] = val if sep else None
        return out
    return value


def _normalize(data: Any, key: str = "") -> Any:
    if isinstance(data, dict):
        return {k: _normalize(_as_mapping(v) if k in _BY_NAME else v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_normalize(v) for v in data]
    return data


def _volume_target(entry: Any) -> str:
    if isinstance(entry, dict):
        return str(entry.get("target", ""))
    parts = _split_volume(str(entry))
    return parts[1] if len(parts) > 1 else parts[0]


def _merge(base: Any, over: Any, key: str = "") -> Any:
    if isinstance(base, dict) and isinstance(over, dict):
        out = dict(base)
        for k, v in over.items():
            out[k] = _merge(base[k], v, k) if k in base else v
        return out
    if isinstance(base, list) and isinstance(over, list) and key not in _REPLACED:
        if key == "volumes":
            merged = {_volume_target(v): v for v in base}
            merged.update({_volume_target(v): v for v in over})
            return list(merged.values())
        out_list = list(base)
        for item in over:
            if item not in out_list:
                out_list.append(item)
        return out_list
    return over


# ---------------------------------------------------------------------------------------------
# value parsers


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(us|ms|s|m|h)")
_UNIT_SECONDS = {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}


def _seconds(value: Any, where: Location, what: str) -> int:
    """A compose duration (``1m30s``, ``10s``, ``500ms``; a bare number is seconds) in whole seconds."""
    if isinstance(value, bool):
        raise ComposeError(f"{what}: expected a duration like 10s, got {value!r}", where)
    if isinstance(value, (int, float)):
        return max(int(value), 0)
    text = str(value).strip()
    pos = 0
    total = 0.0
    for match in _DURATION.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ComposeError(f"{what}: expected a duration like 10s or 1m30s, got {value!r}", where)
    return max(int(round(total)), 1 if total > 0 else 0)


_BYTES = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b?)\s*$", re.IGNORECASE)


def _bytes(value: Any, where: Location, what: str) -> int:
    """A compose byte value (``10000``, ``512k``, ``300m``, ``1gb``, ``10000Mb``): binary units, as docker."""
    if isinstance(value, bool):
        raise ComposeError(f"{what}: expected a size like 512m, got {value!r}", where)
    if isinstance(value, int):
        return value
    match = _BYTES.match(str(value))
    if not match:
        raise ComposeError(f"{what}: expected a size like 512m or 1g, got {value!r}", where)
    power = "bkmgtp".index(match.group(2).lower() or "b")
    return int(float(match.group(1)) * (1024**power))


def memory_quantity(size: int) -> str:
    """Bytes as a Kubernetes quantity, in the largest binary unit that divides it exactly."""
    for suffix, factor in (("Gi", 1024**3), ("Mi", 1024**2), ("Ki", 1024)):
        if size and size % factor == 0:
            return f"{size // factor}{suffix}"
    return str(size)


def cpu_quantity(value: Any, where: Location, what: str) -> str:
    try:
        cpus = float(value)
    except (TypeError, ValueError):
        raise ComposeError(f"{what}: expected a number of CPUs like 0.5, got {value!r}", where) from None
    if cpus <= 0:
        raise ComposeError(f"{what}: expected a positive number of CPUs, got {value!r}", where)
    milli = round(cpus * 1000)
    return str(milli // 1000) if milli % 1000 == 0 else f"{milli}m"


def _int(value: Any, where: Location, what: str, low: int = 0, high: Optional[int] = None) -> int:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(str(value).strip())
    except ValueError:
        raise ComposeError(f"{what}: expected a whole number, got {value!r}", where) from None
    if number < low or (high is not None and number > high):
        bound = f"from {low} to {high}" if high is not None else f">= {low}"
        raise ComposeError(f"{what}: expected a number {bound}, got {number}", where)
    return number


def _bool(value: Any, where: Location, what: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "yes", "1", "on"):
        return True
    if text in ("false", "no", "0", "off", ""):
        return False
    raise ComposeError(f"{what}: expected true or false, got {value!r}", where)


def _command(value: Any, where: Location, what: str) -> Optional[list[str]]:
    """A command as argv: a list stays, a string is split as a shell would (compose does the same)."""
    if value is None:
        return None
    if isinstance(value, list):
        return [str(v) for v in value]
    try:
        return shlex.split(str(value))
    except ValueError as exc:
        raise ComposeError(f"{what}: cannot split {value!r} into arguments: {exc}", where) from None


def _port_range(text: str, where: Location) -> list[int]:
    start, sep, end = text.partition("-")
    low = _int(start, where, "ports", 0, 65535)
    high = _int(end, where, "ports", 0, 65535) if sep else low
    if high < low:
        raise ComposeError(f"ports: the range {text!r} runs backwards", where)
    return list(range(low, high + 1))


def parse_ports(entry: Any, where: Location) -> list[Port]:
    """One ``ports:`` entry (short syntax with ranges and host IPs, or the long syntax)."""
    if isinstance(entry, dict):
        if "target" not in entry:
            raise ComposeError("ports: the long syntax needs 'target'", where)
        protocol = str(entry.get("protocol") or "tcp").upper()
        targets = _port_range(str(entry["target"]), where)
        published = entry.get("published")
        hosts = _port_range(str(published), where) if published not in (None, "") else []
        return [
            Port(
                target=t,
                published=(hosts[i] if i < len(hosts) else (hosts[0] if hosts else None)),
                protocol=protocol,
                host_ip=entry.get("host_ip"),
                mode=entry.get("mode"),
            )
            for i, t in enumerate(targets)
        ]
    text = str(entry).strip()
    protocol = "TCP"
    if "/" in text:
        text, _, proto = text.rpartition("/")
        protocol = proto.upper()
    if protocol not in ("TCP", "UDP", "SCTP"):
        raise ComposeError(f"ports: unknown protocol {protocol.lower()!r} in {entry!r} (tcp, udp or sctp)", where)
    host_ip: Optional[str] = None
    if text.startswith("["):
        end = text.index("]")
        host_ip, text = text[1:end], text[end + 2 :]
    parts = text.split(":")
    if len(parts) == 3:
        host_ip, host, container = parts
    elif len(parts) == 2:
        host, container = parts
    elif len(parts) == 1:
        host, container = "", parts[0]
    else:
        raise ComposeError(f"ports: cannot read {entry!r} ([HOST_IP:][HOST:]CONTAINER[/PROTOCOL])", where)
    targets = _port_range(container, where)
    hosts = _port_range(host, where) if host else []
    if hosts and len(hosts) != len(targets) and len(targets) != 1:
        raise ComposeError(f"ports: the host and container ranges of {entry!r} differ in length", where)
    out = []
    for i, target in enumerate(targets):
        published = hosts[i] if len(hosts) == len(targets) else (hosts[0] if hosts else None)
        out.append(Port(target=target, published=published, protocol=protocol, host_ip=host_ip or None))
    return out


_DRIVE = re.compile(r"^[A-Za-z]$")


def _split_volume(text: str) -> list[str]:
    """``src:dst:mode`` split on ':' keeping Windows drive letters (``C:\\x``) in one piece."""
    raw = text.split(":")
    parts: list[str] = []
    i = 0
    while i < len(raw):
        piece = raw[i]
        if _DRIVE.match(piece) and i + 1 < len(raw) and raw[i + 1][:1] in ("\\", "/"):
            piece = f"{piece}:{raw[i + 1]}"
            i += 1
        parts.append(piece)
        i += 1
    return parts


def _is_path(source: str) -> bool:
    return source.startswith((".", "/", "~", "\\")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


def parse_mount(entry: Any, where: Location) -> Mount:
    if isinstance(entry, dict):
        kind = str(entry.get("type") or "volume")
        if kind not in ("volume", "bind", "tmpfs"):
            raise ComposeError(f"volumes: type {kind!r} has no Kubernetes equivalent (volume, bind or tmpfs)", where)
        if "target" not in entry:
            raise ComposeError("volumes: the long syntax needs 'target'", where)
        sub = (entry.get("volume") or {}).get("subpath") if isinstance(entry.get("volume"), dict) else None
        source = entry.get("source")
        return Mount(
            type=kind,
            target=str(entry["target"]),
            source=str(source) if source else None,
            read_only=_bool(entry.get("read_only", False), where, "volumes.read_only"),
            subpath=sub,
        )
    parts = _split_volume(str(entry))
    if len(parts) == 1:
        return Mount(type="volume", target=parts[0])
    if len(parts) > 3:
        raise ComposeError(f"volumes: cannot read {entry!r} (SOURCE:TARGET[:MODE])", where)
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    return Mount(
        type="bind" if _is_path(source) else "volume",
        target=target,
        source=source,
        read_only="ro" in modes,
    )


def parse_healthcheck(spec: Any, where: Location) -> Optional[Probe]:
    """A compose ``healthcheck:`` as a probe. A shell-form test (a string or ``CMD-SHELL``) runs in
    ``/bin/sh -c`` as Docker does (Dockerfile reference, HEALTHCHECK: "CMD-SHELL ... run with the
    container's default shell"); ``NONE`` / ``disable: true`` means no probe."""
    if not isinstance(spec, dict):
        raise ComposeError("healthcheck: expected a mapping", where)
    if _bool(spec.get("disable", False), where, "healthcheck.disable"):
        return None
    test = spec.get("test")
    command: Optional[tuple[str, ...]] = None
    if isinstance(test, str):
        command = ("/bin/sh", "-c", test)
    elif isinstance(test, list) and test:
        head, rest = str(test[0]), [str(t) for t in test[1:]]
        if head == "NONE":
            return None
        if head == "CMD":
            command = tuple(rest)
        elif head == "CMD-SHELL":
            command = ("/bin/sh", "-c", " ".join(rest))
        else:
            raise ComposeError(f"healthcheck.test: a list must start with CMD, CMD-SHELL or NONE, got {head!r}", where)
    return Probe(
        exec_command=command,
        period=_seconds(spec["interval"], where, "healthcheck.interval") if "interval" in spec else None,
        timeout=_seconds(spec["timeout"], where, "healthcheck.timeout") if "timeout" in spec else None,
        failure_threshold=_int(spec["retries"], where, "healthcheck.retries", 1) if "retries" in spec else None,
        initial_delay=_seconds(spec["start_period"], where, "healthcheck.start_period")
        if "start_period" in spec
        else None,
    )


def _label_probe(labels: Mapping[str, str], kind: str, base: Optional[Probe], where: Location) -> Optional[Probe]:
    """kompose's ``kompose.service.healthcheck.<liveness|readiness>.*`` labels over ``base``."""
    prefix = f"kompose.service.healthcheck.{kind}."
    own = {k[len(prefix) :]: v for k, v in labels.items() if k.startswith(prefix)}
    if not own:
        return base
    if _bool(own.get("disable", False), where, prefix + "disable"):
        return None
    probe = base or Probe()
    values: dict[str, Any] = dict(probe.__dict__)
    if "test" in own:
        values.update(
            exec_command=tuple(_command(own["test"], where, prefix + "test") or ()), http_path=None, tcp_port=None
        )
    if "http_get_path" in own:
        values.update(http_path=own["http_get_path"], exec_command=None, tcp_port=None)
    if "http_get_port" in own:
        values.update(http_port=_int(own["http_get_port"], where, prefix + "http_get_port", 1, 65535))
    if "tcp_port" in own:
        values.update(
            tcp_port=_int(own["tcp_port"], where, prefix + "tcp_port", 1, 65535), exec_command=None, http_path=None
        )
    if "interval" in own:
        values.update(period=_seconds(own["interval"], where, prefix + "interval"))
    if "timeout" in own:
        values.update(timeout=_seconds(own["timeout"], where, prefix + "timeout"))
    if "retries" in own:
        values.update(failure_threshold=_int(own["retries"], where, prefix + "retries", 1))
    if "start_period" in own:
        values.update(initial_delay=_seconds(own["start_period"], where, prefix + "start_period"))
    return Probe(**values)


def _rancher_probe(spec: Any, where: Location) -> Probe:
    """A rancher-compose ``health_check`` (times in ms): an HTTP probe when it has a
    ``request_line`` (``GET /path HTTP/1.0``), else a TCP probe on ``port``."""
    if not isinstance(spec, dict) or "port" not in spec:
        raise ComposeError("health_check: expected a mapping with at least 'port'", where)
    port = _int(spec["port"], where, "health_check.port", 1, 65535)
    path = None
    if spec.get("request_line"):
        words = str(spec["request_line"]).split()
        if len(words) < 2 or words[0].upper() not in ("GET", "HEAD"):
            raise ComposeError(
                f"health_check.request_line: expected 'GET /path HTTP/1.0', got {spec['request_line']!r}", where
            )
        path = words[1]

    def ms(key: str) -> Optional[int]:
        if key not in spec:
            return None
        return max(1, -(-_int(spec[key], where, f"health_check.{key}", 1) // 1000))

    return Probe(
        http_path=path,
        http_port=port if path else None,
        tcp_port=None if path else port,
        period=ms("interval"),
        timeout=ms("response_timeout"),
        failure_threshold=_int(spec["unhealthy_threshold"], where, "health_check.unhealthy_threshold", 1)
        if "unhealthy_threshold" in spec
        else None,
        success_threshold=_int(spec["healthy_threshold"], where, "health_check.healthy_threshold", 1)
        if "healthy_threshold" in spec
        else None,
        initial_delay=ms("initializing_timeout"),
    )


# Swarm placement constraint keys -> Kubernetes well-known node labels (kubernetes.io docs,
# "Well-Known Labels, Annotations and Taints"); node.labels.<k> -> <k>.
_NODE_KEYS = {
    "node.hostname": "kubernetes.io/hostname",
    "node.platform.os": "kubernetes.io/os",
    "node.platform.arch": "kubernetes.io/arch",
    "node.role": "node-role.kubernetes.io",
    "engine.labels.operatingsystem": "kubernetes.io/os",
}


def _constraint(text: str, where: Location, warnings: list[str]) -> Optional[Constraint]:
    for op in ("==", "!="):
        if op in text:
            key, _, value = (s.strip() for s in text.partition(op))
            break
    else:
        raise ComposeError(
            f"deploy.placement.constraints: expected 'key == value' or 'key != value', got {text!r}", where
        )
    if key.startswith("node.labels."):
        return Constraint(key[len("node.labels.") :], op == "==", value)
    if key in _NODE_KEYS:
        return Constraint(_NODE_KEYS[key], op == "==", value)
    warnings.append(f"{where}: placement constraint {text!r} has no Kubernetes node label; ignored")
    return None


# ---------------------------------------------------------------------------------------------
# the project

# Service keys with no Kubernetes meaning that we drop with a warning (they do not change what
# the containers run), and keys we refuse because dropping them would change the application.
_IGNORED = {
    "links": "Kubernetes Services give every service a DNS name",
    "depends_on": "Kubernetes has no start order between workloads",
    "logging": "the cluster's log pipeline applies",
    "dns": "the cluster DNS applies",
    "dns_search": "the cluster DNS applies",
    "extra_hosts": "use hostAliases in a patch",
    "ulimits": "set by the node's container runtime",
    "sysctls": "unsafe sysctls need the kubelet's allow-list",
    "cgroup_parent": "the kubelet owns cgroups",
    "stop_signal": "Kubernetes sends SIGTERM",
    "mac_address": "pods get their addresses from the CNI",
    "profiles": "every service is converted",
    "platform": "use a node selector on kubernetes.io/arch",
    "init": "no init process injection in Kubernetes",
    "runtime": "use a RuntimeClass",
    "shm_size": "mount an emptyDir with medium Memory",
    "oom_score_adj": "the kubelet sets it from the QoS class",
    "security_opt": "use securityContext",
    "external_links": "not applicable",
}
_REFUSED = {
    "extends": "resolve 'extends' first (docker compose config)",
    "volumes_from": "share a named volume instead",
    "devices": "devices need a device plugin",
    "ipc": "no IPC namespace sharing between pods",
    "pid": "no PID namespace sharing with the host",
    "userns_mode": "no user namespace setting per container",
}

_KNOWN = {
    "image",
    "build",
    "command",
    "entrypoint",
    "environment",
    "env_file",
    "ports",
    "expose",
    "volumes",
    "tmpfs",
    "labels",
    "deploy",
    "restart",
    "healthcheck",
    "secrets",
    "configs",
    "container_name",
    "hostname",
    "domainname",
    "privileged",
    "read_only",
    "user",
    "cap_add",
    "cap_drop",
    "group_add",
    "stdin_open",
    "tty",
    "working_dir",
    "networks",
    "network_mode",
    "stop_grace_period",
    "mem_limit",
    "mem_reservation",
    "cpus",
    "cpu_shares",
    "cpu_quota",
    "cpuset",
    "pull_policy",
    "scale",
    "mem_swappiness",
    "memswap_limit",
    "annotations",
}


def _env_files(value: Any) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        out.append(str(item["path"]) if isinstance(item, dict) else str(item))
    return out


def load_project(
    files: Sequence[Union[str, Path, Source]],
    *,
    rancher_compose: Optional[Union[str, Path, Source]] = None,
    environ: Optional[Mapping[str, str]] = None,
    interpolating: bool = True,
    project_name: Optional[str] = None,
    project_dir: Optional[Union[str, Path]] = None,
) -> Project:
    """Load, interpolate and merge compose files (in order) into a :class:`Project`."""
    if not files:
        raise ComposeError("no compose file given")
    sources = [f if isinstance(f, Source) else Source(str(f)) for f in files]
    first = sources[0]
    directory = Path(project_dir) if project_dir else (Path(first.name).parent if first.text is None else Path.cwd())
    directory = directory.resolve()
    process = dict(os.environ if environ is None else environ)
    dotenv: dict[str, str] = {}
    dotenv_path = directory / ".env"
    if dotenv_path.is_file():
        dotenv = parse_env_file(dotenv_path.read_text(encoding="utf-8"), lookup_in(process))
    project_env = {**dotenv, **process}
    lookup = lookup_in(project_env)
    warnings: list[str] = []

    merged: dict[str, Any] = {}
    marks = _Marks()
    for source in sources:
        unset: list[str] = []
        doc = _parse(source, lookup, interpolating, unset)
        for name in dict.fromkeys(unset):
            warnings.append(
                f"{display_path(Path(source.name))}: variable {name} is not set; it is replaced by an empty string"
            )
        merged = _merge(merged, _normalize(doc.data))
        marks.paths.update({k: Location(display_path(Path(v.file)), v.line) for k, v in doc.marks.items()})

    rancher: dict[str, Any] = {}
    if rancher_compose is not None:
        rsource = rancher_compose if isinstance(rancher_compose, Source) else Source(str(rancher_compose))
        rdoc = _parse(rsource, lookup, interpolating, [])
        rancher = rdoc.data.get("services", rdoc.data) if isinstance(rdoc.data.get("services"), dict) else rdoc.data
        for key, where in rdoc.marks.items():
            marks.paths.setdefault(("rancher",) + key, Location(display_path(Path(where.file)), where.line))
        rancher_in_services = isinstance(rdoc.data.get("services"), dict)
    else:
        rancher_in_services = False

    for top in merged:
        if top in ("include", "models"):
            raise ComposeError(f"top-level '{top}' is not supported: merge the files with -f instead", marks.at(top))
    services_raw = merged.get("services")
    if services_raw is None:
        # Compose file format 1: services at the top level.
        services_raw = {k: v for k, v in merged.items() if isinstance(v, dict) and ("image" in v or "build" in v)}
        if not services_raw:
            raise ComposeError("no 'services:' in the compose file", marks.at())
    if not isinstance(services_raw, dict):
        raise ComposeError("'services' must be a mapping of service names", marks.at("services"))

    name = project_name or merged.get("name") or directory.name
    name = re.sub(r"[^a-z0-9_-]", "", str(name).lower()) or "default"

    volumes = {}
    for vname, vdef in (merged.get("volumes") or {}).items():
        vdef = vdef or {}
        volumes[vname] = VolumeDef(
            name=vname,
            external=bool(vdef.get("external")) if isinstance(vdef, dict) else False,
            labels={k: str(v) for k, v in (vdef.get("labels") or {}).items()} if isinstance(vdef, dict) else {},
        )
    networks = {}
    for nname, ndef in (merged.get("networks") or {}).items():
        ndef = ndef or {}
        external = ndef.get("external") if isinstance(ndef, dict) else None
        real = ndef.get("name") if isinstance(ndef, dict) else None
        if isinstance(external, dict):
            real = external.get("name", real)
        networks[nname] = NetworkDef(name=str(real or nname), external=bool(external))

    def secret_defs(section: str) -> dict[str, SecretDef]:
        out = {}
        for sname, sdef in (merged.get(section) or {}).items():
            where = marks.at(section, sname)
            if not isinstance(sdef, dict):
                raise ComposeError(f"{section}.{sname}: expected a mapping (file:, environment:, external:)", where)
            external = sdef.get("external")
            file = sdef.get("file")
            out[sname] = SecretDef(
                name=sname,
                where=where,
                file=str((directory / str(file)).resolve()) if file else None,
                environment=sdef.get("environment"),
                content=sdef.get("content"),
                external=bool(external),
                external_name=(external.get("name") if isinstance(external, dict) else sdef.get("name")),
            )
        return out

    project = Project(
        name=name,
        directory=str(directory),
        files=[s.name for s in sources],
        services={},
        volumes=volumes,
        secrets=secret_defs("secrets"),
        configs=secret_defs("configs"),
        networks=networks,
        environment=project_env,
        warnings=warnings,
    )
    for sname, raw in services_raw.items():
        where = marks.at("services", sname)
        if not isinstance(raw, dict):
            raise ComposeError(f"service {sname!r}: expected a mapping", where)
        found = rancher.get(sname)
        extra: dict[str, Any] = found if isinstance(found, dict) else {}
        rbase = ("rancher", "services", sname) if rancher_in_services else ("rancher", sname)
        project.services[sname] = _service(sname, raw, extra, marks, rbase, project)
    return project


def _service(
    name: str, raw: dict[str, Any], rancher: dict[str, Any], marks: _Marks, rbase: PathKey, project: Project
) -> Service:
    def at(*path: Union[str, int]) -> Location:
        return marks.at("services", name, *path)

    where = at()
    warnings = project.warnings
    for key in raw:
        if key.startswith("x-"):
            continue
        if key in _REFUSED:
            raise ComposeError(
                f"service {name!r}: '{key}' cannot be translated to Kubernetes ({_REFUSED[key]})", at(key)
            )
        if key in _IGNORED:
            warnings.append(f"{at(key)}: service {name!r}: '{key}' is ignored ({_IGNORED[key]})")
        elif key not in _KNOWN:
            raise ComposeError(f"service {name!r}: unknown or unsupported key '{key}'", at(key))
    if "image" not in raw and "build" not in raw:
        raise ComposeError(f"service {name!r}: needs 'image' (or 'build')", where)

    labels = {
        k: "" if v is None else str(v).lower() if isinstance(v, bool) else str(v)
        for k, v in (raw.get("labels") or {}).items()
    }
    deploy = raw.get("deploy") or {}
    if not isinstance(deploy, dict):
        raise ComposeError(f"service {name!r}: 'deploy' must be a mapping", at("deploy"))

    build = raw.get("build")
    build_context = (
        (build.get("context", ".") if isinstance(build, dict) else str(build)) if build is not None else None
    )
    if build is not None:
        warnings.append(f"{at('build')}: service {name!r}: 'build' is not run; the image must already be in a registry")

    network_mode = raw.get("network_mode")
    if network_mode is not None:
        network_mode = str(network_mode)
        if network_mode.startswith("container:"):
            raise ComposeError(
                f"service {name!r}: network_mode {network_mode!r} cannot be translated (use service:<name>)",
                at("network_mode"),
            )
        if network_mode not in ("bridge", "host", "none") and not network_mode.startswith("service:"):
            raise ComposeError(f"service {name!r}: unknown network_mode {network_mode!r}", at("network_mode"))

    service = Service(
        name=name,
        where=where,
        image=str(raw["image"]) if raw.get("image") is not None else None,
        build=build_context,
        entrypoint=_command(raw.get("entrypoint"), at("entrypoint"), "entrypoint"),
        command=_command(raw.get("command"), at("command"), "command"),
        environment={
            k: (None if v is None else str(v).lower() if isinstance(v, bool) else str(v))
            for k, v in (raw.get("environment") or {}).items()
        },
        env_files=_env_files(raw.get("env_file")),
        labels=labels,
        deploy_labels={k: str(v) for k, v in (deploy.get("labels") or {}).items()},
        container_name=raw.get("container_name"),
        hostname=raw.get("hostname"),
        domainname=raw.get("domainname"),
        privileged=_bool(raw.get("privileged", False), at("privileged"), "privileged"),
        read_only=_bool(raw.get("read_only", False), at("read_only"), "read_only"),
        user=str(raw["user"]) if raw.get("user") is not None else None,
        cap_add=[str(c) for c in raw.get("cap_add") or []],
        cap_drop=[str(c) for c in raw.get("cap_drop") or []],
        group_add=[_int(g, at("group_add"), "group_add (a numeric gid)") for g in raw.get("group_add") or []],
        stdin_open=_bool(raw.get("stdin_open", False), at("stdin_open"), "stdin_open"),
        tty=_bool(raw.get("tty", False), at("tty"), "tty"),
        working_dir=raw.get("working_dir"),
        network_mode=network_mode,
        pull_policy=raw.get("pull_policy"),
    )
    if "stop_grace_period" in raw:
        service.stop_grace_period = _seconds(raw["stop_grace_period"], at("stop_grace_period"), "stop_grace_period")

    nets = raw.get("networks")
    if isinstance(nets, dict):
        service.networks = list(nets)
    elif isinstance(nets, list):
        service.networks = [str(n) for n in nets]
    for net in service.networks:
        if net not in project.networks and net != "default":
            raise ComposeError(
                f"service {name!r}: network {net!r} is not declared under top-level 'networks'", at("networks")
            )

    # The same port listed twice (``3000`` and ``3000-3005``) is one port, as compose merges it.
    for i, entry in enumerate(raw.get("ports") or []):
        service.ports.extend(p for p in parse_ports(entry, at("ports", i)) if p not in service.ports)
    for i, entry in enumerate(raw.get("expose") or []):
        service.expose.extend(
            p
            for p in parse_ports(entry, at("expose", i))
            if p not in service.expose and p.target not in {q.target for q in service.ports}
        )
    for i, entry in enumerate(raw.get("volumes") or []):
        mount = parse_mount(entry, at("volumes", i))
        if mount.type == "volume" and mount.source and mount.source not in project.volumes:
            raise ComposeError(
                f"service {name!r}: volume {mount.source!r} is not declared under top-level 'volumes'", at("volumes", i)
            )
        service.mounts.append(mount)
    tmpfs = raw.get("tmpfs")
    for target in [tmpfs] if isinstance(tmpfs, str) else tmpfs or []:
        service.mounts.append(Mount(type="tmpfs", target=str(target).split(":")[0]))

    # restart: deploy.restart_policy.condition wins (compose spec, deploy.restart_policy).
    restart = raw.get("restart")
    condition = (
        (deploy.get("restart_policy") or {}).get("condition")
        if isinstance(deploy.get("restart_policy"), dict)
        else None
    )
    if condition is not None:
        restart = {"none": "no", "any": "always"}.get(str(condition), str(condition))
    if restart is not None:
        restart = "no" if restart is False else str(restart)
        if restart.startswith("on-failure"):
            restart = "on-failure"
        if restart == "unless-stopped":
            restart = "always"
        if restart not in ("no", "always", "on-failure"):
            raise ComposeError(f"service {name!r}: unknown restart policy {restart!r}", at("restart"))
    service.restart = restart

    if "scale" in raw:
        service.replicas = _int(raw["scale"], at("scale"), "scale")
    if deploy.get("replicas") is not None:
        service.replicas = _int(deploy["replicas"], at("deploy", "replicas"), "deploy.replicas")
    if rancher.get("scale") is not None:
        service.replicas = _int(rancher["scale"], marks.at(*rbase, "scale"), "scale")
    mode = deploy.get("mode")
    if mode not in (None, "replicated", "global"):
        raise ComposeError(
            f"service {name!r}: deploy.mode {mode!r} is not supported (replicated or global)", at("deploy", "mode")
        )
    service.global_mode = mode == "global"

    # resources: deploy.resources wins over mem_limit / cpus (compose spec).
    res: dict[str, Optional[str]] = {}
    if raw.get("mem_limit") is not None:
        res["memory_limit"] = memory_quantity(_bytes(raw["mem_limit"], at("mem_limit"), "mem_limit"))
    if raw.get("mem_reservation") is not None:
        res["memory_request"] = memory_quantity(
            _bytes(raw["mem_reservation"], at("mem_reservation"), "mem_reservation")
        )
    if raw.get("cpus") is not None:
        res["cpu_limit"] = cpu_quantity(raw["cpus"], at("cpus"), "cpus")
    resources = deploy.get("resources") or {}
    for section, suffix in (("limits", "limit"), ("reservations", "request")):
        part = resources.get(section) or {}
        if part.get("memory") is not None:
            res[f"memory_{suffix}"] = memory_quantity(
                _bytes(part["memory"], at("deploy", "resources", section), f"deploy.resources.{section}.memory")
            )
        if part.get("cpus") is not None:
            res[f"cpu_{suffix}"] = cpu_quantity(
                part["cpus"], at("deploy", "resources", section), f"deploy.resources.{section}.cpus"
            )
        if part.get("devices") or part.get("generic_resources"):
            raise ComposeError(
                f"service {name!r}: deploy.resources.{section} devices/generic_resources need a device plugin",
                at("deploy", "resources"),
            )
    eph = {**labels, **service.deploy_labels}
    if "kompose.ephemeral-storage.limit" in eph:
        res["ephemeral_limit"] = eph["kompose.ephemeral-storage.limit"]
    if "kompose.ephemeral-storage.request" in eph:
        res["ephemeral_request"] = eph["kompose.ephemeral-storage.request"]
    service.resources = Resources(**res)

    placement = deploy.get("placement") or {}
    for i, text in enumerate(placement.get("constraints") or []):
        constraint = _constraint(str(text), at("deploy", "placement", "constraints", i), warnings)
        if constraint is not None:
            service.constraints.append(constraint)
    for i, pref in enumerate(placement.get("preferences") or []):
        spread = pref.get("spread") if isinstance(pref, dict) else None
        if not spread:
            raise ComposeError(
                "deploy.placement.preferences: expected '- spread: <key>'", at("deploy", "placement", "preferences", i)
            )
        spread = str(spread)
        if spread.startswith("node.labels."):
            service.spread.append(spread[len("node.labels.") :])
        elif spread in _NODE_KEYS:
            service.spread.append(_NODE_KEYS[spread])
        else:
            warnings.append(
                f"{at('deploy', 'placement', 'preferences', i)}: spread over {spread!r} is not a node label; ignored"
            )

    if raw.get("healthcheck") is not None:
        service.liveness = parse_healthcheck(raw["healthcheck"], at("healthcheck"))
    if rancher.get("health_check") is not None:
        probe = _rancher_probe(rancher["health_check"], marks.at(*rbase, "health_check"))
        service.readiness = probe
        service.liveness = Probe(**{**probe.__dict__, "success_threshold": None})
    service.liveness = _label_probe(labels, "liveness", service.liveness, where)
    service.readiness = _label_probe(labels, "readiness", service.readiness, where)

    for section, target_list, defs in (
        ("secrets", service.secrets, project.secrets),
        ("configs", service.configs, project.configs),
    ):
        for i, ref in enumerate(raw.get(section) or []):
            here = at(section, i)
            if isinstance(ref, dict):
                if ref.get("uid") is not None or ref.get("gid") is not None:
                    warnings.append(
                        f"{here}: service {name!r}: {section} uid/gid are not applied (Kubernetes sets the "
                        "owner of projected files per pod: use kompose.security-context.fsgroup)"
                    )
                source = str(ref.get("source", ""))
                target = str(ref.get("target") or source)
                mode = ref.get("mode")
            else:
                source, target, mode = str(ref), str(ref), None
            if source not in defs:
                raise ComposeError(
                    f"service {name!r}: {section[:-1]} {source!r} is not declared under top-level '{section}'", here
                )
            if not target.startswith("/"):
                target = f"/run/secrets/{target}" if section == "secrets" else f"/{target}"
            parsed_mode = None
            if mode is not None:
                parsed_mode = int(str(mode), 8) if isinstance(mode, str) else int(mode)
            target_list.append(SecretUse(source=source, target=target, mode=parsed_mode))

    # Environment variables from a secret: the x-env-from-secrets extension (ENV: secret[/key]),
    # since compose itself only mounts secrets as files.
    for env, ref in (raw.get("x-env-from-secrets") or {}).items():
        secret, _, key = str(ref).partition("/")
        if secret not in project.secrets:
            raise ComposeError(
                f"service {name!r}: x-env-from-secrets.{env}: secret {secret!r} is not declared",
                at("x-env-from-secrets"),
            )
        service.env_from_secrets[str(env)] = (secret, key or secret)
    return service


def iter_env_files(project: Project, service: Service) -> Iterable[tuple[str, Path]]:
    for ref in service.env_files:
        yield ref, Path(project.directory) / ref
