"""The one port table: the catalog's exposure classes are what the config check, the Firewall and
the policy pack all enforce."""

from __future__ import annotations

import pytest

from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.hosts.firewall import PUBLIC_SERVICES
from rancher_stacks.net.ports import CATALOG, NEVER_PUBLIC_PORTS, never_public, ports_of_class
from rancher_stacks.policies import config as pack_config
from rancher_stacks.policies.ports import ADMIN_PORTS, DATA_PORTS

SSH_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbXexampleexampleexampleexample admin@example"


def spans(restricted) -> set[tuple[str, int, int]]:
    return {(p.protocol, p.span.low, p.span.high) for p in restricted}


def catalog(*classes) -> set[tuple[str, int, int]]:
    return {(p.protocol, p.first, p.last) for p in ports_of_class(*classes)}


def test_the_pack_admin_and_data_ports_are_the_catalog_classes() -> None:
    """The pack keeps its own copy (it installs without the components); it must not drift."""
    assert spans(ADMIN_PORTS) == catalog("admin")
    assert spans(DATA_PORTS) == catalog("data")


def test_the_pack_public_allow_list_is_the_catalog_public_class() -> None:
    public = catalog("public")
    default = pack_config.PROPERTY_SCHEMAS[pack_config.ALLOWED_PUBLIC_PORTS]["default"]
    assert {("tcp", p, p) for p in default} == public
    assert PUBLIC_SERVICES == {name for name, s in CATALOG.items() if s.exposure == "public"} == {"http", "https"}


@pytest.mark.parametrize(
    ("port", "protocol"),
    [(22, "tcp"), (2375, "tcp"), (3389, "tcp"), (8080, "tcp"), (9346, "tcp"), (27019, "tcp"),
     (5000, "udp"), (49251, "tcp"), (50000, "tcp"), (24008, "tcp")],
)
def test_admin_and_data_ports_are_never_public(port: int, protocol: str) -> None:
    assert never_public(port, protocol)


@pytest.mark.parametrize(("port", "protocol"), [(80, "tcp"), (443, "tcp"), (5000, "tcp"), (8443, "tcp"), (500, "udp")])
def test_other_ports_may_be(port: int, protocol: str) -> None:
    assert not never_public(port, protocol)


def test_every_never_public_range_comes_from_an_admin_or_data_service() -> None:
    assert NEVER_PUBLIC_PORTS == ports_of_class("admin", "data")
    assert all(s.exposure in ("public", "admin", "data", "peer") for s in CATALOG.values())


@pytest.mark.parametrize("port", [3389, 27018, 8080])
def test_the_config_check_refuses_a_never_public_public_port(port: int) -> None:
    raw = {
        "sshPublicKey": SSH_KEY,
        "adminCidrs": ["198.51.100.0/24"],
        "clouds": {"aws": {}},
        "workloads": {"storage": {"cloud": "aws"}, "game": {"cloud": "aws", "publicPort": port}},
    }
    with pytest.raises(ConfigError, match=rf"rancher-stacks:workloads\.game\.publicPort: expected .*port {port}"):
        parse_stack_config(raw)
