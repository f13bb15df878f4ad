"""Agreement between the pack's port/encryption logic and checkov's own expected verdicts.

Why a table: the cases used to be parsed at test time from checkov's Terraform fixtures in a
checkout outside this repository, which a clone of the project does not have. ``checkov_cases.json``
(next to this file) is the project's own copy of those cases, already translated to the Pulumi
type and engine (camelCase) props our policies read, with checkov's expected ``PASS``/``FAIL``. So
this test needs neither checkov nor an HCL parser, and always runs. Provenance and the question
asked per check are in ``checkov_cases.md``; ``regenerate_checkov_cases.py`` rebuilds both.

Each case is asked its check's single question through the *shipped* helpers: ``exposes_to_world``
for one tcp port, ``opens_all_ports_to_world`` for CKV_AWS_277, ``world_exposures`` for CKV_DIO_4
and ``evaluate`` itself for EBS encryption. Where we disagree with checkov on purpose the reason is
recorded in ``KNOWN_DISAGREEMENTS``; every measured disagreement is printed.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import pytest

from rancher_stacks.policies import evaluate
from rancher_stacks.policies.ports import exposes_to_world, opens_all_ports_to_world, world_exposures

CASES_FILE: Final = Path(__file__).with_name("checkov_cases.json")
MIN_AGREEMENT: Final = 0.95
MIN_CASES: Final = 80
VERDICTS: Final = frozenset({"PASS", "FAIL"})

PORT_CHECKS: Final[Mapping[str, int]] = {
    "CKV_AWS_24": 22,
    "CKV_AWS_25": 3389,
    "CKV_AWS_260": 80,
    "CKV_GCP_2": 22,
    "CKV_GCP_3": 3389,
    "CKV_GCP_88": 3306,
    "CKV_GCP_106": 80,
}
"""Checks that ask "is this tcp port reachable from the world?", with the port."""

Question = Callable[[str, dict[str, Any]], bool]


def _tcp_port(port: int) -> Question:
    return lambda kind, props: exposes_to_world(kind, props, port, "tcp")


def _ebs_unencrypted(kind: str, props: dict[str, Any]) -> bool:
    return "ebs-volume-encrypted" in policies_reported(kind, "subject", props)


def _any_world_exposure(kind: str, props: dict[str, Any]) -> bool:
    return bool(world_exposures(kind, props))


QUESTIONS: Final[Mapping[str, Question]] = {
    **{check: _tcp_port(port) for check, port in PORT_CHECKS.items()},
    "CKV_AWS_277": opens_all_ports_to_world,
    "CKV_AWS_3": _ebs_unencrypted,
    "CKV_DIO_4": _any_world_exposure,
}
"""check id -> our answer to "does this resource fail the check?"."""

_TCP_ZERO: Final = (
    "tcp from_port=0/to_port=0 is port 0 only in EC2 (hashicorp/terraform-provider-aws#27525, #4178); "
    "checkov reads it as all ports. Our public-ports-allowlist still flags port 0 open to the world."
)
KNOWN_DISAGREEMENTS: Final[Mapping[tuple[str, str], str]] = {
    ("CKV_AWS_24", "aws_security_group.fail2"): _TCP_ZERO,
    ("CKV_AWS_260", "aws_security_group.fail2"): _TCP_ZERO,
    ("CKV_AWS_24", "aws_security_group.pass_self2"): (
        "protocol -1 from 0.0.0.0/0 with self=true: self adds the group as a source, it does not "
        "remove 0.0.0.0/0, so SSH is open to the world; checkov passes any rule with self=true."
    ),
    ("CKV_GCP_106", "google_compute_firewall.allow_null"): (
        "source_ranges = null with no source tags or service accounts: GCP then applies the "
        "default source 0.0.0.0/0 (hashicorp/terraform-provider-google#6789), so port 80 is open "
        "to the world; checkov only looks for a literal 0.0.0.0/0."
    ),
}
"""(check, resource) -> why our verdict differs from checkov's, for every case where it does."""

PACK_POLICY_FOR: Final[Mapping[str, str]] = {
    "CKV_AWS_24": "no-public-admin-ports",
    "CKV_AWS_25": "no-public-admin-ports",
    "CKV_GCP_2": "no-public-admin-ports",
    "CKV_GCP_3": "no-public-admin-ports",
    "CKV_GCP_88": "no-public-data-ports",
    "CKV_AWS_277": "no-public-all-traffic",
}
"""The pack policy that must report what the helper finds for these checks."""


def policies_reported(kind: str, name: str, props: Mapping[str, Any]) -> set[str]:
    """The names of the pack policies ``evaluate`` reports for one resource."""
    found = evaluate([{"type": kind, "name": name, "props": copy.deepcopy(dict(props))}])
    return {violation["policy"] for violation in found}


@dataclass(frozen=True)
class CheckovCase:
    """One row of ``checkov_cases.json``: a resource and checkov's expected verdict for a check."""

    check: str
    fixture: str
    resource: str
    type: str
    props: dict[str, Any]
    checkov: str
    port: int | None = None
    protocol: str | None = None

    @property
    def key(self) -> tuple[str, str]:
        return (self.check, self.resource)


@dataclass(frozen=True)
class Outcome:
    """A case with our answer to its check's question."""

    case: CheckovCase
    ours_fail: bool

    @property
    def checkov_fail(self) -> bool:
        return self.case.checkov == "FAIL"

    @property
    def agrees(self) -> bool:
        return self.checkov_fail == self.ours_fail


@dataclass(frozen=True)
class Disagreement:
    check: str
    resource: str
    checkov: str
    ours: str
    reason: str


@dataclass(frozen=True)
class Measurement:
    outcomes: list[Outcome]
    disagreements: list[Disagreement]

    @property
    def agreement(self) -> float:
        return 1 - len(self.disagreements) / len(self.outcomes)


def load_cases() -> list[CheckovCase]:
    """Every case of the table, as stored."""
    rows: list[dict[str, Any]] = json.loads(CASES_FILE.read_text())
    return [CheckovCase(**row) for row in rows]


def measure(cases: list[CheckovCase]) -> Measurement:
    """Ask our question of every case and collect where we and checkov differ."""
    outcomes = [Outcome(case, QUESTIONS[case.check](case.type, copy.deepcopy(case.props))) for case in cases]
    disagreements = [
        Disagreement(
            check=outcome.case.check,
            resource=outcome.case.resource,
            checkov=outcome.case.checkov,
            ours="FAIL" if outcome.ours_fail else "PASS",
            reason=KNOWN_DISAGREEMENTS.get(outcome.case.key, "UNEXPLAINED"),
        )
        for outcome in outcomes
        if not outcome.agrees
    ]
    return Measurement(outcomes, disagreements)


@pytest.fixture(scope="module")
def cases() -> list[CheckovCase]:
    return load_cases()


@pytest.fixture(scope="module")
def measured(cases: list[CheckovCase]) -> Measurement:
    result = measure(cases)
    total = len(result.outcomes)
    agreed = total - len(result.disagreements)
    print(f"\ncheckov agreement: {agreed}/{total} = {agreed / total:.1%}")
    for item in result.disagreements:
        print(f"  {item.check} {item.resource}: checkov {item.checkov}, ours {item.ours} - {item.reason}")
    return result


# --- the table itself ------------------------------------------------------------------------


def test_each_case_appears_once_with_a_pass_or_fail_verdict(cases: list[CheckovCase]) -> None:
    repeated = [key for key, count in Counter(case.key for case in cases).items() if count > 1]
    assert not repeated
    assert {case.checkov for case in cases} <= VERDICTS
    assert all(case.check in QUESTIONS for case in cases)


def test_port_cases_record_the_question_this_test_asks(cases: list[CheckovCase]) -> None:
    for case in cases:
        expected = (PORT_CHECKS[case.check], "tcp") if case.check in PORT_CHECKS else (None, None)
        assert (case.port, case.protocol) == expected, case.key


# --- agreement -------------------------------------------------------------------------------


def test_every_requested_check_is_measured(measured: Measurement) -> None:
    assert {outcome.case.check for outcome in measured.outcomes} == set(QUESTIONS)
    assert len(measured.outcomes) >= MIN_CASES


def test_agreement_with_checkov_is_at_least_95_percent(measured: Measurement) -> None:
    assert measured.agreement >= MIN_AGREEMENT, f"agreement {measured.agreement:.1%}: {measured.disagreements}"


def test_every_disagreement_is_a_known_checkov_quirk(measured: Measurement) -> None:
    unexplained = [d for d in measured.disagreements if d.reason == "UNEXPLAINED"]
    assert not unexplained
    found = {(d.check, d.resource) for d in measured.disagreements}
    assert found == set(KNOWN_DISAGREEMENTS), "KNOWN_DISAGREEMENTS lists a case that now agrees"


def test_pack_flags_what_the_helper_finds(measured: Measurement) -> None:
    """Where the helper says an admin or data port is world-open, evaluate() reports it too."""
    checked = 0
    for outcome in measured.outcomes:
        case = outcome.case
        if case.check not in PACK_POLICY_FOR or not outcome.ours_fail:
            continue
        assert PACK_POLICY_FOR[case.check] in policies_reported(case.type, case.resource, case.props), case.key
        checked += 1
    assert checked >= 15


def test_tcp_zero_rules_checkov_fails_are_still_caught_by_the_pack(cases: list[CheckovCase]) -> None:
    """We answer "is 22/80 open?" with no for tcp 0-0, yet the pack still rejects the group."""
    by_key = {case.key: case for case in cases}
    for check in ("CKV_AWS_24", "CKV_AWS_260"):
        case = by_key[(check, "aws_security_group.fail2")]
        found = evaluate([{"type": case.type, "name": "fail2", "props": copy.deepcopy(case.props)}])
        assert {v["policy"] for v in found} == {"public-ports-allowlist"}
        assert "port(s) 0;" in found[0]["message"]
