"""The provider-neutral rule model and the port catalog."""

import pytest

from rancher_stacks.net.ports import CATALOG
from rancher_stacks.net.rules import WORLD, Cidrs, Rule


def test_a_rule_can_move_a_single_port_service_but_not_a_range():
    assert [(p.first, p.last) for p in Rule("http", WORLD, tcp_port=8443).ports] == [(8443, 8443)]
    with pytest.raises(ValueError, match="spans several ports"):
        Rule("gluster", WORLD, tcp_port=24007)
    with pytest.raises(ValueError, match="bad port range"):
        Rule("http", WORLD, tcp_port=70000)
    with pytest.raises(KeyError, match="unknown service 'telnet'"):
        Rule("telnet", WORLD)


def test_catalog_names_the_ports_the_firewalls_must_know():
    flat = {(p.protocol, p.first, p.last) for service in CATALOG.values() for p in service.ports}
    for needed in [("tcp", 22, 22), ("tcp", 2376, 2376), ("udp", 500, 500), ("udp", 4500, 4500),
                   ("tcp", 9345, 9346), ("tcp", 24007, 24008), ("tcp", 27017, 27017), ("tcp", 3306, 3306),
                   ("tcp", 6379, 6379), ("tcp", 9200, 9200), ("tcp", 9300, 9300), ("tcp", 5601, 5601),
                   ("udp", 5000, 5000), ("tcp", 50000, 50000)]:
        assert needed in flat, needed


def test_cidr_sources_are_checked_and_split_by_family():
    src = Cidrs(("203.0.113.0/24", "2001:db8::/32"))
    assert src.ipv4 == ["203.0.113.0/24"] and src.ipv6 == ["2001:db8::/32"]
    with pytest.raises(ValueError):
        Cidrs(("203.0.113.0/33",))
