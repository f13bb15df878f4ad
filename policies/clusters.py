"""Kubernetes-target rules: EKS endpoint exposure, node group bounds, workload redundancy.

* ``eks-endpoint-restricted`` (``aws:eks/cluster:Cluster``): a public API endpoint must list the
  networks it answers. EKS turns the public endpoint on unless ``endpointPublicAccess`` is false,
  and a public endpoint without ``publicAccessCidrs`` answers ``0.0.0.0/0`` (EKS User Guide,
  "Cluster API server endpoint"; terraform-provider-aws eks/cluster.go defaults
  ``endpoint_public_access`` to true). So absent values count as open; ``/0`` in the list too.
* ``k8s-nodegroup-autoscaling-bounds`` (``aws:eks/nodeGroup:NodeGroup``): ``minSize <= desiredSize
  <= maxSize`` (EKS refuses anything else at create time, after the rest of the stack has been
  built), and where autoscaling is on (``minSize < maxSize``) ``maxSize >= 2``, so the autoscaler
  has room to replace a node.
* ``k8s-workload-redundancy`` (stack): every ``kubernetes:apps/v1:Deployment`` runs at least 2
  replicas (``spec.replicas`` absent means 1) and is covered by a ``policy/v1``
  PodDisruptionBudget in its namespace whose ``matchLabels`` select its pod template, so a node
  drain (an autoscaler scale-down, a node group upgrade) never takes all of it down at once.

Unknown values (during a preview) are not judged.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import as_bool, as_int, as_str, is_unknown, known_strings, lookup

EKS_CLUSTER: Final = "aws:eks/cluster:Cluster"
EKS_NODE_GROUP: Final = "aws:eks/nodeGroup:NodeGroup"
DEPLOYMENT: Final = "kubernetes:apps/v1:Deployment"
PDB: Final = "kubernetes:policy/v1:PodDisruptionBudget"
MIN_REPLICAS: Final = 2


def _is_whole_internet(cidr: str) -> bool:
    try:
        return ipaddress.ip_network(cidr, strict=False).prefixlen == 0
    except ValueError:
        return False


def endpoint_violations(props: Any) -> list[str]:
    """An EKS cluster whose public endpoint answers the whole internet."""
    vpc = lookup(props, "vpcConfig")
    if is_unknown(vpc):
        return []
    public = lookup(vpc, "endpointPublicAccess")
    if is_unknown(public) or as_bool(public) is False:
        return []
    cidrs = lookup(vpc, "publicAccessCidrs")
    if is_unknown(cidrs):
        return []
    listed = known_strings(cidrs)
    if not listed:
        return [
            "EKS public endpoint without publicAccessCidrs answers 0.0.0.0/0; set vpcConfig.publicAccessCidrs "
            "to the admin networks or endpointPublicAccess: false."
        ]
    open_ = [c for c in listed if _is_whole_internet(c)]
    if open_:
        return [f"EKS public endpoint is open to {', '.join(open_)}; list the admin networks only."]
    return []


def node_group_violations(props: Any) -> list[str]:
    """A managed node group whose sizes are out of order, or that autoscales with max < 2."""
    scaling = lookup(props, "scalingConfig")
    sizes = {key: lookup(scaling, key) for key in ("minSize", "desiredSize", "maxSize")}
    if any(is_unknown(v) for v in sizes.values()):
        return []
    low, desired, high = (as_int(sizes[k]) for k in ("minSize", "desiredSize", "maxSize"))
    if low is None or desired is None or high is None:
        return ["scalingConfig must set minSize, desiredSize and maxSize."]
    messages = []
    if not low <= desired <= high:
        messages.append(f"scalingConfig needs minSize <= desiredSize <= maxSize; got {low} <= {desired} <= {high}.")
    if low < high and high < MIN_REPLICAS:
        messages.append(f"an autoscaled node group (minSize < maxSize) needs maxSize >= {MIN_REPLICAS}; got {high}.")
    return messages


def _labels(value: Any) -> dict[str, str] | None:
    """A known string map, else None."""
    if is_unknown(value) or not isinstance(value, Mapping):
        return None
    out = {}
    for key in value:
        text = as_str(lookup(value, key))
        if text is None:
            return None
        out[str(key)] = text
    return out


def _namespace(props: Any) -> str | None:
    value = lookup(props, "metadata", "namespace")
    if is_unknown(value):
        return None
    return as_str(value) or "default"


def workload_violations(resources: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    """(urn, message) for every Deployment with fewer than 2 replicas or no PodDisruptionBudget.

    ``resources`` are (type, urn, props) triples.
    """
    budgets: list[tuple[str, dict[str, str]]] = []
    for kind, _urn, props in resources:
        if kind != PDB:
            continue
        selector = _labels(lookup(props, "spec", "selector", "matchLabels"))
        namespace = _namespace(props)
        if selector and namespace is not None:
            budgets.append((namespace, selector))
    found = []
    for kind, urn, props in resources:
        if kind != DEPLOYMENT:
            continue
        name = as_str(lookup(props, "metadata", "name")) or urn.rsplit("::", 1)[-1]
        replicas = lookup(props, "spec", "replicas")
        count = 1 if replicas is None else as_int(replicas)
        if not is_unknown(replicas) and count is not None and count < MIN_REPLICAS:
            found.append((urn, f"Deployment {name} runs {count} replica(s); run at least {MIN_REPLICAS}."))
        labels = _labels(lookup(props, "spec", "template", "metadata", "labels"))
        namespace = _namespace(props)
        if labels is None or namespace is None:
            continue
        if not any(ns == namespace and selector.items() <= labels.items() for ns, selector in budgets):
            found.append(
                (urn, f"Deployment {name} has no policy/v1 PodDisruptionBudget selecting its pods in {namespace}.")
            )
    return found


def _resource_check(
    types: frozenset[str], check: Callable[[Any], list[str]]
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in types:
            for message in check(args.props):
                report_violation(message, None)

    return validate


def _validate_workloads(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    triples = [(r.resource_type, r.urn, r.props) for r in args.resources]
    for urn, message in workload_violations(triples):
        report_violation(message, urn)


EKS_ENDPOINT_RESTRICTED: Final = ResourceValidationPolicy(
    name="eks-endpoint-restricted",
    description="An EKS cluster's public API endpoint answers listed networks only, never 0.0.0.0/0.",
    validate=_resource_check(frozenset({EKS_CLUSTER}), endpoint_violations),
    enforcement_level=EnforcementLevel.MANDATORY,
)

K8S_NODEGROUP_AUTOSCALING_BOUNDS: Final = ResourceValidationPolicy(
    name="k8s-nodegroup-autoscaling-bounds",
    description="EKS node groups have minSize <= desiredSize <= maxSize, and maxSize >= 2 where they autoscale.",
    validate=_resource_check(frozenset({EKS_NODE_GROUP}), node_group_violations),
    enforcement_level=EnforcementLevel.MANDATORY,
)

K8S_WORKLOAD_REDUNDANCY: Final = StackValidationPolicy(
    name="k8s-workload-redundancy",
    description="Every Kubernetes Deployment runs 2 or more replicas behind a PodDisruptionBudget selecting them.",
    validate=_validate_workloads,
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES: Final = (EKS_ENDPOINT_RESTRICTED, K8S_NODEGROUP_AUTOSCALING_BOUNDS, K8S_WORKLOAD_REDUNDANCY)
