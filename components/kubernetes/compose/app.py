"""``ComposeApp``: a compose project on a Kubernetes cluster, as Pulumi resources.

The Pulumi front end of the translator: it loads the compose files (paths, or text already
loaded), runs the same pure transformer as the CLI, and registers one typed ``pulumi_kubernetes``
resource per manifest, parented to itself (so the plan and the policy pack see every Deployment,
Service and claim, which a ``ConfigGroup`` would hide inside the provider). The cluster comes in
through the resource options (``provider=`` / ``providers=``), like any component.

* Compose secrets declared ``external: true`` are created here from Pulumi secrets
  (``ComposeAppArgs.secrets``); a compose secret whose value would come from the environment is
  refused by the transformer (it would land in clear in the manifests).
* Claims are ``retain_on_delete``: removing the app from the program never deletes its data.
* ``add_autoscaler`` / ``add_disruption_budget`` put an autoscaling/v2 HPA (CPU target) and a
  policy/v1 PDB on one service's workload.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

import pulumi
import pulumi_kubernetes as k8s

from ...naming import type_token
from .errors import ComposeError
from .loader import Source, load_project
from .transformer import Options, horizontal_pod_autoscaler, pod_disruption_budget, resource_name, transform

ComposeFile = Union[str, Path, Source]

# kind -> the typed pulumi_kubernetes class (apiVersion checked against the manifest).
_CLASSES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "Pod"): k8s.core.v1.Pod,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("networking.k8s.io/v1", "Ingress"): k8s.networking.v1.Ingress,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("autoscaling/v2", "HorizontalPodAutoscaler"): k8s.autoscaling.v2.HorizontalPodAutoscaler,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
}
# Top-level fields each kind carries besides metadata (manifest key -> constructor keyword).
_FIELDS = {"spec": "spec", "data": "data", "binaryData": "binary_data", "type": "type", "stringData": "string_data"}


@dataclass
class ComposeAppArgs:
    files: Sequence[ComposeFile]
    """Compose files merged in order: paths, or ``Source(name, text)`` for text already loaded."""
    namespace: str
    create_namespace: bool = False
    controller: Optional[str] = None
    volumes: str = "pvc"
    rancher_compose: Optional[ComposeFile] = None
    environ: Mapping[str, str] = field(default_factory=dict)
    """What ``${VAR}`` sees (with the project's ``.env``); empty by default so that a plan does
    not depend on the shell that runs it."""
    project_dir: Optional[str] = None
    """Where relative paths (env files, binds, ``.env``) resolve for text sources."""
    secrets: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Values of the compose secrets declared ``external: true`` (compose secret name -> secret)."""
    configs: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Contents of the compose configs declared ``external: true`` (compose config name -> text)."""
    images: Mapping[str, pulumi.Input[str]] = field(default_factory=dict)
    """Per compose service, the image to run instead of the file's ``image:`` (e.g. a pushed
    image's digest, known only once the image is built)."""
    autoscaled: Sequence[str] = ()
    """Compose services whose replica count a HorizontalPodAutoscaler owns (``add_autoscaler``):
    their workloads ignore later changes of ``spec.replicas``, or every ``pulumi up`` would reset
    the count the autoscaler chose."""


class ComposeApp(pulumi.ComponentResource):
    """The resources of a compose project in one namespace."""

    manifests: list[dict[str, Any]]
    """The translated manifests (plain dicts), in registration order."""
    warnings: list[str]
    resources: dict[str, pulumi.CustomResource]
    """``<kind>/<name>`` -> the resource (e.g. ``Deployment/web``)."""

    def __init__(self, name: str, args: ComposeAppArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        super().__init__(type_token("ComposeApp"), name, {"namespace": args.namespace}, opts)
        self._name = name
        project = load_project(
            list(args.files), rancher_compose=args.rancher_compose, environ=args.environ, project_dir=args.project_dir
        )
        options = Options(
            namespace=args.namespace,
            controller=args.controller,
            volumes=args.volumes,
            emit_namespace=args.create_namespace,
        )
        result = transform(project, options)
        self.namespace = args.namespace
        self.project = project
        self.manifests = result.manifests
        self.warnings = result.warnings
        for warning in result.warnings:
            pulumi.log.warn(f"compose: {warning}", resource=self)
        self.resources = {}
        namespace_resource: Optional[pulumi.Resource] = None
        for manifest in self.manifests:
            if manifest["kind"] == "Namespace":
                namespace_resource = self._register(manifest, [])
        depends = [namespace_resource] if namespace_resource is not None else []

        self._external(args.secrets, "secret", depends)
        self._external(args.configs, "config", depends)
        unknown_images = sorted(set(args.images) - set(project.services))
        if unknown_images:
            raise ComposeError(f"ComposeAppArgs.images names unknown compose services: {', '.join(unknown_images)}")
        for service_name, image in args.images.items():
            svc = project.services[service_name]
            container = resource_name(svc.container_name or svc.name, svc.where)
            for manifest in self.manifests:
                for spec in _pod_specs(manifest):
                    for c in spec.get("containers", []):
                        if c["name"] == container:
                            c["image"] = image
        unknown_autoscaled = sorted(set(args.autoscaled) - set(project.services))
        if unknown_autoscaled:
            raise ComposeError(
                f"ComposeAppArgs.autoscaled names unknown compose services: {', '.join(unknown_autoscaled)}"
            )
        self._autoscaled = {resource_name(s) for s in args.autoscaled}
        for manifest in self.manifests:
            if manifest["kind"] != "Namespace":
                self._register(manifest, depends)
        self.register_outputs({"namespace": args.namespace, "objects": sorted(self.resources)})

    def _external(self, values: Mapping[str, pulumi.Input[str]], kind: str, depends: list[pulumi.Resource]) -> None:
        """The Secrets / ConfigMaps of the compose secrets / configs declared ``external: true``."""
        project = self.project
        definitions = project.secrets if kind == "secret" else project.configs
        used: set[str] = set()
        for svc in project.services.values():
            used |= {u.source for u in (svc.secrets if kind == "secret" else svc.configs)}
            if kind == "secret":
                used |= {secret for secret, _ in svc.env_from_secrets.values()}
        for item in sorted(used):
            definition = definitions[item]
            if not definition.external:
                continue
            if item not in values:
                raise ComposeError(
                    f"{kind} {item!r} is external: ComposeAppArgs.{kind}s must give its value", definition.where
                )
            object_name = resource_name(definition.external_name or item, definition.where)
            metadata: dict[str, Any] = {
                "name": object_name,
                "namespace": self.namespace,
                "labels": {"io.kompose.service": object_name},
            }
            opts = pulumi.ResourceOptions(parent=self, depends_on=depends)
            # Keyword arguments as a plain dict: the typed overloads want TypedDicts, the
            # provider takes the Kubernetes (camelCase) field names as they are.
            fields: dict[str, Any] = {"metadata": metadata, "opts": opts}
            if kind == "secret":
                fields.update(type="Opaque", string_data={item: pulumi.Output.secret(values[item])})
                self.resources[f"Secret/{object_name}"] = k8s.core.v1.Secret(
                    f"{self._name}-secret-{object_name}", **fields
                )
            else:
                fields.update(data={item: values[item]})
                self.resources[f"ConfigMap/{object_name}"] = k8s.core.v1.ConfigMap(
                    f"{self._name}-configmap-{object_name}", **fields
                )
        unknown = sorted(set(values) - {u for u in used if definitions[u].external})
        if unknown:
            raise ComposeError(f"ComposeAppArgs.{kind}s names no external {kind} a service uses: {', '.join(unknown)}")

    def _register(self, manifest: dict[str, Any], depends: list[pulumi.Resource]) -> pulumi.CustomResource:
        key = (manifest["apiVersion"], manifest["kind"])
        cls = _CLASSES.get(key)
        if cls is None:
            raise ComposeError(f"ComposeApp cannot create a {manifest['apiVersion']} {manifest['kind']}")
        object_name = manifest["metadata"]["name"]
        kwargs: dict[str, Any] = {"metadata": manifest["metadata"]}
        for source_key, keyword in _FIELDS.items():
            if source_key in manifest:
                kwargs[keyword] = manifest[source_key]
        if manifest["kind"] == "Secret":
            kwargs["data"] = pulumi.Output.secret(manifest.get("data", {}))
        retain = manifest["kind"] in ("PersistentVolumeClaim", "StatefulSet")
        scaled = manifest["kind"] in ("Deployment", "StatefulSet") and object_name in self._autoscaled
        resource = cls(
            f"{self._name}-{manifest['kind'].lower()}-{object_name}",
            **kwargs,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=depends,
                retain_on_delete=retain or None,
                ignore_changes=["spec.replicas"] if scaled else None,
            ),
        )
        self.resources[f"{manifest['kind']}/{object_name}"] = resource
        return resource

    def workload(self, service: str) -> tuple[str, str]:
        """(kind, name) of the workload that runs compose service ``service``."""
        name = resource_name(service)
        for kind in ("Deployment", "StatefulSet", "DaemonSet"):
            if f"{kind}/{name}" in self.resources:
                return kind, name
        raise ComposeError(f"compose service {service!r} has no Deployment/StatefulSet/DaemonSet in this app")

    def add_autoscaler(
        self, service: str, *, min_replicas: int, max_replicas: int, cpu_percent: int
    ) -> pulumi.CustomResource:
        """An autoscaling/v2 HorizontalPodAutoscaler on the service's average CPU utilization.

        The containers need a CPU request (``deploy.resources.reservations.cpus``) for a
        utilization target to mean anything; without one the HPA reports ``<unknown>``."""
        kind, name = self.workload(service)
        if kind == "DaemonSet":
            raise ComposeError(f"compose service {service!r} is a DaemonSet: one pod per node, nothing to autoscale")
        if name not in self._autoscaled:
            raise ComposeError(
                f"compose service {service!r}: list it in ComposeAppArgs.autoscaled, so that its workload "
                "leaves spec.replicas to the autoscaler"
            )
        self._require_cpu_request(kind, name, service)
        manifest = horizontal_pod_autoscaler(name, kind, min_replicas, max_replicas, cpu=cpu_percent)
        manifest["metadata"]["namespace"] = self.namespace
        return self._register(manifest, [self.resources[f"{kind}/{name}"]])

    def add_disruption_budget(
        self, service: str, *, min_available: Optional[int] = None, max_unavailable: Optional[int] = None
    ) -> pulumi.CustomResource:
        """A policy/v1 PodDisruptionBudget over the service's pods (node drains keep the rest up)."""
        kind, name = self.workload(service)
        manifest = pod_disruption_budget(name, min_available=min_available, max_unavailable=max_unavailable)
        manifest["metadata"]["namespace"] = self.namespace
        return self._register(manifest, [self.resources[f"{kind}/{name}"]])

    def _require_cpu_request(self, kind: str, name: str, service: str) -> None:
        for manifest in self.manifests:
            if manifest["kind"] == kind and manifest["metadata"]["name"] == name:
                containers = manifest["spec"]["template"]["spec"]["containers"]
                if all("cpu" in (c.get("resources", {}).get("requests") or {}) for c in containers):
                    return
        raise ComposeError(
            f"compose service {service!r}: a CPU autoscaler needs a CPU request on every container "
            "(deploy.resources.reservations.cpus)"
        )


def _pod_specs(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    """The pod specs inside a manifest (a Pod's own, a workload's template, a CronJob's job's)."""
    kind = manifest["kind"]
    if kind == "Pod":
        return [manifest["spec"]]
    if kind in ("Deployment", "StatefulSet", "DaemonSet"):
        return [manifest["spec"]["template"]["spec"]]
    if kind == "CronJob":
        return [manifest["spec"]["jobTemplate"]["spec"]["template"]["spec"]]
    return []
