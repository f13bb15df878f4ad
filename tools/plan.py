"""The offline plan: run the real ``__main__.py`` under the mock engine and show what ``pulumi up``
would create, check the policy pack, write the canonical plan and the graph, or diff two plans.

    python -m tools.plan --stack dev [--json plan.json] [--graph plan.mmd]
    python -m tools.plan --stack-file path/Pulumi.mystack.yaml
    python -m tools.plan diff base.json head.json

Exit codes: 0 clean, 1 a mandatory policy violation, 2 bad config or bad arguments, 3 (diff with
--fail-on-danger) a change that replaces a stateful resource or a host, or drops a data volume.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

from rancher_stacks.config import ConfigError
from tools.diff import diff_plans, render_markdown
from tools.errors import GraphError
from tools.mockengine import run_main
from tools.planfile import build_plan, dumps, policy_resources
from tools.report import render_counts, render_outputs, render_tree, render_violations
from tools.stackfile import StackFileError, load_stack_file

ROOT = Path(__file__).resolve().parent.parent
EXIT_OK, EXIT_POLICY, EXIT_USAGE, EXIT_DANGER = 0, 1, 2, 3


class UsageError(Exception):
    """Bad arguments or unreadable input files."""


def plan_stack(stack_file: Path, project_dir: Path = ROOT) -> dict[str, Any]:
    """Run the program for one stack file and return the canonical plan."""
    sf = load_stack_file(stack_file, project_dir)
    run = run_main(
        project_dir / "__main__.py",
        project=sf.project,
        stack=sf.stack,
        config=sf.config,
        secret_keys=sf.secret_keys,
    )
    return build_plan(run)


def check_policies(plan: dict[str, Any], config: Optional[dict[str, Any]] = None) -> list[dict[str, Any]]:
    """Evaluate the policy pack on the planned resources."""
    from rancher_stacks import policies

    return list(policies.evaluate(policy_resources(plan), config))


def _load_json(path: str) -> Any:
    try:
        return json.loads(Path(path).read_text())
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except json.JSONDecodeError as exc:
        raise UsageError(f"{path}: not valid JSON ({exc})") from None


def _plan_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.plan",
        description="Offline plan of a stack (the real program under the Pulumi mock engine). "
        "Use `python -m tools.plan diff BASE.json HEAD.json` to compare two plans.",
    )
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("--stack", help="stack name: plans Pulumi.<stack>.yaml of this project")
    which.add_argument("--stack-file", type=Path, help="plan any Pulumi.<stack>.yaml")
    p.add_argument("--json", type=Path, help="write the canonical plan (JSON) here")
    p.add_argument("--graph", type=Path, help="write the resource graph (.mmd, .dot or .svg)")
    p.add_argument("--policy-config", type=Path, help="JSON policy configuration for the pack")
    p.add_argument("--no-policies", action="store_true", help="skip the policy pack")
    p.add_argument("--quiet", action="store_true", help="print counts and policies, not the tree")
    return p


def _diff_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m tools.plan diff", description="Markdown diff of two plans.")
    p.add_argument("base", help="the base plan (JSON from --json)")
    p.add_argument("head", help="the head plan (JSON from --json)")
    p.add_argument("--title", default=None, help="heading of the markdown")
    p.add_argument(
        "--fail-on-danger",
        action="store_true",
        help=f"exit {EXIT_DANGER} when the diff replaces a stateful resource or a host, or drops a data volume",
    )
    return p


def run_diff(argv: Sequence[str]) -> int:
    args = _diff_parser().parse_args(argv)
    base, head = _load_json(args.base), _load_json(args.head)
    for name, plan in (("base", base), ("head", head)):
        if not isinstance(plan, dict) or "resources" not in plan:
            raise UsageError(f"{name} is not a plan written by --json")
    title = args.title or f"Plan diff: {head.get('stack', '?')}"
    diff = diff_plans(base, head)
    sys.stdout.write(render_markdown(diff, title))
    return EXIT_DANGER if args.fail_on_danger and diff.dangers else EXIT_OK


def run_plan(argv: Sequence[str]) -> int:
    args = _plan_parser().parse_args(argv)
    stack_file = args.stack_file or ROOT / f"Pulumi.{args.stack}.yaml"
    if not stack_file.exists():
        raise UsageError(f"{stack_file}: no such stack file")
    policy_config = _load_json(str(args.policy_config)) if args.policy_config else None

    plan = plan_stack(stack_file)
    if args.json:
        args.json.write_text(dumps(plan))
    if args.graph:
        from tools.graph import write_graph  # networkx is only needed here

        write_graph(plan, args.graph)

    print(f"Offline plan of stack {plan['stack']!r} ({stack_file.name}); nothing was deployed.\n")
    if not args.quiet:
        print(render_tree(plan), end="\n\n")
    print(render_counts(plan), end="\n\n")
    print(render_outputs(plan), end="\n\n")
    if args.no_policies:
        return EXIT_OK
    violations = check_policies(plan, policy_config)
    print(render_violations(violations))
    return EXIT_POLICY if any(v["enforcement"] == "mandatory" for v in violations) else EXIT_OK


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv[:1] == ["diff"]:
            return run_diff(argv[1:])
        return run_plan(argv)
    except (ConfigError, StackFileError, UsageError, GraphError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except SystemExit as exc:  # argparse: 2 after printing its usage error, 0 after --help
        return EXIT_USAGE if exc.code else EXIT_OK


if __name__ == "__main__":
    status = main()
    # Everything is written and closed by now. Tearing down the interpreter would spend about a
    # second freeing the provider SDKs' module objects; a CLI that has finished can skip that.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)
