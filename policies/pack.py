"""The pack's identity and the ordered list of every policy it registers."""

from __future__ import annotations

from typing import Final

from pulumi_policy import EnforcementLevel, Policy

from . import backups, ci, clusters, containers, pipeline, ports, replicas, security

PACK_NAME: Final = "rancher-stacks-policies"
PACK_ENFORCEMENT_LEVEL: Final = EnforcementLevel.MANDATORY
"""Level for any policy that does not set its own (every policy here does)."""

ALL_POLICIES: Final[list[Policy]] = [
    *ports.POLICIES, *security.POLICIES, *containers.POLICIES, *replicas.POLICIES, *backups.POLICIES,
    *clusters.POLICIES,
    *pipeline.POLICIES,
    *ci.POLICIES,
]
