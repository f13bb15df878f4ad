"""Rendered manifests (plain dicts) as typed ``pulumi_kubernetes`` resources.

Each manifest becomes the SDK's own class for its kind (``kubernetes:apps/v1:Deployment`` ...),
not an opaque YAML group, so the plan and the policy pack see every object with its type. Names
come from kind and ``metadata.name`` (stable keys, never list positions).
"""

from __future__ import annotations

import re
from typing import Any, Callable, Mapping, Sequence

import pulumi
import pulumi_kubernetes as k8s

_CLASSES: dict[tuple[str, str], Callable[..., pulumi.CustomResource]] = {
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("apiregistration.k8s.io/v1", "APIService"): k8s.apiregistration.v1.APIService,
}
# Top-level manifest fields -> the SDK's keyword arguments.
_FIELDS = {
    "metadata": "metadata",
    "spec": "spec",
    "rules": "rules",
    "roleRef": "role_ref",
    "subjects": "subjects",
    "data": "data",
    "aggregationRule": "aggregation_rule",
    "automountServiceAccountToken": "automount_service_account_token",
}


def resource_name(prefix: str, manifest: Mapping[str, Any]) -> str:
    """``<prefix>-<kind>-<metadata.name>``, lowercase, ``:`` and ``.`` replaced (stable per object)."""
    name = re.sub(r"[^a-z0-9-]+", "-", str(manifest["metadata"]["name"]).lower()).strip("-")
    return f"{prefix}-{manifest['kind'].lower()}-{name}"


def apply_manifests(
    prefix: str, manifests: Sequence[Mapping[str, Any]], opts: pulumi.ResourceOptions
) -> dict[str, pulumi.CustomResource]:
    """One resource per manifest, keyed by its resource name; later objects depend on earlier ones
    of the same list only through the API server (RBAC before the Deployment is not required)."""
    created: dict[str, pulumi.CustomResource] = {}
    for manifest in manifests:
        key = (manifest["apiVersion"], manifest["kind"])
        cls = _CLASSES.get(key)
        if cls is None:
            raise ValueError(f"no pulumi_kubernetes class mapped for {key[0]} {key[1]}")
        unknown = set(manifest) - {"apiVersion", "kind"} - set(_FIELDS)
        if unknown:
            raise ValueError(f"{key[1]} {manifest['metadata']['name']}: unmapped fields {sorted(unknown)}")
        kwargs = {_FIELDS[field]: value for field, value in manifest.items() if field in _FIELDS}
        name = resource_name(prefix, manifest)
        if name in created:
            raise ValueError(f"two manifests map to the resource name {name!r}")
        created[name] = cls(name, **kwargs, opts=opts)
    return created
