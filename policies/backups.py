"""``data-volume-backed-up``: every data volume is on a snapshot schedule declared in the stack.

A stack policy, because the schedule is a resource of its own on each cloud:

* **EBS** (volumes under a ``DataVolume``): an ``aws.dlm.LifecyclePolicy`` in the stack that is
  ``ENABLED``, manages ``VOLUME`` snapshots, has a schedule with a create rule and a retain rule (a
  count or an age), and whose ``targetTags`` the volume carries, all of them: DLM selects volumes
  by tag (https://docs.aws.amazon.com/dlm/latest/APIReference/API_PolicyDetails.html).
* **GCP persistent disks**: a ``DiskResourcePolicyAttachment`` of the disk (it names the disk, or
  depends on it) to a ``ResourcePolicy`` of the stack with a ``snapshotSchedulePolicy`` (it names
  the policy, or depends on it), or such a policy in the disk's own ``resourcePolicies``.
* **DigitalOcean volumes** always fail: DigitalOcean has no scheduled volume snapshots (on-demand
  snapshots only; droplet backups skip attached volumes), so nothing in a stack can cover them.

A volume whose tags, or a schedule whose fields, are not known yet (a preview) is not judged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from .props import UNKNOWN, as_int, as_str, is_unknown, items_of, known_strings, lookup
from .replicas import DO_VOLUME, EBS_VOLUME, GCP_DISK, is_data_volume

DLM_POLICY: Final = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
GCP_RESOURCE_POLICY: Final = "gcp:compute/resourcePolicy:ResourcePolicy"
GCP_DISK_POLICY_ATTACHMENT: Final = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"

COVERED: Final = "covered"
UNDECIDED: Final = "undecided"


def _string_map(value: Any) -> dict[str, str] | object | None:
    """A mapping of known strings, :data:`UNKNOWN` when any part is not known yet, else ``None``."""
    if is_unknown(value):
        return UNKNOWN
    if not isinstance(value, Mapping):
        return None
    out: dict[str, str] = {}
    for key in value:
        item = lookup(value, key)
        if is_unknown(item):
            return UNKNOWN
        text = as_str(item)
        if text is None:
            return None
        out[str(key)] = text
    return out


def dlm_gap(props: Any) -> str | None:
    """Why a DLM policy would snapshot nothing (``None``: it does; :data:`UNDECIDED`: not known yet)."""
    state = lookup(props, "state")
    if is_unknown(state):
        return UNDECIDED
    if (as_str(state) or "ENABLED") != "ENABLED":
        return f"is {as_str(state)}"
    details = lookup(props, "policyDetails")
    if is_unknown(details):
        return UNDECIDED
    policy_type = lookup(details, "policyType")
    if is_unknown(policy_type):
        return UNDECIDED
    if (as_str(policy_type) or "EBS_SNAPSHOT_MANAGEMENT") != "EBS_SNAPSHOT_MANAGEMENT":
        return f"manages {as_str(policy_type)}, not EBS snapshots"
    kinds = lookup(details, "resourceTypes")
    if is_unknown(kinds):
        return UNDECIDED
    if "VOLUME" not in known_strings(kinds):
        return "does not target VOLUME resources"
    schedules = lookup(details, "schedules")
    if is_unknown(schedules):
        return UNDECIDED
    undecided = False
    for schedule in items_of(schedules):
        create, retain = lookup(schedule, "createRule"), lookup(schedule, "retainRule")
        if is_unknown(create) or is_unknown(retain):
            undecided = True
            continue
        count, interval = as_int(lookup(retain, "count")), as_int(lookup(retain, "interval"))
        if create is not None and ((count or 0) >= 1 or (interval or 0) >= 1):
            return None
    return UNDECIDED if undecided else "has no schedule with a create rule and a retain rule"


def ebs_status(volume: PolicyResource, dlm_policies: Iterable[PolicyResource]) -> str:
    """``COVERED``, ``UNDECIDED``, or why no DLM policy of the stack snapshots ``volume``."""
    tags = _string_map(lookup(volume.props, "tags"))
    if tags is UNKNOWN:
        return UNDECIDED
    volume_tags = tags if isinstance(tags, dict) else {}
    reasons: list[str] = []
    undecided = False
    for policy in dlm_policies:
        target = _string_map(lookup(lookup(policy.props, "policyDetails"), "targetTags"))
        if target is UNKNOWN:
            undecided = True
            continue
        if not isinstance(target, dict) or not target:
            continue
        if not target.items() <= volume_tags.items():
            continue
        gap = dlm_gap(policy.props)
        if gap is None:
            return COVERED
        if gap == UNDECIDED:
            undecided = True
        else:
            reasons.append(f"the DLM policy {policy.name} that targets it {gap}")
    if undecided:
        return UNDECIDED
    if reasons:
        return "; ".join(reasons)
    return "it carries no tag set that a DLM lifecycle policy of this stack targets"


def _schedule_gap(policy: PolicyResource) -> str | None:
    """``None`` when a GCP resource policy has a snapshot schedule; else why not (or UNDECIDED)."""
    schedule = lookup(policy.props, "snapshotSchedulePolicy", "schedule")
    if is_unknown(schedule):
        return UNDECIDED
    if not isinstance(schedule, Mapping) or not any(schedule.get(k) for k in schedule):
        return f"the resource policy {policy.name} has no snapshot schedule"
    return None


def _policy_by_reference(reference: Any, policies: Iterable[PolicyResource]) -> PolicyResource | None:
    """The stack's resource policy a name or self link refers to."""
    text = as_str(reference)
    if text is None:
        return None
    short = text.rstrip("/").rsplit("/", 1)[-1]
    for policy in policies:
        if as_str(lookup(policy.props, "name")) in (text, short) or policy.name == short:
            return policy
    return None


def gcp_status(
    disk: PolicyResource, attachments: Iterable[PolicyResource], policies: list[PolicyResource]
) -> str:
    """``COVERED``, ``UNDECIDED``, or why no snapshot schedule of the stack covers ``disk``."""
    own = lookup(disk.props, "resourcePolicies")
    if is_unknown(own):
        return UNDECIDED
    reasons: list[str] = []
    undecided = False
    candidates = [_policy_by_reference(ref, policies) for ref in items_of(own)]
    disk_name = as_str(lookup(disk.props, "name"))
    for attachment in attachments:
        named = lookup(attachment.props, "disk")
        names_disk = disk_name is not None and as_str(named) is not None and (
            as_str(named) == disk_name or (as_str(named) or "").endswith("/" + disk_name)
        )
        if not names_disk and disk not in attachment.dependencies:
            if is_unknown(named):
                undecided = True
            continue
        reference = lookup(attachment.props, "name")
        policy = _policy_by_reference(reference, policies)
        if policy is None:
            policy = next((d for d in attachment.dependencies if d.resource_type == GCP_RESOURCE_POLICY), None)
        if policy is None:
            if is_unknown(reference):
                undecided = True
            else:
                reasons.append(f"its attachment {attachment.name} names no resource policy of this stack")
            continue
        candidates.append(policy)
    for policy in candidates:
        if policy is None:
            continue
        gap = _schedule_gap(policy)
        if gap is None:
            return COVERED
        if gap == UNDECIDED:
            undecided = True
        else:
            reasons.append(gap)
    if undecided:
        return UNDECIDED
    if reasons:
        return "; ".join(reasons)
    return "no DiskResourcePolicyAttachment (or resourcePolicies entry) puts it on a snapshot schedule of this stack"


def backup_violations(resources: list[PolicyResource]) -> list[tuple[str, str]]:
    """(URN, message) for every data volume without scheduled snapshots."""
    dlm = [r for r in resources if r.resource_type == DLM_POLICY]
    attachments = [r for r in resources if r.resource_type == GCP_DISK_POLICY_ATTACHMENT]
    policies = [r for r in resources if r.resource_type == GCP_RESOURCE_POLICY]
    found: list[tuple[str, str]] = []
    for resource in resources:
        if not is_data_volume(resource):
            continue
        if resource.resource_type == EBS_VOLUME:
            status = ebs_status(resource, dlm)
            noun = "EBS data volume"
        elif resource.resource_type == GCP_DISK:
            status = gcp_status(resource, attachments, policies)
            noun = "GCP data disk"
        elif resource.resource_type == DO_VOLUME:
            status = (
                "DigitalOcean has no scheduled snapshots for volumes (on-demand snapshots only, and "
                "droplet backups skip attached volumes); keep data volumes on AWS or GCP"
            )
            noun = "DigitalOcean data volume"
        else:
            continue
        if status not in (COVERED, UNDECIDED):
            found.append((resource.urn, f"{noun} {resource.name} has no scheduled snapshots: {status}."))
    return found


def _validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for urn, message in backup_violations(list(args.resources)):
        report_violation(message, urn)


DATA_VOLUME_BACKED_UP: Final = StackValidationPolicy(
    name="data-volume-backed-up",
    description=(
        "Data volumes are on a snapshot schedule of the stack: EBS volumes carry the tags of an enabled "
        "DLM policy with a retain rule, GCP disks are attached to a snapshot-schedule resource policy; "
        "DigitalOcean volumes cannot be (no scheduled volume snapshots)."
    ),
    validate=_validate,
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES: Final = (DATA_VOLUME_BACKED_UP,)
