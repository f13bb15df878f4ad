"""Scheduled EBS snapshots: one Data Lifecycle Manager policy per stack, selecting volumes by tag.

DLM snapshots every volume that carries all of the policy's target tags
(https://docs.aws.amazon.com/ebs/latest/userguide/snapshot-lifecycle.html), so ``new_volume``
only adds the tag: the volume itself is never replaced (tags update in place). The policy runs as
an IAM role that trusts ``dlm.amazonaws.com`` and has the AWS managed policy
``service-role/AWSDataLifecycleManagerServiceRole``, the permissions AWS's own default DLM role
uses (https://docs.aws.amazon.com/ebs/latest/userguide/service-role.html,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSDataLifecycleManagerServiceRole.html).

Retention is by age (``retainRule.interval`` + ``intervalUnit: DAYS``), which the installed
provider supports next to a count (https://docs.aws.amazon.com/dlm/latest/APIReference/API_RetainRule.html).
Snapshots copy the volume's tags (``copyTags``), so each one still names its volume.
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from ...config import Backups
from ..base import SnapshotSchedule

BACKUP_TAG = "rancher-stacks:backup"
DLM_SERVICE = "dlm.amazonaws.com"
DLM_MANAGED_POLICY = "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"


def backup_tag_value(project: str, stack: str) -> str:
    """The value of ``BACKUP_TAG`` that this stack's DLM policy selects."""
    return f"{project}-{stack}"


def schedule_name(backups: Backups) -> str:
    """A DLM schedule name (letters, digits, spaces, ``_``, ``-``) that says what it does."""
    at = backups.schedule.at.replace(":", "")
    return f"every {backups.schedule.every} from {at} UTC keep {backups.retain_days} days"


def new_snapshot_policy(
    name: str, backups: Backups, project: str, stack: str, opts: pulumi.ResourceOptions
) -> SnapshotSchedule:
    """The DLM role and policy (children per ``opts``); volumes join by carrying the returned tags."""
    tag_value = backup_tag_value(project, stack)
    role = aws.iam.Role(
        f"{name}-dlm-role",
        assume_role_policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": DLM_SERVICE}, "Action": "sts:AssumeRole"}
                ],
            },
            sort_keys=True,
        ),
        description=f"Data Lifecycle Manager: snapshots of the {tag_value} data volumes",
        tags={BACKUP_TAG: tag_value},
        opts=opts,
    )
    permissions = aws.iam.RolePolicyAttachment(
        f"{name}-dlm-permissions", role=role.name, policy_arn=DLM_MANAGED_POLICY, opts=opts
    )
    schedule = backups.schedule
    policy = aws.dlm.LifecyclePolicy(
        f"{name}-snapshots",
        # DLM descriptions allow letters, digits, spaces, "_" and "-" only.
        description=f"data volumes of {tag_value}",
        execution_role_arn=role.arn,
        state="ENABLED",
        policy_details=aws.dlm.LifecyclePolicyPolicyDetailsArgs(
            policy_type="EBS_SNAPSHOT_MANAGEMENT",
            resource_types=["VOLUME"],
            target_tags={BACKUP_TAG: tag_value},
            schedules=[
                aws.dlm.LifecyclePolicyPolicyDetailsScheduleArgs(
                    name=schedule_name(backups),
                    create_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleCreateRuleArgs(
                        interval=schedule.interval_hours, interval_unit="HOURS", times=schedule.at
                    ),
                    retain_rule=aws.dlm.LifecyclePolicyPolicyDetailsScheduleRetainRuleArgs(
                        interval=backups.retain_days, interval_unit="DAYS"
                    ),
                    copy_tags=True,
                )
            ],
        ),
        tags={BACKUP_TAG: tag_value},
        # The role must hold its permissions before DLM first assumes it.
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[permissions])),
    )
    return SnapshotSchedule(tags={BACKUP_TAG: tag_value}, policy=policy)
