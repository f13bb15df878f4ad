"""How often our compose translator agrees with kompose on kompose's own test fixtures.

    python -m tools.kompose_agreement [--fixtures DIR] [--json OUT]

For every ACTIVE pair of ``../shared/peers/kompose/index.json`` (kompose's script/test/fixtures,
with the flags its tests.sh ran ``kompose convert`` with), run our CLI (:mod:`tools.compose2k8s`)
with the equivalent flags and compare its documents with kompose's expected Kubernetes output
semantically, as kompose's own test does with ``dyff between --ignore-order-changes``:

* documents are matched by (kind, name); lists compare as multisets (order ignored) except
  ``command``/``args`` (argv order matters);
* values Go's ``omitempty`` drops (``""``, ``false``, ``{}``, ``[]``, null) are dropped on both
  sides, and quantities compare by value (``10e3`` == ``10000``);
* the fields of :data:`IGNORED` are removed on both sides first, each for the reason given there.

It prints one row per fixture (equal yes/no and the differences) and the agreement figure.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import io
import json
import re
import shlex
import sys
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Optional

import yaml

from rancher_stacks.kubernetes.compose import ComposeError
from tools.compose2k8s.cli import render

DEFAULT_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "peers" / "kompose"

# (path pattern, reason). A path is "Kind:a.b.c" with list positions as "[]".
IGNORED: list[tuple[str, str]] = [
    (
        "*:metadata.annotations.use-subpath",
        "kompose's internal marker that a ConfigMap holds one file mounted with subPath; the mount "
        "itself (subPath, items) is compared",
    ),
    (
        "Namespace:metadata.namespace",
        "kompose stamps the namespace on the Namespace object itself; a Namespace is cluster-scoped "
        "and the API server ignores it",
    ),
    (
        "Service:spec.ports[].protocol=TCP",
        "TCP is the API server's default protocol of a Service port (kompose omits it; so do we, but "
        "both forms are the same object)",
    ),
    (
        "Service:spec.ports[].targetPort=port|0",
        "the API server defaults targetPort to port (kompose writes 0 for its headless placeholder port)",
    ),
    ("Service:spec.type=ClusterIP", "ClusterIP is the API server's default Service type"),
    (
        "Service:metadata.name with '_'",
        "kompose names a Service after the raw compose name (front_end), which the API server rejects "
        "(not an RFC 1035 label); we write front-end and compare names with '_' read as '-'",
    ),
]

# Places where kompose's output is wrong and ours deliberately differs. A pair whose only
# differences are these counts in the second figure ("equal but for kompose defects"); the
# first figure counts it as different. Each is recognized structurally, never by fixture name.
KOMPOSE_DEFECTS: list[tuple[str, str]] = [
    (
        "shell-form healthcheck",
        "compose `test: <string>` / CMD-SHELL runs in a shell; kompose drops CMD-SHELL and execs the whole "
        "string as one argv[0] (exec of 'echo hello' as a single word fails: no such file), cf. moby/moby#41630. "
        "We emit [/bin/sh, -c, <string>].",
    ),
    (
        "binaryData encoded twice",
        "kompose base64-encodes binary ConfigMap data and its marshaller encodes it again, so the "
        "mounted file is base64 text (kubernetes/kompose#2082, fix PR #2118). We encode once.",
    ),
]

ORDERED_KEYS = {"command", "args"}
QUANTITY_PARENTS = {"limits", "requests"}


@dataclass
class Row:
    fixture: str
    equal: bool
    differences: list[str] = field(default_factory=list)
    warnings: int = 0
    # Equal once kompose's documented defects (KOMPOSE_DEFECTS) are corrected in its output.
    equal_but_defects: bool = False
    defects: list[str] = field(default_factory=list)


def _quantity(value: Any) -> Any:
    text = str(value)
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)([a-zA-Z]*)", text)
    if not match:
        return value
    suffixes: dict[str, Any] = {
        "": 1,
        "m": Decimal("0.001"),
        "k": 10**3,
        "M": 10**6,
        "G": 10**9,
        "T": 10**12,
        "P": 10**15,
        "Ki": 2**10,
        "Mi": 2**20,
        "Gi": 2**30,
        "Ti": 2**40,
        "Pi": 2**50,
    }
    if match.group(2) not in suffixes:
        return value
    try:
        return ("quantity", Decimal(match.group(1)) * Decimal(str(suffixes[match.group(2)])))
    except InvalidOperation:
        return value


def _service_defaults(doc: dict[str, Any]) -> None:
    spec = doc.get("spec") or {}
    if spec.get("type") == "ClusterIP":
        del spec["type"]
    for port in spec.get("ports") or []:
        if port.get("protocol") == "TCP":
            del port["protocol"]
        if port.get("targetPort") in (0, port.get("port"), str(port.get("port"))):
            port.pop("targetPort", None)
    name = doc.get("metadata", {}).get("name")
    if isinstance(name, str):
        doc["metadata"]["name"] = name.replace("_", "-")


def _normalize(value: Any, key: str = "", parent: str = "") -> Any:
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            n = _normalize(v, k, key)
            if n in (None, "", False, {}, []):
                continue
            out[k] = n
        return out
    if isinstance(value, list):
        items = [_normalize(v, key, parent) for v in value]
        items = [i for i in items if i not in (None, "", {}, [])]
        if key in ORDERED_KEYS:
            return items
        return sorted(items, key=lambda i: json.dumps(i, sort_keys=True, default=str))
    if parent in QUANTITY_PARENTS or key == "storage":
        return _quantity(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return value


def canonical(doc: dict[str, Any]) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc, default=str))
    meta = doc.get("metadata") or {}
    annotations = meta.get("annotations") or {}
    annotations.pop("use-subpath", None)
    if doc.get("kind") == "Namespace":
        meta.pop("namespace", None)
    if doc.get("kind") == "Service":
        _service_defaults(doc)
    return _normalize(doc)


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a:
                out.append(f"{path}.{k}: only ours ({_short(b[k])})")
            elif k not in b:
                out.append(f"{path}.{k}: only kompose ({_short(a[k])})")
            else:
                _diff(a[k], b[k], f"{path}.{k}", out)
        return
    if isinstance(a, list) and isinstance(b, list):
        if len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b, strict=True)):
                _diff(x, y, f"{path}[{i}]", out)
            return
        for item in a:
            if item not in b:
                out.append(f"{path}[]: only kompose {_short(item)}")
        for item in b:
            if item not in a:
                out.append(f"{path}[]: only ours {_short(item)}")
        return
    if a != b:
        out.append(f"{path}: kompose {_short(a)} / ours {_short(b)}")


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 90 else text[:87] + "..."


def _correct_defects(want: Any, got: Any, found: list[str]) -> Any:
    """kompose's document with its KOMPOSE_DEFECTS replaced by what a correct output holds,
    where (and only where) ours holds exactly that correction."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = {}
        for key, value in want.items():
            if key not in got:
                out[key] = value
                continue
            mine = got[key]
            if (
                key == "exec"
                and isinstance(value, dict)
                and isinstance(mine, dict)
                and len(value.get("command") or []) == 1
                and mine.get("command") == ["/bin/sh", "-c", value["command"][0]]
            ):
                found.append(KOMPOSE_DEFECTS[0][0])
                out[key] = mine
            elif key == "binaryData" and isinstance(value, dict) and isinstance(mine, dict):
                fixed = {}
                for name, data in value.items():
                    try:
                        once: Optional[str] = base64.b64decode(str(data), validate=True).decode("ascii")
                    except (ValueError, UnicodeDecodeError):
                        once = None
                    if once is not None and once == mine.get(name):
                        found.append(KOMPOSE_DEFECTS[1][0])
                        fixed[name] = once
                    else:
                        fixed[name] = data
                out[key] = fixed
            else:
                out[key] = _correct_defects(value, mine, found)
        return out
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [_correct_defects(w, g, found) for w, g in zip(want, got, strict=True)]
    return want


def _key(doc: dict[str, Any]) -> tuple[str, str]:
    return str(doc.get("kind")), str((doc.get("metadata") or {}).get("name"))


def flags_of(command: str) -> list[str]:
    """The ``convert`` flags of a kompose command line, translated to ours (output flags dropped)."""
    words = shlex.split(command.split(" convert", 1)[1])
    out: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        name, eq, value = word.partition("=")
        takes_value = name in (
            "--controller",
            "--volumes",
            "-n",
            "--namespace",
            "--service-group-mode",
            "--service-group-name",
            "--replicas",
            "--pvc-request-size",
        )
        if takes_value and not eq:
            i += 1
            value = words[i]
        if name in ("--stdout", "-j", "--json") or name.startswith("--with-kompose-annotation"):
            pass
        elif takes_value:
            out += [name, value]
        elif name in ("--emptyvols", "--generate-network-policies", "--no-interpolate"):
            out.append(name)
        else:
            raise ValueError(f"a kompose flag this script does not map: {word}")
        i += 1
    return out


def compare_pair(root: Path, pair: dict[str, Any]) -> Row:
    expected_docs = [d for d in yaml.safe_load_all((root / pair["expected_k8s"]).read_text()) if d]
    argv = [str(root / f) for f in pair["compose_inputs"]] + flags_of(pair["kompose_cmd"]) + ["--stdout"]
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            ours, warnings, _ = render(argv, environ={})
    except ComposeError as exc:
        return Row(pair["id"], False, [f"our translator refused the input: {exc}"])
    want = {_key(d): canonical(d) for d in expected_docs}
    got = {_key(d): canonical(d) for d in ours}
    want = {(k, n.replace("_", "-") if k == "Service" else n): v for (k, n), v in want.items()}
    diffs = _differences(want, got)
    found: list[str] = []
    corrected = {k: _correct_defects(v, got[k], found) if k in got else v for k, v in want.items()}
    left = _differences(corrected, got) if diffs else diffs
    return Row(pair["id"], not diffs, diffs, len(warnings), not left, sorted(set(found)) if diffs else [])


def _differences(want: dict[tuple[str, str], Any], got: dict[tuple[str, str], Any]) -> list[str]:
    diffs: list[str] = []
    for key in sorted(set(want) | set(got)):
        label = f"{key[0]}/{key[1]}"
        if key not in got:
            diffs.append(f"{label}: only kompose")
        elif key not in want:
            diffs.append(f"{label}: only ours")
        else:
            _diff(want[key], got[key], label, diffs)
    return diffs


def run(root: Path) -> tuple[list[Row], float, float]:
    """The rows, the agreement (equal pairs / active pairs) and the agreement once kompose's
    documented defects are corrected in its output."""
    index = json.loads((root / "index.json").read_text())
    rows = [compare_pair(root, pair) for pair in index if pair.get("status") == "active"]
    if not rows:
        return rows, 0.0, 0.0
    return rows, sum(r.equal for r in rows) / len(rows), sum(r.equal_but_defects for r in rows) / len(rows)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.kompose_agreement", description=__doc__.split("\n")[0])
    parser.add_argument(
        "--fixtures", type=Path, default=DEFAULT_FIXTURES, help="the kompose fixture folder (index.json)"
    )
    parser.add_argument("--json", type=Path, help="also write the rows and the figure as JSON")
    args = parser.parse_args(argv)
    rows, figure, corrected = run(args.fixtures)
    width = max(len(r.fixture) for r in rows)
    print(f"{'fixture':<{width}}  equal  differences")
    for row in rows:
        lines = ([f"(kompose defect: {', '.join(row.defects)})"] if row.equal_but_defects else []) + row.differences
        first = lines[0] if lines else ""
        print(f"{row.fixture:<{width}}  {'yes' if row.equal else 'no ':<5}  {first}")
        for more in lines[1:]:
            print(f"{'':<{width}}         {more}")
    equal = sum(r.equal for r in rows)
    fixed = sum(r.equal_but_defects for r in rows)
    print(f"\nagreement: {equal}/{len(rows)} active pairs semantically equal = {figure:.1%}")
    print(f"equal once kompose's documented defects are corrected: {fixed}/{len(rows)} = {corrected:.1%}")
    print("kompose defects:")
    for name, reason in KOMPOSE_DEFECTS:
        print(f"  {name}: {reason}")
    print("ignored fields:")
    for pattern, reason in IGNORED:
        print(f"  {pattern}: {reason}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "agreement": figure,
                    "equal": equal,
                    "pairs": len(rows),
                    "agreement_but_kompose_defects": corrected,
                    "kompose_defects": [{"name": n, "reason": r} for n, r in KOMPOSE_DEFECTS],
                    "rows": [asdict(r) for r in rows],
                    "ignored": [{"field": p, "reason": r} for p, r in IGNORED],
                },
                indent=2,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
