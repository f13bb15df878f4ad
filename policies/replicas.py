"""Replica, quorum and data-safety rules over the project's component resources.

These are stack policies: they read the props our components pass to ``super().__init__`` and the
options of the volumes beneath them. A prop that is missing, unknown or of the wrong shape makes
the check that needs it undecidable, and that check reports nothing.

Components and props (keys exactly as the components register them):

* ``rancher-stacks:index:GlusterCluster``: ``volumeName``, ``replicas``, ``servers``, ``zones``
* ``rancher-stacks:index:MongoReplicaSet``: ``replicaSetName``, ``members``, ``hosts``, ``zones``
* ``rancher-stacks:index:LoadBalancer``: ``algorithm``, ``backends``, ``healthCheckPath``
* ``rancher-stacks:index:DataVolume``: parent of the EBS volumes that hold data.

Data volumes are every GCP disk and DigitalOcean volume (boot disks of those clouds are inline in
the instance, so a standalone one always holds data) and every EBS volume whose parent is a
``DataVolume``. They must be ``protect``-ed or ``retainOnDelete``. The policy SDK's resource
options carry ``protect`` but not retain-on-delete (the analyzer protocol does not send it), so in
the live pack only ``protect`` satisfies the rule; :func:`policies.evaluate` forwards the
``retainOnDelete`` of its resource dicts as an extra ``retain_on_delete`` option attribute.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import config
from .props import as_int, as_str, is_sequence, is_unknown, items_of, lookup

GLUSTER_CLUSTER: Final = "rancher-stacks:index:GlusterCluster"
MONGO_REPLICA_SET: Final = "rancher-stacks:index:MongoReplicaSet"
LOAD_BALANCER: Final = "rancher-stacks:index:LoadBalancer"
DATA_VOLUME: Final = "rancher-stacks:index:DataVolume"

EBS_VOLUME: Final = "aws:ebs/volume:Volume"
GCP_DISK: Final = "gcp:compute/disk:Disk"
DO_VOLUME: Final = "digitalocean:index/volume:Volume"
STANDALONE_DATA_TYPES: Final = frozenset({GCP_DISK, DO_VOLUME})


def host_names(value: Any) -> list[str] | None:
    """A list of names, or ``None`` unless the list and every element are known strings."""
    if is_unknown(value) or not is_sequence(value):
        return None
    names = [as_str(element) for element in items_of(value)]
    known = [name for name in names if name is not None]
    return known if len(known) == len(names) else None


def duplicates(names: list[str]) -> list[str]:
    """Names that occur more than once (compared case-insensitively, as host names are)."""
    counts = Counter(name.strip().lower() for name in names)
    return sorted(name for name, count in counts.items() if count > 1)


def gluster_violations(props: Any, min_replicas: int) -> list[str]:
    """Replica count, server count and brick placement of a GlusterFS volume."""
    messages = []
    replicas = as_int(lookup(props, "replicas"))
    servers = host_names(lookup(props, "servers"))
    if replicas is not None and replicas < min_replicas:
        messages.append(f"replicas is {replicas}; at least {min_replicas} (minReplicas) are required.")
    if replicas is not None and servers is not None and len(servers) < replicas:
        messages.append(f"{len(servers)} server(s) cannot hold {replicas} replicas.")
    if servers:
        repeated = duplicates(servers)
        if repeated:
            messages.append(f"servers repeat {', '.join(repeated)}; each brick must sit on a distinct host.")
    return messages


def mongo_violations(props: Any) -> list[str]:
    """Voting-member count and host placement of a MongoDB replica set."""
    messages = []
    members = as_int(lookup(props, "members"))
    hosts = host_names(lookup(props, "hosts"))
    if members is not None and (members < 3 or members % 2 == 0):
        messages.append(f"members is {members}; a replica set needs an odd number, at least 3.")
    if hosts:
        repeated = duplicates(hosts)
        if repeated:
            messages.append(f"hosts repeat {', '.join(repeated)}; members must run on distinct hosts.")
    if members is not None and hosts is not None and len(hosts) != members:
        messages.append(f"{len(hosts)} host(s) listed for {members} members.")
    return messages


def load_balancer_violations(props: Any, single_backend_ok: bool = False) -> list[str]:
    """Backend redundancy and health checking of a load balancer.

    ``single_backend_ok``: the balancer is on ``singleBackendBalancers`` (its backend cannot be
    replicated, a Jenkins controller), so one backend is accepted; the health check still is not.
    """
    messages = []
    backends = host_names(lookup(props, "backends"))
    if backends is not None and not single_backend_ok:
        distinct = {name.strip().lower() for name in backends}
        if len(distinct) < 2:
            messages.append(
                f"{len(distinct)} distinct backend host(s); at least 2 are needed for redundancy."
            )
    path = lookup(props, "healthCheckPath")
    if path is not None and not is_unknown(path) and not (as_str(path) or "").strip():
        messages.append("healthCheckPath is empty; the balancer could not detect a dead backend.")
    return messages


def zone_spread_violations(resource_type: str, props: Any) -> list[str]:
    """Advisory: two or more members or servers should span at least two zones."""
    if resource_type == GLUSTER_CLUSTER:
        names, count = host_names(lookup(props, "servers")), as_int(lookup(props, "replicas"))
        noun = "servers"
    elif resource_type == MONGO_REPLICA_SET:
        names, count = host_names(lookup(props, "hosts")), as_int(lookup(props, "members"))
        noun = "members"
    else:
        return []
    size = len(names) if names else count
    zones = host_names(lookup(props, "zones"))
    if size is None or size < 2 or not zones:
        return []
    distinct = sorted({zone.strip() for zone in zones})
    if len(distinct) >= 2:
        return []
    return [f"{size} {noun} all sit in zone {distinct[0]}; spread them over at least 2 zones."]


def _type_from_urn(urn: str | None, depth: int) -> str | None:
    """A type from a URN's ``parent$child`` type chain, counted from the end (0 = own type)."""
    if not urn:
        return None
    parts = urn.split("::")
    if len(parts) < 4:
        return None
    chain = parts[2].split("$")
    return chain[-1 - depth] if len(chain) > depth else None


def parent_type(resource: PolicyResource) -> str | None:
    """The type of a resource's parent, from the linked parent, its URN, or the resource URN."""
    if resource.parent is not None:
        return resource.parent.resource_type
    return _type_from_urn(resource.opts.parent, 0) or _type_from_urn(resource.urn, 1)


def is_data_volume(resource: PolicyResource) -> bool:
    """True for standalone GCP disks and DO volumes, and EBS volumes under a ``DataVolume``."""
    if resource.resource_type in STANDALONE_DATA_TYPES:
        return True
    return resource.resource_type == EBS_VOLUME and parent_type(resource) == DATA_VOLUME


def data_volume_violations(resource: PolicyResource) -> list[str]:
    """A data volume that neither ``protect`` nor retain-on-delete keeps from deletion."""
    if not is_data_volume(resource):
        return []
    options = resource.opts
    if bool(options.protect) or bool(getattr(options, "retain_on_delete", False)):
        return []
    return [
        f"{resource.resource_type} holds data but is neither protected nor retainOnDelete; "
        "a replacement or `pulumi destroy` would delete it."
    ]


# --- policies --------------------------------------------------------------------------------

_PropsCheck = Callable[[str, Any, config.Settings], list[str]]


def _props_validator(
    types: frozenset[str], check: _PropsCheck
) -> Callable[[StackValidationArgs, ReportViolation], None]:
    """A stack validation running ``check`` on the props of every resource of ``types``."""

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        settings = config.settings(args)
        for resource in args.resources:
            if resource.resource_type in types:
                for message in check(resource.resource_type, resource.props, settings):
                    report_violation(message, resource.urn)

    return validate


def _validate_data_volumes(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        for message in data_volume_violations(resource):
            report_violation(message, resource.urn)


GLUSTER_REPLICA_QUORUM: Final = StackValidationPolicy(
    name="gluster-replica-quorum",
    description=(
        "GlusterFS volumes keep at least minReplicas replicas, on at least as many servers, "
        "with every brick on a distinct host."
    ),
    validate=_props_validator(
        frozenset({GLUSTER_CLUSTER}),
        lambda _kind, props, settings: gluster_violations(props, settings.min_replicas),
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.MIN_REPLICAS),
)

MONGO_REPLICA_SET_QUORUM: Final = StackValidationPolicy(
    name="mongo-replica-set-quorum",
    description="MongoDB replica sets have an odd number (at least 3) of members on distinct hosts.",
    validate=_props_validator(
        frozenset({MONGO_REPLICA_SET}), lambda _kind, props, _settings: mongo_violations(props)
    ),
    enforcement_level=EnforcementLevel.MANDATORY,
)

def _validate_load_balancers(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    settings = config.settings(args)
    for resource in args.resources:
        if resource.resource_type == LOAD_BALANCER:
            single = resource.name in settings.single_backend_balancers
            for message in load_balancer_violations(resource.props, single):
                report_violation(message, resource.urn)


LOAD_BALANCER_REDUNDANCY: Final = StackValidationPolicy(
    name="load-balancer-redundancy",
    description=(
        "Load balancers have at least 2 backends on distinct hosts (except those on singleBackendBalancers) "
        "and a health check path."
    ),
    validate=_validate_load_balancers,
    enforcement_level=EnforcementLevel.MANDATORY,
    config_schema=config.schema(config.SINGLE_BACKEND_BALANCERS),
)

DATA_VOLUME_PROTECTED: Final = StackValidationPolicy(
    name="data-volume-protected",
    description=(
        "Data volumes (GCP disks, DO volumes, EBS volumes of a DataVolume) are protected or retainOnDelete."
    ),
    validate=_validate_data_volumes,
    enforcement_level=EnforcementLevel.MANDATORY,
)

REPLICA_ZONE_SPREAD: Final = StackValidationPolicy(
    name="replica-zone-spread",
    description="GlusterFS servers and MongoDB members (2 or more) span at least 2 zones.",
    validate=_props_validator(
        frozenset({GLUSTER_CLUSTER, MONGO_REPLICA_SET}),
        lambda kind, props, _settings: zone_spread_violations(kind, props),
    ),
    enforcement_level=EnforcementLevel.ADVISORY,
)

POLICIES: Final = (
    GLUSTER_REPLICA_QUORUM,
    MONGO_REPLICA_SET_QUORUM,
    LOAD_BALANCER_REDUNDANCY,
    DATA_VOLUME_PROTECTED,
    REPLICA_ZONE_SPREAD,
)
