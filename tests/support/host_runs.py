"""Helpers the host-layer tests share (not a test module).

* ``run``: ``tools.mockengine.run_program``, collecting the program's invokes.
* ``stack_config``: a valid three-cloud ``StackConfig`` with overrides.
* ``world_exposures``: every (resource, port) that a recorded SG rule, GCP firewall or DO firewall
  opens to ``0.0.0.0/0`` or ``::/0``, for the catalog's admin and data ports.
* ``assert_parents_reach_components``: every custom child's parent chain reaches a component.
"""

from __future__ import annotations

import copy
import ipaddress
from typing import Any, Callable, Iterable, Optional

import tools.mockengine as mockengine
from rancher_stacks.config import StackConfig, parse_stack_config
from rancher_stacks.net.ports import NEVER_PUBLIC_PORTS
from tools.mockengine import ProgramRun, Registration

# Both ends of every TCP admin/data range of the catalog (the one port table).
ADMIN_PORTS = tuple(sorted({p for r in NEVER_PUBLIC_PORTS if r.protocol == "tcp" for p in (r.first, r.last)}))
ADMIN_V4 = "198.51.100.0/24"
ADMIN_V6 = "2001:db8::/32"
SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbXexampleexampleexampleexample admin@example"
SG_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
SG = "aws:ec2/securityGroup:SecurityGroup"
GCP_FW = "gcp:compute/firewall:Firewall"
DO_FW = "digitalocean:index/firewall:Firewall"

BASE_RAW: dict[str, Any] = {
    "sshPublicKey": SSH_KEY,
    "adminCidrs": [ADMIN_V4, ADMIN_V6],
    "clouds": {
        "aws": {"region": "us-east-1", "zones": ["us-east-1a", "us-east-1b"]},
        "gcp": {"project": "rancher-stacks-test", "zones": ["us-central1-a", "us-central1-b"]},
        "digitalocean": {"region": "nyc3"},
    },
    "workloads": {
        "storage": {"cloud": "aws", "servers": 2},
        "database": {"cloud": "gcp", "members": 3},
        "webapp": {"cloud": "digitalocean", "replicas": 2},
    },
}


# --------------------------------------------------------------------------- shared helpers


# BurmillaOS (the default host OS) publishes no cloud images: the images a user built.
IMAGES: dict[str, dict[str, str]] = {
    "aws": {"amiId": "ami-0b0a5e5e1e5b0a5e5"},
    "gcp": {"imageUrl": "https://storage.googleapis.com/test-images/burmillaos-v2.0.5-gce.tar.gz"},
    "digitalocean": {"customImageUrl": "https://images.example.com/burmillaos-v2.0.5-digitalocean.img"},
}


def stack_config(**overrides: Any) -> StackConfig:
    """``BASE_RAW`` with top-level keys replaced, parsed; BurmillaOS clouds get ``IMAGES`` unless
    they name their own (RancherOS stacks use its published images)."""
    raw = copy.deepcopy(BASE_RAW)
    raw.update(overrides)
    if raw.get("hostOs", {}).get("name", "burmillaos") == "burmillaos":
        for cloud, settings in raw.get("clouds", {}).items():
            if cloud in IMAGES and settings.get("image") != "rancheros":
                raw["clouds"][cloud] = {**IMAGES[cloud], **settings}
    return parse_stack_config(raw)


def run(program: Callable[[], None], invokes: Optional[list[tuple[str, dict]]] = None) -> ProgramRun:
    """``tools.mockengine.run_program``; the program's invokes are appended to ``invokes``."""
    result = mockengine.run_program(program)
    if invokes is not None:
        invokes.extend(result.invokes)
    return result


def _world(cidrs: Iterable[Any]) -> bool:
    for cidr in cidrs:
        if isinstance(cidr, str) and ipaddress.ip_network(cidr, strict=False).prefixlen == 0:
            return True
    return False


def _span(text: str) -> tuple[int, int]:
    if text in ("", "all", "0"):
        return (0, 65535)
    first, _, last = text.partition("-")
    return int(first), int(last or first)


def _open_ports(ranges: Iterable[tuple[int, int]]) -> list[int]:
    ranges = list(ranges)
    return [p for p in ADMIN_PORTS if any(a <= p <= b for a, b in ranges)]


def world_exposures(program_run: ProgramRun) -> list[tuple[str, int]]:
    """(resource name, admin port) for every admin port open to 0.0.0.0/0 or ::/0."""
    found: list[tuple[str, int]] = []
    for r in program_run.resources:
        inputs = r.inputs
        if r.type == SG_RULE:
            if _world([inputs.get("cidrIpv4"), inputs.get("cidrIpv6")]):
                if str(inputs.get("ipProtocol")) == "-1":
                    ranges = [(0, 65535)]
                else:
                    ranges = [(int(inputs.get("fromPort", 0)), int(inputs.get("toPort", 65535)))]
                found += [(r.name, p) for p in _open_ports(ranges)]
        elif r.type == SG:
            for rule in inputs.get("ingress") or []:
                if _world([*(rule.get("cidrBlocks") or []), *(rule.get("ipv6CidrBlocks") or [])]):
                    ranges = [(int(rule.get("fromPort", 0)), int(rule.get("toPort", 65535)))]
                    found += [(r.name, p) for p in _open_ports(ranges)]
        elif r.type == GCP_FW:
            if str(inputs.get("direction", "INGRESS")).upper() != "INGRESS":
                continue
            sources = [*(inputs.get("sourceRanges") or [])]
            no_source = not sources and not inputs.get("sourceTags") and not inputs.get(
                "sourceServiceAccounts"
            )
            if no_source or _world(sources):
                for allow in inputs.get("allows") or []:
                    ports = allow.get("ports") or [""]
                    found += [(r.name, p) for p in _open_ports(_span(str(x)) for x in ports)]
        elif r.type == DO_FW:
            for rule in inputs.get("inboundRules") or []:
                if _world(rule.get("sourceAddresses") or []):
                    found += [(r.name, p) for p in _open_ports([_span(str(rule.get("portRange", "")))])]
    return found


def parent_chain(program_run: ProgramRun, reg: Registration) -> list[Registration]:
    """``reg``'s ancestors, nearest first (up to, not including, the stack)."""
    by_urn = {r.urn: r for r in program_run.resources}
    chain = []
    parent = by_urn.get(reg.parent)
    while parent is not None:
        chain.append(parent)
        parent = by_urn.get(parent.parent)
    return chain


def assert_parents_reach_components(program_run: ProgramRun) -> None:
    """Every custom resource (and provider) hangs under one of our components."""
    for r in program_run.resources:
        if not r.custom:
            continue
        chain = parent_chain(program_run, r)
        assert chain, f"{r.type} {r.name} has no component parent"
        assert chain[0].type.startswith("rancher-stacks:index:"), (r.name, chain[0].type)
        assert all(not c.custom for c in chain), f"{r.name} is parented to a custom resource"


def provider_urn(program_run: ProgramRun, package: str) -> str:
    (provider,) = program_run.by_type(f"pulumi:providers:{package}")
    return provider.urn


def one(program_run: ProgramRun, type_: str, name: str) -> Registration:
    matches = [r for r in program_run.by_type(type_) if r.name == name]
    assert len(matches) == 1, (type_, name, [r.name for r in program_run.by_type(type_)])
    return matches[0]
