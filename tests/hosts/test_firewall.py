"""The Firewall component on AWS, GCP and DigitalOcean (shared helpers: ``support/host_runs.py``)."""

from __future__ import annotations

from typing import Any, Optional

import pulumi
import pytest
from host_runs import (
    ADMIN_PORTS,
    ADMIN_V4,
    ADMIN_V6,
    DO_FW,
    GCP_FW,
    SG,
    SG_RULE,
    one,
    provider_urn,
    run,
    stack_config,
    world_exposures,
)

from rancher_stacks.clouds.base import host_cidr
from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.firewall import Firewall, FirewallArgs
from rancher_stacks.net.peer import PeerGroup
from rancher_stacks.net.rules import WORLD, Cidrs, FromGroup, FromSelf, Rule
from tools.mockengine import ProgramRun, Registration

# --------------------------------------------------------------------------- firewall runs

PEER_IPS = ["192.0.2.10", "192.0.2.11"]
SELF_IPS = ["203.0.113.5", "203.0.113.6", "203.0.113.7"]


def _firewall_program(cloud: str, *, peer_cloud: str, extra_rules: Optional[list[Rule]] = None) -> ProgramRun:
    def program() -> None:
        bases = make_cloud_bases(stack_config(), SshSettings())
        peer = PeerGroup(
            name="peer",
            cloud=peer_cloud,
            public_ips=pulumi.Output.from_input(PEER_IPS),
            private_ips=pulumi.Output.from_input(["10.0.0.10", "10.0.0.11"]),
            # The peer's native handle: only read when the peer is on the firewall's own cloud.
            handle=pulumi.Output.from_input("sg-0peer0000000000000" if peer_cloud == "aws" else "rs-test-peer"),
            count=2,
        )
        rules = [
            Rule("gluster", FromSelf(), "gluster between servers"),
            Rule("mongodb", FromGroup(peer), "mongo from the peer group"),
            Rule("http", WORLD, "public web"),
            *(extra_rules or []),
        ]
        base = bases[cloud]
        Firewall(
            "grp-fw",
            FirewallArgs(
                base=base,
                target="rs-test-grp",
                rules=rules,
                admin_cidrs=[ADMIN_V4, ADMIN_V6],
                self_public_ips=pulumi.Output.from_input(SELF_IPS),
                self_count=len(SELF_IPS),
            ),
            opts=base.component_opts(None),  # type: ignore[arg-type]
        )

    return run(program)


@pytest.fixture(scope="module")
def aws_fw() -> ProgramRun:
    return _firewall_program("aws", peer_cloud="aws")


@pytest.fixture(scope="module")
def gcp_fw() -> ProgramRun:
    return _firewall_program("gcp", peer_cloud="digitalocean")


@pytest.fixture(scope="module")
def do_fw() -> ProgramRun:
    return _firewall_program("digitalocean", peer_cloud="digitalocean")


def _cidrs(ips: list[str]) -> list[str]:
    return [f"{ip}/32" for ip in ips]


# --------------------------------------------------------------------------- AWS


def test_aws_security_group_has_no_inline_rules_and_lives_in_the_default_vpc(aws_fw: ProgramRun) -> None:
    (sg,) = aws_fw.by_type(SG)
    assert sg.inputs["vpcId"].startswith("vpc-")
    assert sg.inputs["description"]
    assert "ingress" not in sg.inputs and "egress" not in sg.inputs
    assert sg.inputs["tags"] == {"Name": "rs-test-grp"}
    assert all(r.provider_urn == provider_urn(aws_fw, "aws") for r in aws_fw.resources if r.type.startswith("aws:"))


def test_aws_ssh_only_from_admin_cidrs_split_by_family(aws_fw: ProgramRun) -> None:
    ssh = [r for r in aws_fw.by_type(SG_RULE) if r.inputs["fromPort"] == 22]
    assert sorted(r.name for r in ssh) == [
        "grp-fw-ssh-admin-tcp22-v4-198-51-100-0-24",
        "grp-fw-ssh-admin-tcp22-v6-2001-db8-32",
    ]
    assert {r.inputs.get("cidrIpv4") for r in ssh} - {None} == {ADMIN_V4}
    assert {r.inputs.get("cidrIpv6") for r in ssh} - {None} == {ADMIN_V6}
    assert all(r.inputs["toPort"] == 22 and r.inputs["ipProtocol"] == "tcp" for r in ssh)


def test_aws_from_self_references_the_group_itself_and_its_public_ips(aws_fw: ProgramRun) -> None:
    (sg,) = aws_fw.by_type(SG)
    gluster = [r for r in aws_fw.by_type(SG_RULE) if "-gluster-" in r.name]
    for first, last in ((24007, 24008), (49152, 49251)):
        rules = [r for r in gluster if r.inputs["fromPort"] == first]
        assert all(r.inputs["toPort"] == last for r in rules)
        refs = [r for r in rules if "referencedSecurityGroupId" in r.inputs]
        assert [r.inputs["referencedSecurityGroupId"] for r in refs] == [sg.id]
        hosts = sorted(r.inputs["cidrIpv4"] for r in rules if "cidrIpv4" in r.inputs)
        assert hosts == _cidrs(SELF_IPS)  # one rule resource per self address
        assert all(r.inputs["securityGroupId"] == sg.id for r in rules)


def test_aws_same_cloud_peer_gets_its_security_group_and_its_ips(aws_fw: ProgramRun) -> None:
    mongo = [r for r in aws_fw.by_type(SG_RULE) if "-mongodb-" in r.name]
    assert [r.inputs["referencedSecurityGroupId"] for r in mongo if "referencedSecurityGroupId" in r.inputs] == [
        "sg-0peer0000000000000"
    ]
    assert sorted(r.inputs["cidrIpv4"] for r in mongo if "cidrIpv4" in r.inputs) == _cidrs(PEER_IPS)


def test_aws_egress_is_explicit_all_ipv4_and_ipv6(aws_fw: ProgramRun) -> None:
    egress = aws_fw.by_type("aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
    assert {(r.inputs.get("cidrIpv4"), r.inputs.get("cidrIpv6")) for r in egress} == {
        (None, "::/0"),
        ("0.0.0.0/0", None),
    }
    assert all(r.inputs["ipProtocol"] == "-1" for r in egress)


def test_aws_only_http_is_public(aws_fw: ProgramRun) -> None:
    world = [r for r in aws_fw.by_type(SG_RULE) if r.inputs.get("cidrIpv4") == "0.0.0.0/0" or r.inputs.get("cidrIpv6") == "::/0"]
    assert {(r.inputs["fromPort"], r.inputs["toPort"]) for r in world} == {(80, 80)}
    assert world_exposures(aws_fw) == []


# --------------------------------------------------------------------------- GCP


def test_gcp_one_ingress_firewall_per_rule_and_family_targeting_the_tag(gcp_fw: ProgramRun) -> None:
    fws = {r.name: r for r in gcp_fw.by_type(GCP_FW)}
    assert sorted(fws) == [
        "grp-fw-gluster-self",
        "grp-fw-http-world",
        "grp-fw-http-world-v6",
        "grp-fw-mongodb-peer",
        "grp-fw-ssh-admin",
        "grp-fw-ssh-admin-v6",
    ]
    for fw in fws.values():
        assert fw.inputs["direction"] == "INGRESS"
        assert fw.inputs["targetTags"] == ["rs-test-grp"]
        assert fw.inputs["network"].endswith("/global/networks/gcp-network")
        assert fw.provider_urn == provider_urn(gcp_fw, "gcp")
    assert fws["grp-fw-ssh-admin"].inputs["sourceRanges"] == [ADMIN_V4]
    assert fws["grp-fw-ssh-admin-v6"].inputs["sourceRanges"] == [ADMIN_V6]
    assert fws["grp-fw-ssh-admin"].inputs["allows"] == [{"protocol": "tcp", "ports": ["22"]}]
    assert fws["grp-fw-gluster-self"].inputs["allows"] == [{"protocol": "tcp", "ports": ["24007-24008", "49152-49251"]}]


def test_gcp_from_self_uses_the_source_tag_and_the_members_ips(gcp_fw: ProgramRun) -> None:
    fw = one(gcp_fw, GCP_FW, "grp-fw-gluster-self")
    assert fw.inputs["sourceTags"] == ["rs-test-grp"]
    assert fw.inputs["sourceRanges"] == _cidrs(SELF_IPS)


def test_gcp_cross_cloud_peer_is_exactly_its_public_ips(gcp_fw: ProgramRun) -> None:
    fw = one(gcp_fw, GCP_FW, "grp-fw-mongodb-peer")
    assert fw.inputs["sourceRanges"] == _cidrs(PEER_IPS)
    assert "sourceTags" not in fw.inputs
    assert world_exposures(gcp_fw) == []


# --------------------------------------------------------------------------- DigitalOcean


def test_do_firewall_is_bound_to_the_group_tag_with_outbound_all(do_fw: ProgramRun) -> None:
    (tag,) = do_fw.by_type("digitalocean:index/tag:Tag")
    (fw,) = do_fw.by_type(DO_FW)
    assert tag.inputs["name"] == "rs-test-grp"
    assert fw.inputs["tags"] == ["rs-test-grp"]
    assert fw.provider_urn == provider_urn(do_fw, "digitalocean")
    outbound = {(r["protocol"], r.get("portRange")) for r in fw.inputs["outboundRules"]}
    assert outbound == {("tcp", "1-65535"), ("udp", "1-65535"), ("icmp", None)}
    assert all(r["destinationAddresses"] == ["0.0.0.0/0", "::/0"] for r in fw.inputs["outboundRules"])


def test_do_inbound_rules_per_port_range_with_native_tags_and_ips(do_fw: ProgramRun) -> None:
    (fw,) = do_fw.by_type(DO_FW)
    rules = {(r["protocol"], r["portRange"]): r for r in fw.inputs["inboundRules"]}
    assert set(rules) == {("tcp", "22"), ("tcp", "24007-24008"), ("tcp", "49152-49251"), ("tcp", "27017"), ("tcp", "80")}
    assert rules[("tcp", "22")]["sourceAddresses"] == [ADMIN_V4, ADMIN_V6]
    assert "sourceTags" not in rules[("tcp", "22")]
    for ports in (("tcp", "24007-24008"), ("tcp", "49152-49251")):
        assert rules[ports]["sourceTags"] == ["rs-test-grp"]
        assert rules[ports]["sourceAddresses"] == _cidrs(SELF_IPS)
    assert rules[("tcp", "27017")]["sourceTags"] == ["rs-test-peer"]
    assert rules[("tcp", "27017")]["sourceAddresses"] == _cidrs(PEER_IPS)
    assert world_exposures(do_fw) == []


# --------------------------------------------------------------------------- refusals and helpers


@pytest.mark.parametrize(
    "rule",
    [
        Rule("ssh", Cidrs(("0.0.0.0/0",))),
        Rule("mongodb", Cidrs(("::/0",))),
        Rule("docker-tls", WORLD),
        Rule("rancher-ui", WORLD),
        Rule("http", WORLD, tcp_port=8080),  # a public service moved onto a management port
    ],
)
def test_admin_services_and_ports_cannot_be_opened_to_the_world(rule: Rule) -> None:
    with pytest.raises(ValueError, match=f"service '{rule.service}'.*must not be open"):
        _firewall_program("aws", peer_cloud="aws", extra_rules=[rule])


def test_a_public_service_may_move_to_another_public_port() -> None:
    moved = _firewall_program("gcp", peer_cloud="gcp", extra_rules=[Rule("http", WORLD, tcp_port=8000)])
    fw = one(moved, GCP_FW, "grp-fw-http-8000-world")
    assert fw.inputs["allows"] == [{"protocol": "tcp", "ports": ["8000"]}]
    assert fw.inputs["sourceRanges"] == ["0.0.0.0/0"]


def test_admin_cidrs_are_required() -> None:
    def program() -> None:
        bases = make_cloud_bases(stack_config(), SshSettings())
        Firewall("fw", FirewallArgs(base=bases["digitalocean"], target="t", rules=[], admin_cidrs=[]))

    with pytest.raises(ValueError, match="admin CIDR"):
        run(program)


def test_host_cidr_fails_instead_of_widening() -> None:
    assert host_cidr(["192.0.2.1", "2001:db8::1"], 1, 2) == "2001:db8::1/128"
    with pytest.raises(ValueError, match="expected 2 host addresses"):
        host_cidr(["192.0.2.1"], 0, 2)
    with pytest.raises(ValueError, match="no public IP"):
        host_cidr(["192.0.2.1", ""], 1, 2)


def test_world_scanner_detects_open_admin_ports() -> None:
    def reg(type_: str, name: str, inputs: dict[str, Any]) -> Registration:
        return Registration(name, type_, name, True, "", "", [], False, False, False, inputs)

    fake = ProgramRun(
        "p",
        "s",
        [
            reg(SG_RULE, "sg-ssh", {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}),
            reg(SG_RULE, "sg-all", {"ipProtocol": "-1", "cidrIpv6": "::/0"}),
            reg(SG, "sg-inline", {"ingress": [{"fromPort": 2376, "toPort": 2376, "cidrBlocks": ["0.0.0.0/0"]}]}),
            reg(GCP_FW, "gcp-nosrc", {"allows": [{"protocol": "tcp", "ports": ["27017"]}]}),
            reg(GCP_FW, "gcp-ok", {"sourceTags": ["x"], "allows": [{"protocol": "tcp", "ports": ["27017"]}]}),
            reg(DO_FW, "do", {"inboundRules": [{"portRange": "9000-9400", "sourceAddresses": ["::/0"]}]}),
            reg(SG_RULE, "sg-http", {"ipProtocol": "tcp", "fromPort": 80, "toPort": 80, "cidrIpv4": "0.0.0.0/0"}),
        ],
        {},
    )
    found = world_exposures(fake)
    assert ("sg-ssh", 22) in found
    assert {p for n, p in found if n == "sg-all"} == set(ADMIN_PORTS)
    assert ("sg-inline", 2376) in found
    assert ("gcp-nosrc", 27017) in found
    assert {p for n, p in found if n == "do"} == {9200, 9300, 9345, 9346}
    assert not [n for n, _ in found if n in ("gcp-ok", "sg-http")]
