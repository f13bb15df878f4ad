"""Rebuild ``checkov_cases.json`` (and ``checkov_cases.md``) from a checkout of checkov's fixtures.

This is a maintainer script, not a test. ``test_checkov_agreement.py`` reads only the JSON table it
writes, so neither the checkov fixtures nor an HCL parser are needed to run the test suite.

Usage::

    python tests/policies/regenerate_checkov_cases.py /path/to/shared/peers/checkov

The directory must hold ``index.json`` and ``INDEX.md`` (the curated list of checkov checks, their
fixture files and checkov's expected PASS/FAIL addresses) and the Terraform fixtures they name.
Every expected address of a check in :data:`CHECKS` becomes one case: its Terraform body is parsed
with python-hcl2 (``pip install python-hcl2``) and translated into the camelCase props of the
matching Pulumi resource, which is what the policy pack reads at preview time.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import hcl2
from hcl2.utils import SerializationOptions

HERE: Final = Path(__file__).resolve().parent
CASES_JSON: Final = "checkov_cases.json"
CASES_MD: Final = "checkov_cases.md"


@dataclass(frozen=True)
class Question:
    """What the agreement test asks our helpers for one checkov check."""

    summary: str
    port: int | None = None
    protocol: str | None = None


def _port_question(port: int, label: str) -> Question:
    return Question(f"is tcp/{port} ({label}) reachable from the world? (`exposes_to_world`)", port, "tcp")


CHECKS: Final[Mapping[str, Question]] = {
    "CKV_AWS_24": _port_question(22, "SSH"),
    "CKV_AWS_25": _port_question(3389, "RDP"),
    "CKV_AWS_260": _port_question(80, "HTTP"),
    "CKV_AWS_277": Question("does a world-reachable rule admit every port or protocol? (`opens_all_ports_to_world`)"),
    "CKV_AWS_3": Question("does `evaluate` report `ebs-volume-encrypted` for the volume?"),
    "CKV_GCP_2": _port_question(22, "SSH"),
    "CKV_GCP_3": _port_question(3389, "RDP"),
    "CKV_GCP_88": _port_question(3306, "MySQL"),
    "CKV_GCP_106": _port_question(80, "HTTP"),
    "CKV_DIO_4": Question("is any port reachable from the world? (`world_exposures` is non-empty)"),
}
"""The checks the table covers, in the order the Markdown lists them."""

PULUMI_TYPES: Final[Mapping[str, str]] = {
    "aws_security_group": "aws:ec2/securityGroup:SecurityGroup",
    "aws_security_group_rule": "aws:ec2/securityGroupRule:SecurityGroupRule",
    "aws_vpc_security_group_ingress_rule": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
    "google_compute_firewall": "gcp:compute/firewall:Firewall",
    "digitalocean_firewall": "digitalocean:index/firewall:Firewall",
    "aws_ebs_volume": "aws:ebs/volume:Volume",
}
"""Terraform resource type -> Pulumi type token; resources of other types are not read."""

TOP_LEVEL_RENAMES: Final[Mapping[str, Mapping[str, str]]] = {
    # Terraform's singular block names are plural lists in the Pulumi providers.
    "google_compute_firewall": {"allow": "allows", "deny": "denies"},
    "digitalocean_firewall": {"inbound_rule": "inboundRules", "outbound_rule": "outboundRules"},
    # One CKV_AWS_260 fixture gives this resource the security-group attribute ``prefix_list_ids``,
    # which it does not have (Terraform would reject it); its single prefix-list input is meant.
    "aws_vpc_security_group_ingress_rule": {"prefix_list_ids": "prefixListId"},
}
"""Top-level attribute renames that plain snake_case -> camelCase does not cover."""

HCL_OPTIONS: Final = SerializationOptions(with_comments=False, strip_string_quotes=True, preserve_heredocs=False)
LOCAL_REFERENCE: Final = re.compile(r"^\$\{local\.([A-Za-z0-9_]+)\}$")
EACH_VALUE_REFERENCE: Final = re.compile(r"^\$\{each\.value\.([A-Za-z0-9_]+)\}$")


# --- Terraform body -> Pulumi props ----------------------------------------------------------


def to_camel(snake: str) -> str:
    """``source_security_group_id`` -> ``sourceSecurityGroupId``."""
    first, *others = snake.split("_")
    return first + "".join(word[:1].upper() + word[1:] for word in others)


def is_metadata(key: str) -> bool:
    """python-hcl2 adds ``__start_line__``-style keys; they are not attributes."""
    return key.startswith("__")


def to_engine_value(value: Any) -> Any:
    """One HCL value as the engine would hold it: nested keys camelCased, "true"/"True" a bool."""
    if isinstance(value, dict):
        return {to_camel(key): to_engine_value(item) for key, item in value.items() if not is_metadata(key)}
    if isinstance(value, list):
        return [to_engine_value(item) for item in value]
    if isinstance(value, str) and value.lower() in {"true", "false"}:
        return value.lower() == "true"
    return value


def to_engine_props(tf_type: str, body: Mapping[str, Any]) -> dict[str, Any]:
    """A resource body as the props of the matching Pulumi resource (``for_each`` dropped)."""
    renames = TOP_LEVEL_RENAMES.get(tf_type, {})
    props: dict[str, Any] = {}
    for key, value in body.items():
        if is_metadata(key) or key == "for_each":
            continue
        props[renames.get(key, to_camel(key))] = to_engine_value(value)
    return props


def bind_each_value(value: Any, element: Mapping[str, Any]) -> Any:
    """Resolve every whole-string ``${each.value.X}`` in ``value`` against one for_each element."""
    if isinstance(value, dict):
        return {key: bind_each_value(item, element) for key, item in value.items()}
    if isinstance(value, list):
        return [bind_each_value(item, element) for item in value]
    if isinstance(value, str):
        reference = EACH_VALUE_REFERENCE.match(value)
        if reference is not None:
            return element.get(reference.group(1), value)
    return value


def instances(name: str, body: Mapping[str, Any], local_values: Mapping[str, Any]) -> Iterator[tuple[str, Any]]:
    """``(address name, body)`` for a resource, or for each instance of a ``for_each = local.X``."""
    source = body.get("for_each")
    reference = LOCAL_REFERENCE.match(source) if isinstance(source, str) else None
    if reference is None:
        yield name, body
        return
    for key, element in local_values[reference.group(1)].items():
        yield f'{name}["{key}"]', bind_each_value(body, element)


@dataclass(frozen=True)
class Resource:
    """One Terraform resource instance of a mapped type, already translated."""

    fixture: str
    pulumi_type: str
    props: dict[str, Any]


def read_fixture(checkov_dir: Path, path: Path) -> dict[str, Resource]:
    """``{"tf_type.name": Resource}`` for the mapped resources declared in one .tf file."""
    with path.open() as handle:
        document = hcl2.load(handle, serialization_options=HCL_OPTIONS)
    local_values: dict[str, Any] = {}
    for block in document.get("locals", []):
        local_values.update(block)
    relative = path.relative_to(checkov_dir).as_posix()
    found: dict[str, Resource] = {}
    for block in document.get("resource", []):
        for tf_type, by_name in block.items():
            pulumi_type = PULUMI_TYPES.get(tf_type)
            if pulumi_type is None:
                continue
            for name, body in by_name.items():
                for address_name, resolved in instances(name, body, local_values):
                    props = to_engine_props(tf_type, resolved)
                    found[f"{tf_type}.{address_name}"] = Resource(relative, pulumi_type, props)
    return found


# --- the index -------------------------------------------------------------------------------


def terraform_entries(checkov_dir: Path) -> list[dict[str, Any]]:
    """The index entries with Terraform PASS/FAIL address lists for the checks in :data:`CHECKS`."""
    entries = json.loads((checkov_dir / "index.json").read_text())
    return [entry for entry in entries if "expected_pass" in entry and entry["check_id"] in CHECKS]


def fixture_files(checkov_dir: Path, entry: Mapping[str, Any]) -> list[Path]:
    """The entry's listed fixture files, else every .tf file of its fixture directory."""
    listed = entry.get("fixture_files")
    if listed:
        return [checkov_dir / name for name in listed]
    return sorted((checkov_dir / entry["fixture_dir"]).glob("*.tf"))


def source_commit(checkov_dir: Path) -> str:
    """The checkov commit named on the first line of INDEX.md (``... @ <commit>, <date>)``)."""
    first_line = (checkov_dir / "INDEX.md").read_text().splitlines()[0]
    found = re.search(r"@\s*([0-9a-f]{7,40})\b(?:,\s*([0-9-]+))?", first_line)
    if found is None:
        raise SystemExit(f"no commit found on the first line of INDEX.md: {first_line!r}")
    commit, date = found.group(1), found.group(2)
    # SOURCE.txt, when present, spells the same commit in full.
    source = checkov_dir / "SOURCE.txt"
    if source.is_file():
        full = re.search(rf"\b({commit}[0-9a-f]*)\b", source.read_text())
        if full is not None:
            commit = full.group(1)
    return commit if date is None else f"{commit} ({date})"


def build_cases(checkov_dir: Path) -> tuple[list[dict[str, Any]], list[str]]:
    """Every (check, expected address) as a case dictionary, and the fixtures that are not upstream."""
    cases: list[dict[str, Any]] = []
    derived: list[str] = []
    seen: set[tuple[str, str]] = set()
    for entry in terraform_entries(checkov_dir):
        check = entry["check_id"]
        if entry.get("derived"):
            derived.append(f"{check}'s fixture (`{entry['fixture_dir']}`)")
        resources: dict[str, Resource] = {}
        for path in fixture_files(checkov_dir, entry):
            resources.update(read_fixture(checkov_dir, path))
        question = CHECKS[check]
        verdicts = [(address, "PASS") for address in entry["expected_pass"]]
        verdicts += [(address, "FAIL") for address in entry["expected_fail"]]
        for address, verdict in verdicts:
            if address not in resources:
                raise SystemExit(f"{check}: {address} is not declared in {entry['fixture_dir']}")
            if (check, address) in seen:
                raise SystemExit(f"{check}: {address} is listed twice in index.json")
            seen.add((check, address))
            resource = resources[address]
            case: dict[str, Any] = {
                "check": check,
                "fixture": resource.fixture,
                "resource": address,
                "type": resource.pulumi_type,
                "props": resource.props,
                "checkov": verdict,
            }
            if question.port is not None:
                case["port"] = question.port
                case["protocol"] = question.protocol
            cases.append(case)
    missing = set(CHECKS) - {case["check"] for case in cases}
    if missing:
        raise SystemExit(f"index.json has no Terraform cases for {sorted(missing)}")
    cases.sort(key=lambda case: (case["check"], case["resource"]))
    return cases, derived


# --- output ----------------------------------------------------------------------------------


def provenance(commit: str, cases: list[dict[str, Any]], derived: list[str]) -> str:
    """The Markdown that travels with the JSON: where the cases come from and what is asked."""
    counts: dict[str, int] = {}
    for case in cases:
        counts[case["check"]] = counts.get(case["check"], 0) + 1
    lines = [
        "# checkov agreement cases",
        "",
        f"`{CASES_JSON}` holds one case per (checkov check, Terraform resource): the resource's",
        "Pulumi type and engine (camelCase) props, and checkov's expected verdict (`PASS`/`FAIL`).",
        "`test_checkov_agreement.py` asks our shipped helpers the same question and measures agreement.",
        "",
        "- Source: checkov's Terraform check fixtures and the expected PASS/FAIL address sets of their",
        f"  tests, github.com/bridgecrewio/checkov at commit {commit}.",
        "- Licence of the source: Apache-2.0.",
        "- Regenerate (needs python-hcl2) from a copy of the fixtures with `index.json` and `INDEX.md`:",
        "  `python tests/policies/regenerate_checkov_cases.py /path/to/shared/peers/checkov`",
        "  Do not edit the JSON by hand; change the mapping in the script and regenerate.",
    ]
    for note in derived:
        lines.append(f"- {note} is not an upstream file: it restates as HCL the cases its upstream test builds inline.")
    lines += ["", "## Questions asked", ""]
    for check, question in CHECKS.items():
        lines.append(f"- {check} ({counts.get(check, 0)} cases): {question.summary}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkov_dir", type=Path, help="directory holding index.json, INDEX.md and the fixtures")
    parser.add_argument("--out", type=Path, default=HERE, help="where to write the JSON and Markdown")
    args = parser.parse_args(argv)
    checkov_dir: Path = args.checkov_dir.resolve()
    if not (checkov_dir / "index.json").is_file():
        parser.error(f"{checkov_dir} has no index.json")
    cases, derived = build_cases(checkov_dir)
    commit = source_commit(checkov_dir)
    out: Path = args.out
    (out / CASES_JSON).write_text(json.dumps(cases, indent=1, sort_keys=True) + "\n")
    (out / CASES_MD).write_text(provenance(commit, cases, derived))
    print(f"wrote {len(cases)} cases for {len(CHECKS)} checks to {out / CASES_JSON}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
