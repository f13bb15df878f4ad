"""elasticsearch-master-quorum and logging-pipeline-redundancy, each with resource sets that pass
and that fail; and the logging ports are data ports the pack keeps from the world."""

from __future__ import annotations

from typing import Any

import pytest
from policy_helpers import policy_names, res, rule, run, sg

ES = "rancher-stacks:index:ElasticsearchCluster"
TIER = "rancher-stacks:index:LogstashTier"


def component(kind: str, name: str = "c", **props: Any) -> dict[str, Any]:
    return res(kind, name, props, custom=False)


def pipeline(collectors: list[str], indexers: list[str]) -> list[dict[str, Any]]:
    return [
        component(TIER, "collectors", role="collector", hosts=collectors),
        component(TIER, "indexers", role="indexer", hosts=indexers),
    ]


@pytest.mark.parametrize(
    ("masters", "flagged"),
    [
        (["m0", "m1", "m2"], False),
        (["m0", "m1", "m2", "m3", "m4"], False),
        (["m0"], True),
        (["m0", "m1"], True),
        (["m0", "m1", "m2", "m3"], True),
        (["m0", "m1", "M0"], True),  # the same host twice
    ],
)
def test_elasticsearch_master_quorum(masters: list[str], flagged: bool) -> None:
    found = policy_names(run([component(ES, masters=masters)]))
    assert ("elasticsearch-master-quorum" in found) is flagged


def test_master_quorum_is_undecidable_without_the_masters() -> None:
    assert "elasticsearch-master-quorum" not in policy_names(run([component(ES, clusterName="logs")]))


@pytest.mark.parametrize(
    ("resources", "flagged"),
    [
        (pipeline(["c0", "c1"], ["i0", "i1"]), False),
        (pipeline(["c0", "c1", "c2"], ["i0", "i1"]), False),
        (pipeline(["c0"], ["i0", "i1"]), True),
        (pipeline(["c0", "c1"], ["i0", "i0"]), True),
        (pipeline(["c0", "c1"], ["i0", "i1"])[:1], True),  # collectors but no indexers
    ],
)
def test_logging_pipeline_redundancy(resources: list[dict[str, Any]], flagged: bool) -> None:
    assert ("logging-pipeline-redundancy" in policy_names(run(resources))) is flagged


def test_a_stack_without_a_pipeline_is_not_judged() -> None:
    assert "logging-pipeline-redundancy" not in policy_names(run([component(ES, masters=["a", "b", "c"])]))


@pytest.mark.parametrize("port", [9200, 9300, 5044, 6379, 5601])
def test_logging_ports_open_to_the_world_fail_and_to_a_peer_pass(port: int) -> None:
    assert "no-public-data-ports" in policy_names(run([sg(rule("tcp", port, port, "0.0.0.0/0"))]))
    assert "no-public-data-ports" not in policy_names(run([sg(rule("tcp", port, port, "10.0.0.0/16"))]))
