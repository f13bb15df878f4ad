"""The compose -> Kubernetes CLI (front end of ``rancher_stacks.kubernetes.compose``).

    python -m tools.compose2k8s compose.yaml [override.yaml ...] [--stdout | -o DIR]
        [--namespace NS] [--controller deployment|statefulset|daemonset]
        [--volumes pvc|emptyDir|hostPath|configMap] [--rancher-compose FILE]

Like ``kompose convert``: with ``-o DIR`` one file per object named ``<name>-<kind>.yaml``
(``web-deployment.yaml``, ``web-service.yaml``, ``data-persistentvolumeclaim.yaml``); with
``--stdout`` one multi-document stream. Warnings go to stderr. Bad input (a file that does not
parse, a feature with no Kubernetes equivalent) prints ``file:line: reason`` and exits 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Optional, Sequence

import yaml

from rancher_stacks.kubernetes.compose import ComposeError, Options, file_name, load_project, transform

EXIT_BAD_INPUT = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m tools.compose2k8s", description="Convert compose files to Kubernetes YAML."
    )
    p.add_argument("files", nargs="+", metavar="COMPOSE", help="compose files, merged in order (like -f a -f b)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--stdout", action="store_true", help="write one YAML stream to stdout")
    where.add_argument("-o", "--out", metavar="DIR", help="write one file per object into DIR")
    p.add_argument("-n", "--namespace", help="put every object in this namespace (and emit the Namespace)")
    p.add_argument(
        "--controller", choices=["deployment", "statefulset", "daemonset"], help="workload kind for every service"
    )
    p.add_argument(
        "--volumes",
        choices=["pvc", "emptyDir", "hostPath", "configMap"],
        default="pvc",
        help="what named and anonymous volumes become (default pvc)",
    )
    p.add_argument("--emptyvols", action="store_true", help="same as --volumes emptyDir (kompose's older flag)")
    p.add_argument("--replicas", type=int, default=1, help="replicas of services that set none (default 1)")
    p.add_argument("--pvc-request-size", default="100Mi", help="size of the claims (default 100Mi)")
    p.add_argument("--service-group-mode", choices=["label", "volume"], help="put grouped services in one pod")
    p.add_argument("--service-group-name", help="the pod's name in --service-group-mode volume")
    p.add_argument("--generate-network-policies", action="store_true", help="a NetworkPolicy per compose network")
    p.add_argument("--no-interpolate", action="store_true", help="keep ${VAR} references as they are")
    p.add_argument("--rancher-compose", metavar="FILE", help="a rancher-compose.yml (scale, health_check)")
    return p


def render(
    argv: Sequence[str], environ: Optional[dict[str, str]] = None
) -> tuple[list[dict[str, Any]], list[str], argparse.Namespace]:
    """Parse ``argv`` and translate: (manifests, warnings, parsed arguments). Raises ComposeError."""
    args = _parser().parse_args(list(argv))
    project = load_project(
        args.files, rancher_compose=args.rancher_compose, environ=environ, interpolating=not args.no_interpolate
    )
    options = Options(
        namespace=args.namespace,
        controller=args.controller,
        volumes="emptyDir" if args.emptyvols else args.volumes,
        replicas=args.replicas,
        pvc_size=args.pvc_request_size,
        service_group_mode=args.service_group_mode,
        service_group_name=args.service_group_name,
        network_policies=args.generate_network_policies,
    )
    result = transform(project, options)
    return result.manifests, result.warnings, args


def dump(manifests: list[dict[str, Any]]) -> str:
    return "".join("---\n" + yaml.safe_dump(m, sort_keys=True, default_flow_style=False) for m in manifests)


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        manifests, warnings, args = render(argv)
    except ComposeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.out:
        out = Path(args.out)
        out.mkdir(parents=True, exist_ok=True)
        for manifest in manifests:
            path = out / file_name(manifest)
            path.write_text(yaml.safe_dump(manifest, sort_keys=True, default_flow_style=False), encoding="utf-8")
            print(f"INFO Kubernetes file {str(path)!r} created", file=sys.stderr)
    else:
        sys.stdout.write(dump(manifests))
    return 0
