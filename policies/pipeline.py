"""Logging-system rules over the project's component resources (stack policies).

(Named pipeline.py, not logging.py: the pack's directory is on sys.path when CrossGuard runs it,
where a logging.py would shadow the standard library's.)

Components and props (keys exactly as the components register them):

* ``rancher-stacks:index:ElasticsearchCluster``: ``masters`` (host names of the master-eligible
  nodes), ``masterZones``;
* ``rancher-stacks:index:LogstashTier``: ``role`` (``collector`` or ``indexer``), ``hosts``.

``elasticsearch-master-quorum``: an odd number, at least 3, of master-eligible nodes on distinct
hosts, so that a majority survives the loss of one and two halves never both elect a master.
``logging-pipeline-redundancy``: at least 2 collectors and 2 indexers, each on distinct hosts, and
a stack that has either tier has both (a pipeline with no collectors or no indexers loses logs).
The ports of the logging system (9200, 9300, 5044, 6379, 5601) are data ports of the pack's port
table (``ports.DATA_PORTS``), so ``no-public-data-ports`` keeps them from the world.
A prop that is missing or unknown makes the check that needs it undecidable: it reports nothing.
"""

from __future__ import annotations

from typing import Any, Final

from pulumi_policy import EnforcementLevel, ReportViolation, StackValidationArgs, StackValidationPolicy

from .props import as_str, lookup
from .replicas import duplicates, host_names

ELASTICSEARCH_CLUSTER: Final = "rancher-stacks:index:ElasticsearchCluster"
LOGSTASH_TIER: Final = "rancher-stacks:index:LogstashTier"
PIPELINE_ROLES: Final = ("collector", "indexer")


def master_quorum_violations(props: Any) -> list[str]:
    masters = host_names(lookup(props, "masters"))
    if masters is None:
        return []
    messages = []
    if len(masters) < 3 or len(masters) % 2 == 0:
        messages.append(
            f"{len(masters)} master-eligible node(s); an odd number, at least 3, is needed so that a "
            "majority still elects a master after one is lost."
        )
    repeated = duplicates(masters)
    if repeated:
        messages.append(f"masters repeat {', '.join(repeated)}; master-eligible nodes must run on distinct hosts.")
    return messages


def pipeline_tier_violations(props: Any) -> list[str]:
    role = as_str(lookup(props, "role"))
    hosts = host_names(lookup(props, "hosts"))
    if role is None or hosts is None:
        return []
    distinct = {name.strip().lower() for name in hosts}
    if len(distinct) < 2:
        return [f"{len(distinct)} distinct {role} host(s); at least 2, so that one can be lost without losing logs."]
    return []


def _validate_masters(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    for resource in args.resources:
        if resource.resource_type == ELASTICSEARCH_CLUSTER:
            for message in master_quorum_violations(resource.props):
                report_violation(message, resource.urn)


def _validate_pipeline(args: StackValidationArgs, report_violation: ReportViolation) -> None:
    tiers = [r for r in args.resources if r.resource_type == LOGSTASH_TIER]
    for resource in tiers:
        for message in pipeline_tier_violations(resource.props):
            report_violation(message, resource.urn)
    if not tiers:
        return
    roles = {as_str(lookup(r.props, "role")) for r in tiers}
    if None in roles:
        return
    for missing in PIPELINE_ROLES:
        if missing not in roles:
            report_violation(
                f"the logging pipeline has no {missing}s; it needs at least 2 collectors and 2 indexers.", tiers[0].urn
            )


ELASTICSEARCH_MASTER_QUORUM: Final = StackValidationPolicy(
    name="elasticsearch-master-quorum",
    description="Elasticsearch clusters have an odd number (at least 3) of master-eligible nodes on distinct hosts.",
    validate=_validate_masters,
    enforcement_level=EnforcementLevel.MANDATORY,
)

LOGGING_PIPELINE_REDUNDANCY: Final = StackValidationPolicy(
    name="logging-pipeline-redundancy",
    description="The logging pipeline has at least 2 collectors and 2 indexers, each tier on distinct hosts.",
    validate=_validate_pipeline,
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES: Final = (ELASTICSEARCH_MASTER_QUORUM, LOGGING_PIPELINE_REDUNDANCY)
