"""Agreement between the pack's port/encryption logic and checkov's own expected verdicts.

The fixtures are checkov's Terraform test files (``../shared/peers/checkov``, see its INDEX.md).
Each resource is parsed with python-hcl2, mapped to the engine (camelCase) props our policies read,
and asked the check's single question through the *shipped* helpers: ``exposes_to_world`` for one
port, ``opens_all_ports_to_world`` for CKV_AWS_277, ``world_exposures`` for CKV_DIO_4 and
``evaluate`` itself for EBS encryption. Where we disagree with checkov the reason is recorded in
``KNOWN_DISAGREEMENTS``; every measured disagreement lands in ``DISAGREEMENTS`` and is printed.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2.utils import SerializationOptions

import policies
from policies.ports import exposes_to_world, opens_all_ports_to_world, world_exposures

CHECKOV_DIR = Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "checkov"
MIN_AGREEMENT = 0.95

TYPE_MAP: Mapping[str, str] = {
    "aws_security_group": "aws:ec2/securityGroup:SecurityGroup",
    "aws_security_group_rule": "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws_vpc_security_group_ingress_rule": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "google_compute_firewall": "gcp:compute/firewall:Firewall",
    "digitalocean_firewall": "digitalocean:index/firewall:Firewall",
    "aws_ebs_volume": "aws:ebs/volume:Volume",
}
RENAMES: Mapping[str, Mapping[str, str]] = {
    "google_compute_firewall": {"allow": "allows", "deny": "denies"},
    "digitalocean_firewall": {"inbound_rule": "inboundRules", "outbound_rule": "outboundRules"},
    # CKV_AWS_260's pass_prefix_list writes the security-group spelling ``prefix_list_ids``, which
    # this resource does not have (Terraform rejects it); its one prefix-list input is meant.
    "aws_vpc_security_group_ingress_rule": {"prefix_list_ids": "prefixListId"},
}

Question = Callable[[str, dict[str, Any]], bool]


def _port(port: int) -> Question:
    return lambda kind, props: exposes_to_world(kind, props, port, "tcp")


def _ebs_unencrypted(kind: str, props: dict[str, Any]) -> bool:
    found = policies.evaluate([{"type": kind, "name": "subject", "props": props}])
    return any(v["policy"] == "ebs-volume-encrypted" for v in found)


QUESTIONS: Mapping[str, Question] = {
    "CKV_AWS_24": _port(22),
    "CKV_AWS_25": _port(3389),
    "CKV_AWS_260": _port(80),
    "CKV_AWS_277": opens_all_ports_to_world,
    "CKV_AWS_3": _ebs_unencrypted,
    "CKV_GCP_2": _port(22),
    "CKV_GCP_3": _port(3389),
    "CKV_GCP_88": _port(3306),
    "CKV_GCP_106": _port(80),
    "CKV_DIO_4": lambda kind, props: bool(world_exposures(kind, props)),
}

_TCP_ZERO = (
    "tcp from_port=0/to_port=0 is port 0 only in EC2 (hashicorp/terraform-provider-aws#27525, #4178); "
    "checkov reads it as all ports. Our public-ports-allowlist still flags port 0 open to the world."
)
KNOWN_DISAGREEMENTS: Mapping[tuple[str, str], str] = {
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

DISAGREEMENTS: list[dict[str, str]] = []
"""Every disagreement measured by the last run: check, resource, checkov, ours, reason."""


@dataclass(frozen=True)
class Case:
    """One fixture resource with checkov's expected verdict and ours."""

    check: str
    address: str
    expected_fail: bool
    ours_fail: bool


# --- HCL to engine props ---------------------------------------------------------------------

_OPTIONS = SerializationOptions(with_comments=False, strip_string_quotes=True, preserve_heredocs=False)
_EACH_VALUE = re.compile(r"^\$\{each\.value\.([A-Za-z0-9_]+)\}$")


def camel(name: str) -> str:
    """``ipv6_cidr_blocks`` -> ``ipv6CidrBlocks``."""
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def hcl_value(value: Any) -> Any:
    """HCL literal to engine value: capitalised booleans (as in the fixtures) become bools."""
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    if isinstance(value, list):
        return [hcl_value(item) for item in value]
    if isinstance(value, dict):
        return {camel(k): hcl_value(v) for k, v in value.items() if not k.startswith("__")}
    return value


def engine_props(tf_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """Map one resource body to the props of the matching Pulumi resource."""
    renames = RENAMES.get(tf_type, {})
    return {
        renames.get(key, camel(key)): hcl_value(value)
        for key, value in body.items()
        if not key.startswith("__") and key != "for_each"
    }


def _substitute(value: Any, item: Mapping[str, Any]) -> Any:
    """Replace ``${each.value.X}`` references with the for_each element's values."""
    if isinstance(value, str):
        match = _EACH_VALUE.match(value)
        return item.get(match.group(1), value) if match else value
    if isinstance(value, list):
        return [_substitute(v, item) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, item) for k, v in value.items()}
    return value


def expand(name: str, body: Mapping[str, Any], local_values: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """A resource, or its ``for_each`` instances over a ``local.X`` map, as (name, body)."""
    source = body.get("for_each")
    match = re.match(r"^\$\{local\.([A-Za-z0-9_]+)\}$", source) if isinstance(source, str) else None
    if match is None:
        yield name, body
        return
    for key, item in local_values[match.group(1)].items():
        yield f'{name}["{key}"]', _substitute(body, item)


def fixture_resources(paths: list[Path]) -> dict[str, tuple[str, dict[str, Any]]]:
    """``{"tf_type.name": (pulumi type, props)}`` for the mapped resources of some .tf files."""
    found: dict[str, tuple[str, dict[str, Any]]] = {}
    for path in paths:
        with path.open() as handle:
            document = hcl2.load(handle, serialization_options=_OPTIONS)
        local_values: dict[str, Any] = {}
        for block in document.get("locals", []):
            local_values.update(block)
        for block in document.get("resource", []):
            for tf_type, named in block.items():
                if tf_type not in TYPE_MAP:
                    continue
                for name, body in named.items():
                    for instance, resolved in expand(name, body, local_values):
                        found[f"{tf_type}.{instance}"] = (TYPE_MAP[tf_type], engine_props(tf_type, resolved))
    return found


# --- the comparison --------------------------------------------------------------------------


def checkov_index() -> list[dict[str, Any]]:
    """The Terraform entries of checkov's index (those with expected PASS/FAIL lists)."""
    if not CHECKOV_DIR.is_dir():
        pytest.fail(
            f"checkov fixtures not found at {CHECKOV_DIR}; the agreement test needs ../shared/peers/checkov "
            "next to the repository root (it is never skipped)."
        )
    entries = json.loads((CHECKOV_DIR / "index.json").read_text())
    return [e for e in entries if "expected_pass" in e and e["check_id"] in QUESTIONS]


def fixture_paths(entry: Mapping[str, Any]) -> list[Path]:
    listed = entry.get("fixture_files")
    if listed:
        return [CHECKOV_DIR / path for path in listed]
    return sorted((CHECKOV_DIR / entry["fixture_dir"]).glob("*.tf"))


def measure() -> list[Case]:
    """Ask our question of every resource checkov has a verdict for."""
    cases = []
    for entry in checkov_index():
        resources = fixture_resources(fixture_paths(entry))
        question = QUESTIONS[entry["check_id"]]
        expected = [(a, False) for a in entry["expected_pass"]] + [(a, True) for a in entry["expected_fail"]]
        for address, fails in expected:
            assert address in resources, f"{entry['check_id']}: {address} not found in the fixture"
            kind, props = resources[address]
            cases.append(Case(entry["check_id"], address, fails, question(kind, props)))
    return cases


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    measured = measure()
    DISAGREEMENTS.clear()
    for case in measured:
        if case.expected_fail != case.ours_fail:
            DISAGREEMENTS.append(
                {
                    "check": case.check,
                    "resource": case.address,
                    "checkov": "FAIL" if case.expected_fail else "PASS",
                    "ours": "FAIL" if case.ours_fail else "PASS",
                    "reason": KNOWN_DISAGREEMENTS.get((case.check, case.address), "UNEXPLAINED"),
                }
            )
    agreed = len(measured) - len(DISAGREEMENTS)
    print(f"\ncheckov agreement: {agreed}/{len(measured)} = {agreed / len(measured):.1%}")
    for item in DISAGREEMENTS:
        print(
            f"  {item['check']} {item['resource']}: checkov {item['checkov']}, ours {item['ours']}"
            f" - {item['reason']}"
        )
    return measured


def test_every_requested_check_is_measured(cases: list[Case]) -> None:
    assert {case.check for case in cases} == set(QUESTIONS)
    assert len(cases) >= 80


def test_agreement_with_checkov_is_at_least_95_percent(cases: list[Case]) -> None:
    agreement = 1 - len(DISAGREEMENTS) / len(cases)
    assert agreement >= MIN_AGREEMENT, f"agreement {agreement:.1%}: {DISAGREEMENTS}"


def test_every_disagreement_is_a_known_checkov_quirk(cases: list[Case]) -> None:
    unexplained = [d for d in DISAGREEMENTS if d["reason"] == "UNEXPLAINED"]
    assert not unexplained
    measured = {(d["check"], d["resource"]) for d in DISAGREEMENTS}
    assert measured == set(KNOWN_DISAGREEMENTS), "KNOWN_DISAGREEMENTS lists a case that now agrees"


def test_pack_flags_what_the_helper_finds(cases: list[Case]) -> None:
    """Where the helper says an admin or data port is world-open, evaluate() reports it too."""
    policy_for = {
        "CKV_AWS_24": "no-public-admin-ports",
        "CKV_AWS_25": "no-public-admin-ports",
        "CKV_GCP_2": "no-public-admin-ports",
        "CKV_GCP_3": "no-public-admin-ports",
        "CKV_GCP_88": "no-public-data-ports",
        "CKV_AWS_277": "no-public-all-traffic",
    }
    checked = 0
    for entry in checkov_index():
        if entry["check_id"] not in policy_for:
            continue
        resources = fixture_resources(fixture_paths(entry))
        for case in (c for c in cases if c.check == entry["check_id"] and c.ours_fail):
            kind, props = resources[case.address]
            found = policies.evaluate([{"type": kind, "name": case.address, "props": props}])
            assert policy_for[case.check] in {v["policy"] for v in found}, case
            checked += 1
    assert checked >= 15


def test_tcp_zero_rules_checkov_fails_are_still_caught_by_the_pack(cases: list[Case]) -> None:
    """We answer "is 22/80 open?" with no for tcp 0-0, yet the pack still rejects the group."""
    for check in ("CKV_AWS_24", "CKV_AWS_260"):
        entry = next(e for e in checkov_index() if e["check_id"] == check)
        kind, props = fixture_resources(fixture_paths(entry))["aws_security_group.fail2"]
        found = policies.evaluate([{"type": kind, "name": "fail2", "props": props}])
        assert {v["policy"] for v in found} == {"public-ports-allowlist"}
        assert "port(s) 0;" in found[0]["message"]
