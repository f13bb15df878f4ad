"""Scheduled persistent-disk snapshots: one snapshot-schedule resource policy per stack.

The policy lives in the stack's region (a disk takes policies of its own region only: the
attachment builds ``projects/<p>/regions/<region of the disk's zone>/resourcePolicies/<name>``,
terraform-provider-google services/compute/resource_compute_disk_resource_policy_attachment.go)
and is attached to each data disk with a ``DiskResourcePolicyAttachment``. The disk's own
``resourcePolicies`` input is left alone: the provider cannot update it in place (the SDK's
docstring points to the attachment resource instead), so setting it on an existing disk would
replace the disk and lose its data (``tools/replacements.py`` lists it as forcing a new disk).

Schedules (https://cloud.google.com/compute/docs/disks/scheduled-snapshots): a 24-hour cycle is a
``dailySchedule`` (``daysInCycle`` must be 1), a 12-hour one an ``hourlySchedule``; both start on
the hour in UTC. ``onSourceDiskDelete: KEEP_AUTO_SNAPSHOTS`` keeps the snapshots of a deleted
disk, which is when they matter most.
"""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from ...config import Backups
from ..base import SnapshotSchedule


def schedule_args(backups: Backups) -> gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs:
    """The cycle of ``backups.schedule`` as GCP expresses it."""
    schedule = backups.schedule
    if schedule.interval_hours == 24:
        return gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs(
            daily_schedule=gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleDailyScheduleArgs(
                days_in_cycle=1, start_time=schedule.at
            )
        )
    return gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleArgs(
        hourly_schedule=gcp.compute.ResourcePolicySnapshotSchedulePolicyScheduleHourlyScheduleArgs(
            hours_in_cycle=schedule.interval_hours, start_time=schedule.at
        )
    )


def new_snapshot_policy(
    name: str, backups: Backups, region: str, stack: str, opts: pulumi.ResourceOptions
) -> SnapshotSchedule:
    """The stack's snapshot-schedule resource policy (auto-named, so a replacement can be created
    before the old one is detached and deleted)."""
    policy = gcp.compute.ResourcePolicy(
        f"{name}-snapshots",
        region=region,
        description=(
            f"rancher-stacks {stack}: every {backups.schedule.every} from {backups.schedule.at} UTC, "
            f"kept {backups.retain_days} days"
        ),
        snapshot_schedule_policy=gcp.compute.ResourcePolicySnapshotSchedulePolicyArgs(
            schedule=schedule_args(backups),
            retention_policy=gcp.compute.ResourcePolicySnapshotSchedulePolicyRetentionPolicyArgs(
                max_retention_days=backups.retain_days, on_source_disk_delete="KEEP_AUTO_SNAPSHOTS"
            ),
            snapshot_properties=gcp.compute.ResourcePolicySnapshotSchedulePolicySnapshotPropertiesArgs(
                labels={"stack": stack}
            ),
        ),
        opts=opts,
    )
    return SnapshotSchedule(policy=policy, policy_name=policy.name)
