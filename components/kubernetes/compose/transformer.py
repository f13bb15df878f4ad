"""Transformer: :class:`model.Project` -> plain Kubernetes manifests (dicts), plus warnings.

The rules follow what ``kompose convert`` emits (kubernetes/kompose, pkg/transformer/kubernetes)
where its output is a correct Kubernetes object, so that a user moving from kompose gets the same
objects and names:

* one workload per service (Deployment by default; a Pod for ``restart: "no"``/``on-failure``; a
  CronJob with ``kompose.cronjob.schedule``; a DaemonSet for ``deploy.mode: global``; a StatefulSet
  with ``--controller statefulset`` or, automatically, for a replicated service with named volumes,
  since a ReadWriteOnce claim cannot be shared by replicas on different nodes);
* a Service when the service has ports (``kompose.service.type`` picks the type; a LoadBalancer is
  split per protocol; headless when asked, or for a StatefulSet), an Ingress with
  ``kompose.service.expose``;
* named volumes and anonymous volumes -> PersistentVolumeClaims (or emptyDir / hostPath), bind
  mounts of files or non-empty directories that exist -> ConfigMaps, ``env_file`` -> ConfigMaps,
  compose secrets/configs -> Secrets/ConfigMaps mounted where compose mounts them;
* healthchecks -> probes, ``deploy.resources`` -> resources, ``deploy.replicas`` -> replicas,
  placement constraints/preferences -> node affinity / topology spread.

Where kompose is wrong we are not (see /work/notes/compose-readme.md, "differences"): a shell-form
healthcheck runs under ``/bin/sh -c``, and binary ConfigMap data is base64-encoded once.
"""

from __future__ import annotations

import base64
import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from .errors import ComposeError, Location
from .interpolate import lookup_in, parse_env_file
from .model import Mount, Port, Probe, Project, SecretDef, Service

CONTROLLERS = ("deployment", "statefulset", "daemonset")
VOLUME_TYPES = ("pvc", "emptyDir", "hostPath", "configMap")
SELECTOR = "io.kompose.service"
DEFAULT_PVC_SIZE = "100Mi"
# kompose's placeholder port for a headless Service of a service without ports.
HEADLESS_PORT = 55555

_DNS1123 = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SERVICE_TYPES = {
    "nodeport": "NodePort",
    "clusterip": "ClusterIP",
    "loadbalancer": "LoadBalancer",
    "headless": "Headless",
}


@dataclass(frozen=True)
class Options:
    """What ``kompose convert`` takes as flags."""

    namespace: Optional[str] = None
    controller: Optional[str] = None  # deployment | statefulset | daemonset | None (per service)
    volumes: str = "pvc"  # pvc | emptyDir | hostPath | configMap
    replicas: int = 1
    pvc_size: str = DEFAULT_PVC_SIZE
    service_group_mode: Optional[str] = None  # label | volume
    service_group_name: Optional[str] = None
    network_policies: bool = False
    emit_namespace: bool = True  # a Namespace object when ``namespace`` is set

    def __post_init__(self) -> None:
        if self.controller is not None and self.controller not in CONTROLLERS:
            raise ComposeError(f"controller must be one of {', '.join(CONTROLLERS)}, got {self.controller!r}")
        if self.volumes not in VOLUME_TYPES:
            raise ComposeError(f"volumes must be one of {', '.join(VOLUME_TYPES)}, got {self.volumes!r}")
        if self.service_group_mode not in (None, "label", "volume"):
            raise ComposeError(f"service group mode must be label or volume, got {self.service_group_mode!r}")
        if self.namespace is not None and not _DNS1123.match(self.namespace):
            raise ComposeError(f"namespace {self.namespace!r} is not a valid Kubernetes name (RFC 1123 label)")


@dataclass
class Translation:
    manifests: list[dict[str, Any]]
    warnings: list[str] = field(default_factory=list)


def resource_name(name: str, where: Optional[Location] = None) -> str:
    """A compose name as a Kubernetes object name: lower case, ``_`` and ``.`` as ``-``."""
    out = name.lower().replace("_", "-").replace(".", "-")
    if not _DNS1123.match(out) or len(out) > 63:
        raise ComposeError(f"{name!r} cannot be made a Kubernetes name (RFC 1123 label, at most 63 characters)", where)
    return out


def env_file_name(ref: str, owner: str) -> str:
    """kompose's ConfigMap name for an env file: the path without ``./``, other characters as ``-``."""
    name = re.sub(r"[^a-zA-Z0-9]", "-", ref.strip("./")).lower()
    if name.startswith("-"):
        name = owner + name
    return name[:63].strip("-")


@dataclass
class _Unit:
    """One pod: the services whose containers it runs (one, or a group)."""

    name: str
    services: list[Service]
    grouped: bool  # more than one service in the pod


class _Out:
    def __init__(self) -> None:
        self.objects: list[dict[str, Any]] = []
        self.seen: set[tuple[str, str]] = set()

    def add(self, obj: dict[str, Any]) -> None:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in self.seen:
            return
        self.seen.add(key)
        self.objects.append(obj)


def transform(project: Project, options: Options = Options()) -> Translation:
    """The manifests of ``project`` (Services first, then the rest, like kompose)."""
    warnings = list(project.warnings)
    out = _Out()
    names = {s.name: resource_name(s.name, s.where) for s in project.services.values()}
    for unit in _units(project, options, names):
        _convert_unit(project, options, unit, names, out, warnings)
    objects = out.objects
    objects.sort(key=lambda o: 0 if o["kind"] == "Service" else 1)
    if options.namespace:
        for obj in objects:
            obj["metadata"]["namespace"] = options.namespace
        if options.emit_namespace:
            objects.insert(0, {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": options.namespace}})
    return Translation(objects, warnings)


# ---------------------------------------------------------------------------------------------
# pods: which services share one


def _units(project: Project, options: Options, names: dict[str, str]) -> list[_Unit]:
    services = project.services
    parent: dict[str, str] = {n: n for n in services}

    def find(n: str) -> str:
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def union(a: str, b: str, root: Optional[str] = None) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            if root == b:
                parent[ra] = rb
            else:
                parent[rb] = ra

    # network_mode: service:X -> the container joins X's pod (the only way to share a network
    # namespace in Kubernetes).
    for svc in services.values():
        if svc.network_mode and svc.network_mode.startswith("service:"):
            target = svc.network_mode.split(":", 1)[1]
            if target not in services:
                raise ComposeError(f"service {svc.name!r}: network_mode names unknown service {target!r}", svc.where)
            union(target, svc.name, root=target)
    group_names: dict[str, str] = {}
    if options.service_group_mode == "label":
        by_label: dict[str, list[str]] = {}
        for svc in services.values():
            label = svc.labels.get("kompose.service.group")
            if label:
                by_label.setdefault(label, []).append(svc.name)
        for label, grouped in by_label.items():
            for other in grouped[1:]:
                union(grouped[0], other)
            group_names[find(grouped[0])] = resource_name(label, services[grouped[0]].where)
    elif options.service_group_mode == "volume":
        by_source: dict[str, list[str]] = {}
        for svc in services.values():
            for mount in svc.mounts:
                if mount.source and mount.type in ("bind", "volume"):
                    by_source.setdefault(mount.source, []).append(svc.name)
        for sharing in by_source.values():
            for other in sharing[1:]:
                union(sharing[0], other)

    members: dict[str, list[str]] = {}
    for n in sorted(services):
        members.setdefault(find(n), []).append(n)
    units = []
    for root, group in members.items():
        if len(group) == 1:
            units.append(_Unit(names[root], [services[root]], False))
            continue
        if root in group_names:
            name = group_names[root]
        elif options.service_group_mode == "volume" and not any(
            (services[m].network_mode or "").startswith("service:") for m in group
        ):
            name = (
                resource_name(options.service_group_name, None)
                if options.service_group_name
                else "-".join(names[m] for m in group)
            )
        else:
            name = names[root]
        ordered = [services[root]] + [services[m] for m in group if m != root]
        units.append(_Unit(name, ordered, True))
    return sorted(units, key=lambda u: u.name)


# ---------------------------------------------------------------------------------------------
# one pod and what goes with it


def _labels(name: str) -> dict[str, str]:
    return {SELECTOR: name}


def _annotations(services: list[Service]) -> dict[str, str]:
    """Compose labels that are not kompose's own become annotations (as kompose does)."""
    out: dict[str, str] = {}
    for svc in services:
        for key, value in svc.labels.items():
            if not key.startswith("kompose."):
                out[key] = value
    return out


def _controller(unit: _Unit, options: Options, warnings: list[str], stateful_volumes: bool) -> str:
    primary = unit.services[0]
    label = primary.labels.get("kompose.controller.type")
    if label:
        kind = label.lower()
        if kind not in CONTROLLERS:
            raise ComposeError(
                f"service {primary.name!r}: kompose.controller.type must be one of "
                f"{', '.join(CONTROLLERS)}, got {label!r}",
                primary.where,
            )
        return kind
    if primary.restart in ("no", "on-failure") and options.controller is None:
        return "cronjob" if primary.labels.get("kompose.cronjob.schedule") else "pod"
    if primary.global_mode:
        if options.controller not in (None, "daemonset"):
            warnings.append(
                f"{primary.where}: service {primary.name!r} has deploy.mode global; converted to {options.controller}"
            )
        else:
            return "daemonset"
    if options.controller:
        return options.controller
    replicas = primary.replicas if primary.replicas is not None else options.replicas
    if stateful_volumes and replicas > 1:
        warnings.append(
            f"{primary.where}: service {primary.name!r} has {replicas} replicas and named volumes: "
            "converted to a StatefulSet so that every replica gets its own claim"
        )
        return "statefulset"
    return "deployment"


def _convert_unit(
    project: Project,
    options: Options,
    unit: _Unit,
    names: dict[str, str],
    out: _Out,
    warnings: list[str],
) -> None:
    name = unit.name
    primary = unit.services[0]
    has_named = any(
        m.type == "volume" and m.source and not project.volumes[m.source].external
        for s in unit.services
        for m in s.mounts
    )
    kind = _controller(unit, options, warnings, options.volumes == "pvc" and has_named)
    replicas = primary.replicas if primary.replicas is not None else options.replicas

    pod_labels = _labels(name)
    if options.network_policies:
        for svc in unit.services:
            for net in svc.networks or []:
                policy = (
                    f"{project.name}-{resource_name(project.networks[net].name if net in project.networks else net)}"
                )
                pod_labels[f"io.kompose.network/{policy}"] = "true"
                out.add(_network_policy(policy))

    volumes: list[dict[str, Any]] = []
    claims: list[dict[str, Any]] = []
    containers: list[dict[str, Any]] = []
    extra: list[dict[str, Any]] = []
    has_volumes = False
    for svc in unit.services:
        mounts, vols, pvcs, cms = _volumes(project, options, svc, unit, names[svc.name], warnings)
        # tmpfs mounts are pod-local emptyDirs: they do not call for a Recreate rollout.
        has_volumes = has_volumes or any(m.type != "tmpfs" for m in svc.mounts)
        s_mounts, s_vols, secret_objs = _secrets(project, svc, name)
        mounts += s_mounts
        for vol in vols + s_vols:
            if all(v["name"] != vol["name"] for v in volumes):
                volumes.append(vol)
        claims += pvcs
        extra += cms + secret_objs
        env_cms = _env_config_maps(project, svc, names[svc.name], name)
        extra += env_cms
        containers.append(_container(project, svc, names[svc.name], unit, mounts, env_cms, warnings))

    pod: dict[str, Any] = {"containers": containers}
    restart = {"no": "Never", "on-failure": "OnFailure"}.get(primary.restart or "always", "Always")
    if kind in ("deployment", "statefulset", "daemonset"):
        if restart != "Always":
            warnings.append(
                f"{primary.where}: service {primary.name!r}: restart {primary.restart!r} is Always in a {kind}"
            )
        restart = "Always"
    elif kind == "cronjob" and restart == "Always":
        restart = "Never"
    pod["restartPolicy"] = restart
    _pod_settings(pod, unit, warnings)
    if volumes:
        pod["volumes"] = volumes

    workload_labels = dict(_labels(name))
    for svc in unit.services:
        workload_labels.update(svc.deploy_labels)
    meta: dict[str, Any] = {"name": name, "labels": workload_labels}
    annotations = _annotations(unit.services)
    if annotations:
        meta["annotations"] = annotations
    template_meta: dict[str, Any] = {"labels": pod_labels}
    if annotations:
        template_meta["annotations"] = dict(annotations)
    template = {"metadata": template_meta, "spec": pod}

    for claim in claims if kind != "statefulset" else []:
        extra.append(claim)
    workload: dict[str, Any]
    if kind == "pod":
        workload = {"apiVersion": "v1", "kind": "Pod", "metadata": {**meta, "labels": pod_labels}, "spec": pod}
    elif kind == "cronjob":
        job_spec: dict[str, Any] = {"template": template}
        if primary.labels.get("kompose.cronjob.backoff_limit") is not None:
            job_spec["backoffLimit"] = _label_int(primary, "kompose.cronjob.backoff_limit", 0)
        spec: dict[str, Any] = {
            "schedule": primary.labels["kompose.cronjob.schedule"],
            "jobTemplate": {"spec": job_spec},
        }
        concurrency = primary.labels.get("kompose.cronjob.concurrency_policy")
        if concurrency:
            if concurrency not in ("Allow", "Forbid", "Replace"):
                raise ComposeError(
                    f"service {primary.name!r}: kompose.cronjob.concurrency_policy must be Allow, Forbid or "
                    f"Replace, got {concurrency!r}",
                    primary.where,
                )
            spec["concurrencyPolicy"] = concurrency
        workload = {"apiVersion": "batch/v1", "kind": "CronJob", "metadata": meta, "spec": spec}
    elif kind == "daemonset":
        workload = {
            "apiVersion": "apps/v1",
            "kind": "DaemonSet",
            "metadata": meta,
            "spec": {"selector": {"matchLabels": _labels(name)}, "template": template},
        }
    elif kind == "statefulset":
        spec = {
            "replicas": replicas,
            "selector": {"matchLabels": _labels(name)},
            "serviceName": name,
            "template": template,
        }
        if claims:
            spec["volumeClaimTemplates"] = [{"metadata": c["metadata"], "spec": c["spec"]} for c in claims]
            claim_names = {c["metadata"]["name"] for c in claims}
            kept = [v for v in pod.get("volumes", []) if v["name"] not in claim_names]
            if kept:
                pod["volumes"] = kept
            else:
                pod.pop("volumes", None)
        workload = {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta, "spec": spec}
    else:
        spec = {"replicas": replicas, "selector": {"matchLabels": _labels(name)}, "template": template}
        if has_volumes:
            # A ReadWriteOnce claim cannot be attached to the old and the new pod at once.
            spec["strategy"] = {"type": "Recreate"}
        workload = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta, "spec": spec}

    for svc in unit.services:
        for obj in _services(svc, names[svc.name], name, unit, kind, annotations, warnings):
            out.add(obj)
    out.add(workload)
    for obj in extra:
        out.add(obj)
    hpa = _label_hpa(primary, name, kind)
    if hpa is not None:
        out.add(hpa)


def _label_int(svc: Service, label: str, low: int, high: Optional[int] = None) -> int:
    value = svc.labels[label]
    try:
        number = int(str(value).strip())
    except ValueError:
        raise ComposeError(
            f"service {svc.name!r}: label {label} must be a whole number, got {value!r}", svc.where
        ) from None
    if number < low or (high is not None and number > high):
        raise ComposeError(f"service {svc.name!r}: label {label} is out of range: {number}", svc.where)
    return number


def _pod_settings(pod: dict[str, Any], unit: _Unit, warnings: list[str]) -> None:
    security: dict[str, Any] = {}
    # Pod-wide settings of a group: the services in name order, the last one's value wins.
    for svc in sorted(unit.services, key=lambda s: s.name):
        if svc.hostname:
            pod["hostname"] = resource_name(svc.hostname, svc.where)
        if svc.domainname:
            pod["subdomain"] = resource_name(svc.domainname, svc.where)
        if svc.group_add:
            security.setdefault("supplementalGroups", [])
            security["supplementalGroups"] += [g for g in svc.group_add if g not in security["supplementalGroups"]]
        if "kompose.security-context.fsgroup" in svc.labels:
            security["fsGroup"] = _label_int(svc, "kompose.security-context.fsgroup", 0)
        if svc.stop_grace_period is not None:
            pod["terminationGracePeriodSeconds"] = svc.stop_grace_period
        if svc.labels.get("kompose.serviceaccount-name"):
            pod["serviceAccountName"] = svc.labels["kompose.serviceaccount-name"]
        if svc.network_mode == "host":
            pod["hostNetwork"] = True
            warnings.append(
                f"{svc.where}: service {svc.name!r}: network_mode host -> hostNetwork "
                "(the pod shares the node's network)"
            )
        init = _init_container(svc)
        if init is not None:
            pod.setdefault("initContainers", []).append(init)
        if svc.constraints:
            pod["affinity"] = {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {"key": c.key, "operator": "In" if c.equal else "NotIn", "values": [c.value]}
                                    for c in svc.constraints
                                ]
                            }
                        ]
                    }
                }
            }
        if svc.spread:
            # Swarm spreads evenly over the values of each key, the first key first: the earlier
            # keys get the larger skew weight, as kompose maps it (maxSkew = number of keys - index).
            pod["topologySpreadConstraints"] = [
                {
                    "maxSkew": len(svc.spread) - i,
                    "topologyKey": key,
                    "whenUnsatisfiable": "ScheduleAnyway",
                    "labelSelector": {"matchLabels": _labels(unit.name)},
                }
                for i, key in enumerate(svc.spread)
            ]
    if security:
        pod["securityContext"] = security


def _init_container(svc: Service) -> Optional[dict[str, Any]]:
    image = svc.labels.get("kompose.init.containers.image")
    if not image:
        return None
    init: dict[str, Any] = {
        "name": svc.labels.get("kompose.init.containers.name") or f"{resource_name(svc.name)}-init",
        "image": image,
    }
    command = svc.labels.get("kompose.init.containers.command")
    if command:
        import yaml

        try:
            parsed = yaml.safe_load(command)
        except yaml.YAMLError:
            parsed = None
        init["command"] = [str(c) for c in parsed] if isinstance(parsed, list) else shlex.split(command)
    return init


# ---------------------------------------------------------------------------------------------
# containers


def _image(svc: Service, name: str) -> str:
    if svc.image:
        return svc.image
    return name


def _probe(probe: Probe, svc: Service) -> Optional[dict[str, Any]]:
    out: dict[str, Any] = {}
    if probe.http_path is not None:
        port = probe.http_port or (svc.ports[0].target if svc.ports else None)
        if port is None:
            raise ComposeError(f"service {svc.name!r}: an HTTP health check needs a port", svc.where)
        out["httpGet"] = {"path": probe.http_path, "port": port}
    elif probe.tcp_port is not None:
        out["tcpSocket"] = {"port": probe.tcp_port}
    elif probe.exec_command:
        out["exec"] = {"command": list(probe.exec_command)}
    else:
        return None
    for key, value in (
        ("periodSeconds", probe.period),
        ("timeoutSeconds", probe.timeout),
        ("failureThreshold", probe.failure_threshold),
        ("successThreshold", probe.success_threshold),
        ("initialDelaySeconds", probe.initial_delay),
    ):
        if value is not None:
            out[key] = value
    return out


def _container_ports(svc: Service) -> list[dict[str, Any]]:
    ports: list[dict[str, Any]] = []
    seen: set[tuple[int, str]] = set()
    for port in svc.ports + svc.expose:
        key = (port.target, port.protocol)
        if key in seen:
            continue
        seen.add(key)
        ports.append({"containerPort": port.target, "protocol": port.protocol})
    return ports


def _pull_policy(svc: Service) -> Optional[str]:
    label = svc.labels.get("kompose.image-pull-policy")
    if label:
        if label not in ("Always", "IfNotPresent", "Never"):
            raise ComposeError(
                f"service {svc.name!r}: kompose.image-pull-policy must be Always, IfNotPresent or Never, got {label!r}",
                svc.where,
            )
        return label
    if svc.pull_policy:
        mapped = {
            "always": "Always",
            "never": "Never",
            "missing": "IfNotPresent",
            "if_not_present": "IfNotPresent",
        }.get(svc.pull_policy)
        if mapped is None:
            raise ComposeError(
                f"service {svc.name!r}: pull_policy {svc.pull_policy!r} has no Kubernetes equivalent", svc.where
            )
        return mapped
    return None


def _user(svc: Service, security: dict[str, Any]) -> None:
    if not svc.user:
        return
    user, _, group = svc.user.partition(":")
    if not user.isdigit() or (group and not group.isdigit()):
        raise ComposeError(
            f"service {svc.name!r}: user {svc.user!r} must be numeric (uid[:gid]) in Kubernetes (runAsUser)", svc.where
        )
    security["runAsUser"] = int(user)
    if group:
        security["runAsGroup"] = int(group)


def _container(
    project: Project,
    svc: Service,
    name: str,
    unit: _Unit,
    mounts: list[dict[str, Any]],
    env_cms: list[dict[str, Any]],
    warnings: list[str],
) -> dict[str, Any]:
    cname = resource_name(svc.container_name, svc.where) if svc.container_name else name
    container: dict[str, Any] = {"name": cname, "image": _image(svc, name)}
    if svc.entrypoint is not None:
        container["command"] = svc.entrypoint
    if svc.command is not None:
        container["args"] = svc.command
    from_files: set[str] = set()
    for cm in env_cms:
        from_files.update(cm.get("data", {}))
    env: list[dict[str, Any]] = []
    for key, value in sorted(svc.environment.items()):
        if key in from_files:
            continue
        if value is None:
            value = project.environment.get(key)
            if value is None:
                continue
        env.append({"name": key, "value": value})
    for key, (secret, skey) in sorted(svc.env_from_secrets.items()):
        env = [e for e in env if e["name"] != key]
        env.append(
            {"name": key, "valueFrom": {"secretKeyRef": {"name": _secret_name(project.secrets[secret]), "key": skey}}}
        )
    if env:
        container["env"] = env
    if env_cms:
        container["envFrom"] = [{"configMapRef": {"name": cm["metadata"]["name"]}} for cm in env_cms]
    policy = _pull_policy(svc)
    if policy:
        container["imagePullPolicy"] = policy
    ports = _container_ports(svc)
    if ports:
        container["ports"] = ports
    if svc.liveness:
        probe = _probe(svc.liveness, svc)
        if probe:
            container["livenessProbe"] = probe
    if svc.readiness:
        probe = _probe(svc.readiness, svc)
        if probe:
            container["readinessProbe"] = probe
    resources: dict[str, dict[str, str]] = {}
    r = svc.resources
    for section, key, value in (
        ("limits", "cpu", r.cpu_limit),
        ("limits", "memory", r.memory_limit),
        ("limits", "ephemeral-storage", r.ephemeral_limit),
        ("requests", "cpu", r.cpu_request),
        ("requests", "memory", r.memory_request),
        ("requests", "ephemeral-storage", r.ephemeral_request),
    ):
        if value is not None:
            resources.setdefault(section, {})[key] = value
    if resources:
        container["resources"] = resources
    security: dict[str, Any] = {}
    if svc.privileged:
        security["privileged"] = True
        warnings.append(f"{svc.where}: service {svc.name!r} runs privileged")
    if svc.read_only:
        security["readOnlyRootFilesystem"] = True
    if svc.cap_add or svc.cap_drop:
        caps: dict[str, list[str]] = {}
        if svc.cap_add:
            caps["add"] = svc.cap_add
        if svc.cap_drop:
            caps["drop"] = svc.cap_drop
        security["capabilities"] = caps
    _user(svc, security)
    if security:
        container["securityContext"] = security
    if svc.stdin_open:
        container["stdin"] = True
    if svc.tty:
        container["tty"] = True
    if svc.working_dir:
        container["workingDir"] = svc.working_dir
    if mounts:
        container["volumeMounts"] = mounts
    return container


def _env_config_maps(project: Project, svc: Service, name: str, owner: str) -> list[dict[str, Any]]:
    """One ConfigMap per env file, its values interpolated with the service's own environment
    first (compose resolves ``${VAR}`` in env files against the service environment)."""
    out = []
    own = {k: v for k, v in svc.environment.items() if v is not None}
    for ref in svc.env_files:
        path = Path(project.directory) / ref
        if not path.is_file():
            raise ComposeError(f"service {svc.name!r}: env_file {ref!r} does not exist ({path})", svc.where)
        data = parse_env_file(path.read_text(encoding="utf-8"), lookup_in(own))
        cm_name = env_file_name(ref, owner)
        cm: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": cm_name, "labels": _labels(f"{name}-{cm_name}")},
        }
        if data:
            cm["data"] = data
        out.append(cm)
    return out


# ---------------------------------------------------------------------------------------------
# volumes, config maps, secrets


def _volume_type(svc: Service, options: Options) -> str:
    label = svc.labels.get("kompose.volume.type")
    if label is None:
        return options.volumes
    mapped = {
        "persistentVolumeClaim": "pvc",
        "emptyDir": "emptyDir",
        "hostPath": "hostPath",
        "configMap": "configMap",
    }.get(label)
    if mapped is None:
        raise ComposeError(
            f"service {svc.name!r}: kompose.volume.type must be persistentVolumeClaim, emptyDir, hostPath "
            f"or configMap, got {label!r}",
            svc.where,
        )
    return mapped


def _config_source(path: Path) -> bool:
    """A bind mount we can carry as a ConfigMap: an existing file, or a directory holding files."""
    if path.is_file():
        return True
    return path.is_dir() and any(child.is_file() for child in path.iterdir())


def _file_data(paths: list[Path]) -> tuple[dict[str, str], dict[str, str]]:
    data: dict[str, str] = {}
    binary: dict[str, str] = {}
    for path in paths:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
            if "\x00" in text:
                raise UnicodeDecodeError("utf-8", raw, 0, 1, "NUL")
            data[path.name] = text.replace("\r\n", "\n")
        except UnicodeDecodeError:
            binary[path.name] = base64.b64encode(raw).decode("ascii")
    return data, binary


def _config_map(name: str, owner: str, data: dict[str, str], binary: dict[str, str]) -> dict[str, Any]:
    cm: dict[str, Any] = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "labels": _labels(owner)}}
    if data:
        cm["data"] = data
    if binary:
        cm["binaryData"] = binary
    return cm


def _pvc(
    name: str, size: str, read_only: bool, storage_class: Optional[str], selector: Optional[str]
) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "accessModes": ["ReadOnlyMany" if read_only else "ReadWriteOnce"],
        "resources": {"requests": {"storage": size}},
    }
    if storage_class:
        spec["storageClassName"] = storage_class
    if selector:
        spec["selector"] = {"matchLabels": _labels(selector)}
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name, "labels": _labels(name)},
        "spec": spec,
    }


def _volumes(
    project: Project, options: Options, svc: Service, unit: _Unit, name: str, warnings: list[str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    pvcs: list[dict[str, Any]] = []
    cms: list[dict[str, Any]] = []
    chosen = _volume_type(svc, options)
    subpath = svc.labels.get("kompose.volume.subpath")
    index = -1
    for mount in svc.mounts:
        if mount.type == "tmpfs":
            continue
        index += 1
        base = f"{name}-claim{index}"
        if unit.name != name:
            base = base.replace(name, unit.name, 1)
        kind = chosen
        host: Optional[Path] = None
        if mount.type == "bind" and mount.source:
            host = Path(mount.source).expanduser()
            if not host.is_absolute() and not re.match(r"^[A-Za-z]:[\\/]", mount.source):
                host = Path(project.directory) / host
            if re.match(r"^[A-Za-z]:[\\/]", mount.source):
                host = None
            if host is not None and _config_source(host) and kind != "hostPath":
                kind = "configMap"
            elif kind == "configMap":
                kind = "pvc"
        elif kind == "configMap":
            kind = "pvc"
        if mount.type == "volume" and mount.source:
            vname = resource_name(mount.source, svc.where)
        else:
            vname = {
                "pvc": base,
                "emptyDir": base.replace("claim", "empty", 1),
                "hostPath": base.replace("claim", "hostpath", 1),
                "configMap": base.replace("claim", "cm", 1),
            }[kind]
        vm: dict[str, Any] = {"name": vname, "mountPath": mount.target}
        if mount.read_only:
            vm["readOnly"] = True
        volume: dict[str, Any] = {"name": vname}
        if kind == "emptyDir":
            volume["emptyDir"] = {}
        elif kind == "hostPath":
            if host is None:
                if mount.type == "bind" and mount.source:
                    volume["hostPath"] = {"path": mount.source}
                else:
                    raise ComposeError(
                        f"service {svc.name!r}: the volume at {mount.target} has no host path for --volumes hostPath",
                        svc.where,
                    )
            else:
                volume["hostPath"] = {"path": str(host.resolve())}
        elif kind == "configMap":
            assert host is not None
            if host.is_file():
                data, binary = _file_data([host])
                key = host.name
                item_path = Path(mount.target.replace("\\", "/")).name
                volume["configMap"] = {"name": vname, "items": [{"key": key, "path": item_path}]}
                vm["subPath"] = item_path
            else:
                data, binary = _file_data(sorted(p for p in host.iterdir() if p.is_file()))
                volume["configMap"] = {"name": vname}
            cms.append(_config_map(vname, unit.name, data, binary))
        else:
            external = mount.type == "volume" and mount.source and project.volumes[mount.source].external
            volume["persistentVolumeClaim"] = {"claimName": vname}
            if mount.read_only:
                volume["persistentVolumeClaim"]["readOnly"] = True
            if external:
                warnings.append(
                    f"{svc.where}: service {svc.name!r}: external volume {mount.source!r} must exist as the "
                    f"PersistentVolumeClaim {vname!r} in the namespace"
                )
            else:
                vlabels = project.volumes[mount.source].labels if mount.type == "volume" and mount.source else {}
                size = vlabels.get("kompose.volume.size") or svc.labels.get("kompose.volume.size") or options.pvc_size
                pvcs.append(
                    _pvc(
                        vname,
                        size,
                        mount.read_only,
                        svc.labels.get("kompose.volume.storage-class-name"),
                        vlabels.get("kompose.volume.selector"),
                    )
                )
        if mount.subpath:
            vm["subPath"] = mount.subpath
        if subpath:
            vm["subPath"] = subpath
        mounts.append(vm)
        volumes.append(volume)
    tmp_index = 0
    for mount in svc.mounts:
        if mount.type != "tmpfs":
            continue
        vname = f"{unit.name}-tmpfs{tmp_index}"
        tmp_index += 1
        mounts.append({"name": vname, "mountPath": mount.target})
        volumes.append({"name": vname, "emptyDir": {"medium": "Memory"}})
    return mounts, volumes, pvcs, cms


def _secret_name(secret: SecretDef) -> str:
    if secret.external and secret.external_name:
        return resource_name(secret.external_name, secret.where)
    return resource_name(secret.name, secret.where)


def _secrets(
    project: Project, svc: Service, owner: str
) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    """Compose secrets -> Secrets mounted at /run/secrets/<target>; compose configs -> ConfigMaps."""
    mounts: list[dict[str, Any]] = []
    volumes: list[dict[str, Any]] = []
    objects: list[dict[str, Any]] = []
    used = [(use, project.secrets[use.source], "secret") for use in svc.secrets]
    used += [(use, project.configs[use.source], "config") for use in svc.configs]
    used_secrets = {s for s, _ in svc.env_from_secrets.values()}
    for sname in sorted(used_secrets):
        objects += _secret_object(project.secrets[sname], "secret")
    for use, definition, kind in used:
        obj_name = _secret_name(definition)
        key = definition.name
        objects += _secret_object(definition, kind)
        item_path = Path(use.target).name
        source: dict[str, Any] = {"items": [{"key": key, "path": item_path}]}
        if use.mode is not None:
            source["defaultMode"] = use.mode
        # One volume per (object, file name): the same secret mounted twice under two names
        # needs two projections.
        volume_name = obj_name
        same = [v for v in volumes if v["name"].startswith(obj_name)]
        if same and all(v.get("secret", v.get("configMap", {}))["items"][0]["path"] != item_path for v in same):
            volume_name = f"{obj_name}-{len(same)}"
        if kind == "secret":
            source["secretName"] = obj_name
            vol = {"name": volume_name, "secret": source}
        else:
            source["name"] = obj_name
            vol = {"name": volume_name, "configMap": source}
        if all(v["name"] != volume_name for v in volumes):
            volumes.append(vol)
        mounts.append({"name": volume_name, "mountPath": use.target, "subPath": item_path, "readOnly": True})
    return mounts, volumes, objects


def _secret_object(definition: SecretDef, kind: str) -> list[dict[str, Any]]:
    if definition.external:
        # An external secret is created outside the compose project (ComposeApp: from a Pulumi
        # secret); we only reference it.
        return []
    name = resource_name(definition.name, definition.where)
    if definition.file is not None:
        path = Path(definition.file)
        if not path.is_file():
            raise ComposeError(f"{kind} {definition.name!r}: file {definition.file} does not exist", definition.where)
        raw = path.read_bytes()
    elif definition.content is not None:
        raw = definition.content.encode()
    elif definition.environment is not None:
        raise ComposeError(
            f"{kind} {definition.name!r}: a value from the environment variable {definition.environment} "
            "would be written "
            "in clear into the manifests; declare it 'external: true' and create the Secret separately "
            "(ComposeApp takes it as a Pulumi secret)",
            definition.where,
        )
    else:
        raise ComposeError(f"{kind} {definition.name!r}: needs file:, content: or external: true", definition.where)
    if kind == "secret":
        return [
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": name, "labels": _labels(name)},
                "type": "Opaque",
                "data": {definition.name: base64.b64encode(raw).decode("ascii")},
            }
        ]
    try:
        return [_config_map(name, name, {definition.name: raw.decode("utf-8")}, {})]
    except UnicodeDecodeError:
        return [_config_map(name, name, {}, {definition.name: base64.b64encode(raw).decode("ascii")})]


def _network_policy(name: str) -> dict[str, Any]:
    selector = {"matchLabels": {f"io.kompose.network/{name}": "true"}}
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": name},
        "spec": {"podSelector": selector, "ingress": [{"from": [{"podSelector": selector}]}]},
    }


# ---------------------------------------------------------------------------------------------
# Services, Ingress, HPA


def _service_ports(ports: list[Port]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    seen: set[int] = set()
    for port in ports:
        number = port.published or port.target
        name = str(number)
        if number in seen:
            name = f"{number}-{port.protocol.lower()}"
        seen.add(number)
        entry: dict[str, Any] = {"name": name, "port": number, "targetPort": port.target}
        if port.protocol != "TCP":
            entry["protocol"] = port.protocol
        out.append(entry)
    return out


def _services(
    svc: Service, name: str, owner: str, unit: _Unit, kind: str, annotations: dict[str, str], warnings: list[str]
) -> list[dict[str, Any]]:
    label = svc.labels.get("kompose.service.type", "").lower()
    if label and label not in _SERVICE_TYPES:
        raise ComposeError(
            f"service {svc.name!r}: kompose.service.type must be one of {', '.join(_SERVICE_TYPES)}, got {label!r}",
            svc.where,
        )
    stype = _SERVICE_TYPES.get(label, "ClusterIP")
    if kind == "statefulset":
        stype = "Headless"
    policy = svc.labels.get("kompose.service.external-traffic-policy")
    ports = svc.ports + svc.expose
    meta_base: dict[str, Any] = {"labels": _labels(owner)}
    if annotations:
        meta_base["annotations"] = dict(annotations)
    objects: list[dict[str, Any]] = []
    if not ports:
        if stype == "Headless":
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {"name": name, **meta_base},
                    "spec": {
                        "clusterIP": "None",
                        # kompose's placeholder: a Service needs a port to be selectable by name.
                        "ports": [{"name": "headless", "port": HEADLESS_PORT, "targetPort": HEADLESS_PORT}],
                        "selector": _labels(owner),
                    },
                }
            )
        elif label or svc.labels.get("kompose.service.expose"):
            warnings.append(f"{svc.where}: service {svc.name!r} has no ports: no Service (nor Ingress) is created")
        return objects
    if stype == "LoadBalancer":
        # One Service per protocol: kompose's rule, from when a LoadBalancer could not mix TCP and UDP.
        by_proto: dict[str, list[Port]] = {}
        for port in ports:
            by_proto.setdefault(port.protocol, []).append(port)
        for proto, group in by_proto.items():
            sname = f"{name}-{proto.lower()}"
            spec: dict[str, Any] = {"type": "LoadBalancer", "ports": _service_ports(group), "selector": _labels(owner)}
            if policy:
                spec["externalTrafficPolicy"] = _traffic_policy(svc, policy)
            objects.append(
                {
                    "apiVersion": "v1",
                    "kind": "Service",
                    "metadata": {
                        "name": sname,
                        "labels": _labels(sname),
                        **({"annotations": dict(annotations)} if annotations else {}),
                    },
                    "spec": spec,
                }
            )
        return objects
    spec = {"ports": _service_ports(ports), "selector": _labels(owner)}
    if stype == "Headless":
        spec["clusterIP"] = "None"
        spec["type"] = "ClusterIP"
    else:
        if stype != "ClusterIP":
            spec["type"] = stype
        if stype == "NodePort" and svc.labels.get("kompose.service.nodeport.port"):
            for entry in spec["ports"]:
                entry["nodePort"] = _label_int(svc, "kompose.service.nodeport.port", 30000, 32767)
    if policy:
        if stype == "NodePort":
            spec["externalTrafficPolicy"] = _traffic_policy(svc, policy)
        else:
            warnings.append(
                f"{svc.where}: service {svc.name!r}: external-traffic-policy applies to NodePort/LoadBalancer "
                "only; ignored"
            )
    objects.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, **meta_base}, "spec": spec})
    expose = svc.labels.get("kompose.service.expose")
    if expose and expose.lower() != "false":
        objects.append(_ingress(svc, owner, expose, spec["ports"][0]["port"], annotations))
    return objects


def _traffic_policy(svc: Service, value: str) -> str:
    mapped = {"local": "Local", "cluster": "Cluster"}.get(value.lower())
    if mapped is None:
        raise ComposeError(
            f"service {svc.name!r}: kompose.service.external-traffic-policy must be local or cluster", svc.where
        )
    return mapped


def _ingress(svc: Service, name: str, expose: str, port: int, annotations: dict[str, str]) -> dict[str, Any]:
    rules = []
    hosts = []
    for item in re.split(r"[ ,]*,[ ,]*", expose.strip()):
        host, slash, path = item.partition("/")
        path = "/" + path if slash else "/"
        rule: dict[str, Any] = {
            "http": {
                "paths": [
                    {
                        "path": path,
                        "pathType": "Prefix",
                        "backend": {"service": {"name": name, "port": {"number": port}}},
                    }
                ]
            }
        }
        if host.lower() != "true":
            rule["host"] = host
            hosts.append(host)
        rules.append(rule)
    spec: dict[str, Any] = {"rules": rules}
    tls = svc.labels.get("kompose.service.expose.tls-secret")
    if tls:
        entry: dict[str, Any] = {"hosts": hosts}
        if tls.lower() != "true":
            entry["secretName"] = tls
        spec["tls"] = [entry]
    klass = svc.labels.get("kompose.service.expose.ingress-class-name")
    if klass:
        spec["ingressClassName"] = klass
    meta: dict[str, Any] = {"name": name, "labels": _labels(name)}
    if annotations:
        meta["annotations"] = dict(annotations)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "metadata": meta, "spec": spec}


_KINDS = {"deployment": "Deployment", "statefulset": "StatefulSet"}


def _label_hpa(svc: Service, name: str, kind: str) -> Optional[dict[str, Any]]:
    keys = [k for k in svc.labels if k.startswith("kompose.hpa.")]
    if not keys:
        return None
    if kind not in _KINDS:
        raise ComposeError(
            f"service {svc.name!r}: kompose.hpa.* needs a Deployment or StatefulSet, not a {kind}", svc.where
        )
    cpu = _label_int(svc, "kompose.hpa.cpu", 1, 100) if "kompose.hpa.cpu" in svc.labels else None
    memory = _label_int(svc, "kompose.hpa.memory", 1, 100) if "kompose.hpa.memory" in svc.labels else None
    low = _label_int(svc, "kompose.hpa.replicas.min", 1) if "kompose.hpa.replicas.min" in svc.labels else 1
    high = _label_int(svc, "kompose.hpa.replicas.max", 1) if "kompose.hpa.replicas.max" in svc.labels else 3
    if high < low:
        raise ComposeError(
            f"service {svc.name!r}: kompose.hpa.replicas.max ({high}) is below replicas.min ({low})", svc.where
        )
    return horizontal_pod_autoscaler(name, _KINDS[kind], low, high, cpu=cpu if cpu or memory else 50, memory=memory)


def horizontal_pod_autoscaler(
    name: str,
    kind: str,
    min_replicas: int,
    max_replicas: int,
    *,
    cpu: Optional[int] = None,
    memory: Optional[int] = None,
) -> dict[str, Any]:
    """An autoscaling/v2 HorizontalPodAutoscaler on average CPU (and/or memory) utilization (%)."""
    if not 1 <= min_replicas <= max_replicas:
        raise ComposeError(f"HPA of {name}: need 1 <= min ({min_replicas}) <= max ({max_replicas})")
    metrics = []
    for resource, target in (("cpu", cpu), ("memory", memory)):
        if target is None:
            continue
        if not 1 <= target <= 100:
            raise ComposeError(f"HPA of {name}: the {resource} target must be a percentage from 1 to 100, got {target}")
        metrics.append(
            {
                "type": "Resource",
                "resource": {"name": resource, "target": {"type": "Utilization", "averageUtilization": target}},
            }
        )
    if not metrics:
        raise ComposeError(f"HPA of {name}: needs a CPU or memory target")
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
            "minReplicas": min_replicas,
            "maxReplicas": max_replicas,
            "metrics": metrics,
        },
    }


def pod_disruption_budget(
    name: str, *, min_available: Optional[int] = None, max_unavailable: Optional[int] = None
) -> dict[str, Any]:
    """A policy/v1 PodDisruptionBudget over the pods of the workload ``name`` (its selector label)."""
    if (min_available is None) == (max_unavailable is None):
        raise ComposeError(f"PDB of {name}: give exactly one of min_available and max_unavailable")
    spec: dict[str, Any] = {"selector": {"matchLabels": _labels(name)}}
    if min_available is not None:
        if min_available < 0:
            raise ComposeError(f"PDB of {name}: min_available must be >= 0")
        spec["minAvailable"] = min_available
    else:
        assert max_unavailable is not None
        if max_unavailable < 0:
            raise ComposeError(f"PDB of {name}: max_unavailable must be >= 0")
        spec["maxUnavailable"] = max_unavailable
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": {"name": name, "labels": _labels(name)},
        "spec": spec,
    }


def file_name(obj: dict[str, Any]) -> str:
    """kompose's file name for an object: ``<name>-<kind in lower case>.yaml``."""
    return f"{obj['metadata']['name']}-{obj['kind'].lower()}.yaml"


__all__ = [
    "Options",
    "Translation",
    "transform",
    "horizontal_pod_autoscaler",
    "pod_disruption_budget",
    "resource_name",
    "file_name",
    "Mount",
]
