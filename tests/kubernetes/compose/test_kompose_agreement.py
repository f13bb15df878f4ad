"""The kompose agreement figure, computed on kompose's own fixtures: a regression guard.

The figures below are what the translator reached when this guard was written (the rows and the
reasons are in the compose report); the test recomputes them and fails if either drops.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from root_tools import require_peer_fixtures

from tools.kompose_agreement import DEFAULT_FIXTURES, main, run

# 35 of the 40 active pairs equal; 39 once kompose's two documented defects are corrected in its
# output (the 40th needs a file, users.php, that the fixture copy lacks).
REACHED_EQUAL = 35
REACHED_BUT_DEFECTS = 39


@pytest.fixture(scope="module")
def result() -> tuple[list, float, float]:
    require_peer_fixtures(DEFAULT_FIXTURES / "index.json", "kompose fixtures")
    return run(DEFAULT_FIXTURES)


def test_agreement_does_not_fall(result: tuple[list, float, float]) -> None:
    rows, figure, corrected = result
    assert len(rows) == 40
    assert sum(r.equal for r in rows) >= REACHED_EQUAL, [r.fixture for r in rows if not r.equal]
    assert figure == sum(r.equal for r in rows) / len(rows)
    assert sum(r.equal_but_defects for r in rows) >= REACHED_BUT_DEFECTS
    assert corrected >= figure


def test_only_the_documented_defects_are_forgiven(result: tuple[list, float, float]) -> None:
    rows, _, _ = result
    for row in rows:
        if row.equal_but_defects and not row.equal:
            assert row.defects, row.fixture
            assert set(row.defects) <= {"shell-form healthcheck", "binaryData encoded twice"}


def test_the_script_writes_its_table_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    require_peer_fixtures(DEFAULT_FIXTURES / "index.json", "kompose fixtures")
    out = tmp_path / "agreement.json"
    assert main(["--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "agreement:" in printed and "ignored fields:" in printed
    data = json.loads(out.read_text())
    assert data["pairs"] == 40 and len(data["rows"]) == 40
    assert all(item["reason"] for item in data["ignored"])
