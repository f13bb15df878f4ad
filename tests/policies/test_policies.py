"""The CrossGuard pack: every rule passing and failing, evaluate()'s contract, and the pack entry point."""

from __future__ import annotations

import base64
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi_policy
import pytest
import yaml
from policy_helpers import (
    DATA_VOLUME,
    DO_FIREWALL,
    DO_VOLUME,
    DOCKER_PROVIDER,
    DROPLET,
    EBS,
    EC2,
    GCE,
    GCP_DISK,
    GCP_DISK_POLICY_ATTACHMENT,
    GCP_FIREWALL,
    GCP_RESOURCE_POLICY,
    GLUSTER,
    INGRESS_RULE,
    LOAD_BALANCER,
    MONGO,
    SG,
    SG_RULE,
    UNKNOWN,
    baseline,
    cloud_config,
    dlm_policy,
    policy_names,
    replace_props,
    res,
    rule,
    run,
    sg,
    urn,
)
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    StackValidationArgs,
)

from rancher_stacks import policies
from rancher_stacks.policies.ports import (
    PortSpan,
    exposes_to_world,
    opens_all_ports_to_world,
    uncovered_spans,
    world_exposures,
)

POLICY_DIR = Path(policies.__file__).resolve().parent
PORT_POLICIES = {
    "no-public-admin-ports",
    "no-public-data-ports",
    "no-public-all-traffic",
    "public-ports-allowlist",
}
EXPECTED_LEVELS = {
    "no-public-admin-ports": "mandatory",
    "no-public-data-ports": "mandatory",
    "no-public-all-traffic": "mandatory",
    "public-ports-allowlist": "mandatory",
    "ebs-volume-encrypted": "mandatory",
    "ec2-block-devices-encrypted": "mandatory",
    "ec2-imdsv2-required": "mandatory",
    "docker-tcp-requires-tls": "mandatory",
    "database-traffic-encrypted": "mandatory",
    "privileged-containers-allowlist": "mandatory",
    "gluster-replica-quorum": "mandatory",
    "mongo-replica-set-quorum": "mandatory",
    "load-balancer-redundancy": "mandatory",
    "data-volume-protected": "mandatory",
    "replica-zone-spread": "advisory",
    "data-volume-backed-up": "mandatory",
    "eks-endpoint-restricted": "mandatory",
    "k8s-nodegroup-autoscaling-bounds": "mandatory",
    "k8s-workload-redundancy": "mandatory",
    "elasticsearch-master-quorum": "mandatory",
    "logging-pipeline-redundancy": "mandatory",
    "ci-home-retained": "mandatory",
    "ci-login-required": "mandatory",
}


def port_violations(resource: dict[str, Any], config: dict[str, Any] | None = None) -> set[str]:
    return policy_names(run([resource], config)) & PORT_POLICIES


# --- the pack ---------------------------------------------------------------------------------


def test_policy_names_and_enforcement_levels() -> None:
    levels = {p.name: p.enforcement_level.value for p in policies.ALL_POLICIES if p.enforcement_level}
    assert levels == EXPECTED_LEVELS
    assert len({p.name for p in policies.ALL_POLICIES}) == len(policies.ALL_POLICIES)
    assert re.fullmatch(r"[a-zA-Z0-9-_.]{1,100}", policies.PACK_NAME)


def test_config_schemas_declare_the_documented_defaults() -> None:
    schemas = {p.name: p.config_schema.properties for p in policies.ALL_POLICIES if p.config_schema}
    assert schemas["public-ports-allowlist"]["allowedPublicPorts"]["default"] == [80, 443]
    assert schemas["public-ports-allowlist"]["allowedPublicPorts"]["items"]["type"] == "integer"
    assert schemas["no-public-admin-ports"]["adminCidrs"]["items"]["type"] == "string"
    assert schemas["gluster-replica-quorum"]["minReplicas"] == {
        **schemas["gluster-replica-quorum"]["minReplicas"],
        "type": "integer",
        "default": 2,
    }


class _Recorder:
    """Stands in for ``PolicyPack``, whose constructor would serve gRPC forever."""

    calls: list[dict[str, Any]] = []

    def __init__(self, **kwargs: Any) -> None:
        _Recorder.calls.append(kwargs)


def test_main_builds_the_pack_with_every_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    _Recorder.calls = []
    monkeypatch.setattr(pulumi_policy, "PolicyPack", _Recorder)
    runpy.run_path(str(POLICY_DIR), run_name="__main__")  # how the CLI's runner starts a pack
    assert len(_Recorder.calls) == 1
    call = _Recorder.calls[0]
    assert call["name"] == "rancher-stacks-policies"
    assert call["enforcement_level"] == EnforcementLevel.MANDATORY
    assert [id(p) for p in call["policies"]] == [id(p) for p in policies.ALL_POLICIES]


def test_main_runs_as_a_script_from_a_directory_of_any_name(tmp_path: Path) -> None:
    """The CLI runs the pack with its own directory as sys.path[0]; `policies` is not importable."""
    pack = tmp_path / "unpacked-pack"
    shutil.copytree(POLICY_DIR, pack, ignore=shutil.ignore_patterns("__pycache__", "venv"))
    probe = (
        "import json, runpy, pulumi_policy\n"
        "seen = []\n"
        "pulumi_policy.PolicyPack = lambda **kw: seen.append(kw)\n"
        "runpy.run_path('.', run_name='__main__')\n"
        "print(json.dumps({'name': seen[0]['name'], 'policies': [p.name for p in seen[0]['policies']],\n"
        "                  'module': __import__('sys').modules['rancher_stacks_policy_pack'].__file__}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=pack,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    built = json.loads(out.stdout.strip().splitlines()[-1])
    assert built["name"] == policies.PACK_NAME
    assert built["policies"] == [p.name for p in policies.ALL_POLICIES]
    assert Path(built["module"]).parent == pack


def test_pack_project_files() -> None:
    spec = yaml.safe_load((POLICY_DIR / "PulumiPolicy.yaml").read_text())
    assert spec["runtime"] == {"name": "python", "options": {"virtualenv": "venv"}}
    assert spec["version"] and spec["description"]
    pins = (POLICY_DIR / "requirements.txt").read_text().split()
    assert {"pulumi-policy==1.21.0", "pulumi==3.272.0"} <= set(pins)
    main = (POLICY_DIR / "__main__.py").read_text()
    assert main.count("PolicyPack(") == 1 and "ResourceValidationPolicy(" not in main


# --- port rules -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ingress", "expected"),
    [
        (rule("tcp", 22, 22, "0.0.0.0/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (rule("tcp", 20, 30, "0.0.0.0/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (rule("tcp", 22, 22, "::/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (
            rule("tcp", 22, 22, "0000:0000:0000:0000:0000:0000:0000:0000/0"),
            {"no-public-admin-ports", "public-ports-allowlist"},
        ),
        (rule("6", 2375, 2376, "1.2.3.4/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (rule("-1", 0, 0, "0.0.0.0/0"), PORT_POLICIES),
        (rule("all", 0, 0, "::/0"), PORT_POLICIES),
        (rule("tcp", 0, 65535, "0.0.0.0/0"), PORT_POLICIES),
        (rule("tcp", -1, -1, "0.0.0.0/0"), PORT_POLICIES),
        (rule("tcp", 27017, 27017, "0.0.0.0/0"), {"no-public-data-ports", "public-ports-allowlist"}),
        (rule("tcp", 49200, 49200, "0.0.0.0/0"), {"no-public-data-ports", "public-ports-allowlist"}),
        (rule("udp", 5000, 5000, "0.0.0.0/0"), {"no-public-data-ports", "public-ports-allowlist"}),
        (rule("tcp", 5000, 5000, "0.0.0.0/0"), {"public-ports-allowlist"}),
        (rule("tcp", 8443, 8443, "0.0.0.0/0"), {"public-ports-allowlist"}),
        (rule("tcp", 0, 0, "0.0.0.0/0"), {"public-ports-allowlist"}),
        (rule("http", 22, 22, "0.0.0.0/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (rule("tcp", 22.0, 22.0, "0.0.0.0/0"), {"no-public-admin-ports", "public-ports-allowlist"}),
        (rule("tcp", 22, 22), {"no-public-admin-ports", "public-ports-allowlist"}),  # no source at all
        (rule("tcp", 80, 80, "0.0.0.0/0", "::/0"), set()),
        (rule("tcp", 443, 443, "0.0.0.0/0"), set()),
        (rule("tcp", 22, 22, "10.0.0.0/8", "192.168.0.0/16"), set()),
        (rule("tcp", 22, 22, "0.0.0.0/1"), set()),
        (rule("-1", 0, 0, self=True), set()),
        (rule("tcp", 22, 22, securityGroups=["sg-admin"]), set()),
        (rule("tcp", 22, 22, prefixListIds=["pl-123"]), set()),
        (rule("icmp", -1, -1, "0.0.0.0/0"), set()),
        (rule("50", 0, 0, "0.0.0.0/0"), set()),
    ],
)
def test_security_group_ingress(ingress: dict[str, Any], expected: set[str]) -> None:
    assert port_violations(sg(ingress)) == expected


def test_security_group_egress_is_ignored() -> None:
    wide_open = rule("-1", 0, 0, "0.0.0.0/0", "::/0")
    assert port_violations(sg(egress=[wide_open])) == set()
    egress_rule = res(SG_RULE, "out", {"type": "egress", **rule("tcp", 22, 22, "0.0.0.0/0")})
    assert port_violations(egress_rule) == set()


def test_security_group_rule_and_vpc_ingress_rule() -> None:
    ssh = res(SG_RULE, "ssh", {"type": "ingress", **rule("tcp", 3389, 3389, "0.0.0.0/0")})
    assert port_violations(ssh) == {"no-public-admin-ports", "public-ports-allowlist"}
    from_group = res(
        SG_RULE,
        "grp",
        {"type": "ingress", "protocol": "tcp", "fromPort": 22, "toPort": 22, "sourceSecurityGroupId": "sg-1"},
    )
    assert port_violations(from_group) == set()
    everything = res(INGRESS_RULE, "all", {"ipProtocol": "-1", "cidrIpv6": "::/0"})
    assert port_violations(everything) == PORT_POLICIES
    https = res(
        INGRESS_RULE, "https", {"ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": "0.0.0.0/0"}
    )
    assert port_violations(https) == set()
    referenced = res(
        INGRESS_RULE,
        "ref",
        {"ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "referencedSecurityGroupId": "sg-2"},
    )
    assert port_violations(referenced) == set()


def gcp(allows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return res(GCP_FIREWALL, "fw", {"allows": allows, **extra})


def test_gcp_firewall() -> None:
    world = {"sourceRanges": ["0.0.0.0/0"]}
    ssh = [{"protocol": "tcp", "ports": ["22"]}]
    assert port_violations(gcp(ssh, **world)) == {"no-public-admin-ports", "public-ports-allowlist"}
    assert port_violations(gcp([{"protocol": "tcp", "ports": ["1000-3000"]}], **world)) >= {
        "no-public-admin-ports"
    }
    assert port_violations(gcp([{"protocol": "tcp"}], **world)) == PORT_POLICIES  # no ports = all ports
    assert port_violations(gcp([{"protocol": "all"}], sourceRanges=["::/0"])) == PORT_POLICIES
    assert port_violations(gcp([{"protocol": "tcp", "ports": [80, "443"]}], **world)) == set()
    assert port_violations(gcp(ssh, direction="EGRESS", **world)) == set()
    assert port_violations(gcp(ssh, disabled=True, **world)) == set()
    assert port_violations(gcp(ssh, sourceRanges=["10.0.0.0/8"])) == set()
    assert port_violations(gcp(ssh, sourceTags=["bastion"])) == set()
    assert port_violations(gcp(ssh)) == {
        "no-public-admin-ports",
        "public-ports-allowlist",
    }  # GCP default source
    assert port_violations(gcp([{"protocol": "icmp"}], **world)) == set()


def test_digitalocean_firewall() -> None:
    def do(*rules: dict[str, Any]) -> dict[str, Any]:
        return res(DO_FIREWALL, "do-fw", {"inboundRules": list(rules)})

    assert (
        port_violations(do({"protocol": "tcp", "portRange": "all", "sourceAddresses": ["0.0.0.0/0"]}))
        == PORT_POLICIES
    )
    all_udp = do({"protocol": "udp", "sourceAddresses": ["::/0"]})  # absent portRange = all ports
    assert port_violations(all_udp) == PORT_POLICIES - {"no-public-admin-ports"}  # admin ports are tcp
    assert port_violations(
        do({"protocol": "tcp", "portRange": "8000-9300", "sourceAddresses": ["0.0.0.0/0"]})
    ) == {"no-public-admin-ports", "no-public-data-ports", "public-ports-allowlist"}
    assert (
        port_violations(do({"protocol": "tcp", "portRange": "443", "sourceAddresses": ["0.0.0.0/0", "::/0"]}))
        == set()
    )
    assert port_violations(do({"protocol": "icmp", "sourceAddresses": ["0.0.0.0/0"]})) == set()
    assert port_violations(do({"protocol": "tcp", "portRange": "22", "sourceDropletIds": [1]})) == set()


def test_allowed_public_ports_are_configurable() -> None:
    alt_https = sg(rule("tcp", 8443, 8443, "0.0.0.0/0"))
    assert port_violations(alt_https) == {"public-ports-allowlist"}
    assert port_violations(alt_https, {"allowedPublicPorts": [80, 443, 8443]}) == set()
    assert port_violations(alt_https, {"public-ports-allowlist": {"allowedPublicPorts": [8443.0]}}) == set()
    web = sg(rule("tcp", 80, 80, "0.0.0.0/0"))
    assert port_violations(web, {"allowedPublicPorts": [443]}) == {"public-ports-allowlist"}
    ssh = sg(rule("tcp", 22, 22, "0.0.0.0/0"))
    assert port_violations(ssh, {"allowedPublicPorts": [22]}) == {"no-public-admin-ports"}  # never allowable


def test_admin_cidrs() -> None:
    office = sg(rule("tcp", 22, 22, "203.0.113.0/24"))
    assert port_violations(office) == set()
    assert port_violations(office, {"adminCidrs": ["203.0.113.0/24"]}) == set()
    assert (
        port_violations(sg(rule("tcp", 22, 22, "203.0.113.8/29")), {"adminCidrs": ["203.0.113.0/24"]})
        == set()
    )
    assert port_violations(office, {"adminCidrs": ["198.51.100.7/32"]}) == {"no-public-admin-ports"}
    assert (
        port_violations(sg(rule("tcp", 22, 22, "10.1.0.0/16")), {"adminCidrs": ["198.51.100.7/32"]}) == set()
    )
    world = sg(rule("tcp", 22, 22, "0.0.0.0/0"))
    assert "no-public-admin-ports" in port_violations(world, {"adminCidrs": ["0.0.0.0/0"]})


def test_linux_dash_is_an_admin_port() -> None:
    """The per-host dashboard (8081) is for the admin networks only, never the world."""
    admins = {"adminCidrs": ["203.0.113.0/24"]}
    assert port_violations(sg(rule("tcp", 8081, 8081, "203.0.113.0/24")), admins) == set()
    assert port_violations(sg(rule("tcp", 8081, 8081, "0.0.0.0/0")), admins) >= {"no-public-admin-ports"}
    assert port_violations(sg(rule("tcp", 8081, 8081, "198.51.100.7/32")), admins) == {"no-public-admin-ports"}


def test_port_helpers() -> None:
    props = {"ingress": [rule("udp", 5000, 5000, "0.0.0.0/0"), rule("tcp", 8000, 8100, "::/0")]}
    assert exposes_to_world(SG, props, 5000, "udp")
    assert not exposes_to_world(SG, props, 5000, "tcp")
    assert exposes_to_world(SG, props, 8080)
    assert not exposes_to_world(SG, props, 22)
    assert not opens_all_ports_to_world(SG, props)
    assert [str(e.ports) for e in world_exposures(SG, props)] == ["5000", "8000-8100"]
    assert world_exposures("aws:s3/bucket:Bucket", props) == []
    assert [str(s) for s in uncovered_spans(PortSpan(8000, 8100), [8080, 8000, 9000])] == [
        "8001-8079",
        "8081-8100",
    ]
    assert uncovered_spans(PortSpan(80, 80), [80]) == []


@pytest.mark.parametrize(
    "props",
    [
        {"ingress": UNKNOWN},
        {"ingress": [UNKNOWN]},
        {"ingress": [rule("tcp", UNKNOWN, 22, "0.0.0.0/0")]},
        {"ingress": [rule(UNKNOWN, 22, 22, "0.0.0.0/0")]},
        {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": [UNKNOWN]}]},
        {"ingress": [{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": UNKNOWN}]},
        {"ingress": [{"protocol": "tcp", "fromPort": 22}]},
        {"ingress": "not-a-list"},
        {"ingress": [None, 7, "x", {"protocol": None}]},
        {},
    ],
)
def test_unknown_or_malformed_ingress_is_not_judged(props: dict[str, Any]) -> None:
    assert port_violations(res(SG, "odd", props)) == set()


def test_unknown_values_in_other_providers_are_not_judged() -> None:
    assert port_violations(gcp([{"protocol": "tcp", "ports": ["22"]}], sourceRanges=UNKNOWN)) == set()
    assert port_violations(gcp([{"protocol": "tcp", "ports": ["22"]}], sourceTags=[UNKNOWN])) == set()
    assert port_violations(gcp([{"protocol": "tcp", "ports": UNKNOWN}], sourceRanges=["0.0.0.0/0"])) == set()
    assert port_violations(gcp([{"protocol": "tcp", "ports": ["22"]}], direction=UNKNOWN)) == set()
    do = res(
        DO_FIREWALL,
        "fw",
        {"inboundRules": [{"protocol": "tcp", "portRange": UNKNOWN, "sourceAddresses": ["0.0.0.0/0"]}]},
    )
    assert port_violations(do) == set()


# --- security rules ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("props", "flagged"),
    [
        ({"encrypted": True}, False),
        ({"encrypted": "true"}, False),
        ({"encrypted": False}, True),
        ({}, True),
        ({"encrypted": UNKNOWN}, False),
    ],
)
def test_ebs_volume_encryption(props: dict[str, Any], flagged: bool) -> None:
    assert ("ebs-volume-encrypted" in policy_names(run([res(EBS, "vol", props)]))) is flagged


def ec2(**props: Any) -> dict[str, Any]:
    base = {"rootBlockDevice": {"encrypted": True}, "metadataOptions": {"httpTokens": "required"}}
    return res(EC2, "vm", {**base, **props})


def test_ec2_block_device_encryption() -> None:
    assert policy_names(run([ec2()])) == set()
    assert policy_names(run([ec2(rootBlockDevice={"encrypted": False})])) == {"ec2-block-devices-encrypted"}
    assert policy_names(run([ec2(rootBlockDevice={"volumeSize": 8})])) == {"ec2-block-devices-encrypted"}
    no_root = run([res(EC2, "vm", {"metadataOptions": {"httpTokens": "required"}})])
    assert policy_names(no_root) == {"ec2-block-devices-encrypted"}
    extra_disk = run(
        [ec2(ebsBlockDevices=[{"deviceName": "/dev/sdf", "encrypted": True}, {"deviceName": "/dev/sdg"}])]
    )
    assert [v["message"].split(" ")[:2] for v in extra_disk] == [["ebsBlockDevices[1]", "(/dev/sdg)"]]
    assert policy_names(run([ec2(rootBlockDevice=UNKNOWN)])) == set()


def test_ec2_imdsv2() -> None:
    assert policy_names(run([ec2(metadataOptions={"httpTokens": "optional"})])) == {"ec2-imdsv2-required"}
    assert policy_names(run([ec2(metadataOptions={})])) == {"ec2-imdsv2-required"}
    assert policy_names(run([ec2(metadataOptions={"httpEndpoint": "disabled"})])) == set()
    assert policy_names(run([ec2(metadataOptions={"httpTokens": UNKNOWN})])) == set()


IMDSV1_SAFE = {"httpTokens": "optional", "httpPutResponseHopLimit": 1}
CLOUD_CONFIG = "#cloud-config\nhostname: h\nssh_authorized_keys: [ssh-ed25519 AAAA x]\n"


def test_imdsv1_is_tolerated_only_where_it_can_leak_nothing() -> None:
    """RancherOS-family OSes read user data with IMDSv1 only: allowed without an instance profile,
    with hop limit 1 and no secret in the user data; each missing condition is named."""
    assert policy_names(run([ec2(metadataOptions=IMDSV1_SAFE, userData=CLOUD_CONFIG)])) == set()
    profile = run([ec2(metadataOptions=IMDSV1_SAFE, userData=CLOUD_CONFIG, iamInstanceProfile="ops")])
    assert "instance profile (ops)" in profile[0]["message"]
    hops = run([ec2(metadataOptions={**IMDSV1_SAFE, "httpPutResponseHopLimit": 2}, userData=CLOUD_CONFIG)])
    assert "hop limit is 2, not 1" in hops[0]["message"]
    unset = run([ec2(metadataOptions={"httpTokens": "optional"}, userData=CLOUD_CONFIG)])
    assert "hop limit is not set" in unset[0]["message"]
    key = CLOUD_CONFIG + "rancher:\n  ssh:\n    keys:\n      ed25519: '-----BEGIN OPENSSH PRIVATE KEY-----'\n"
    assert "user data holds a secret" in run([ec2(metadataOptions=IMDSV1_SAFE, userData=key)])[0]["message"]
    encoded = base64.b64encode(key.encode()).decode()
    assert policy_names(run([ec2(metadataOptions=IMDSV1_SAFE, userDataBase64=encoded)])) == {"ec2-imdsv2-required"}
    assert policy_names(run([ec2(metadataOptions=IMDSV1_SAFE, userData="[secret]")])) == {"ec2-imdsv2-required"}
    # Not known yet (a preview): not judged, like every other unknown.
    assert policy_names(run([ec2(metadataOptions=IMDSV1_SAFE, userData=UNKNOWN)])) == set()


@pytest.mark.parametrize(
    ("docker", "flagged"),
    [
        ({"host": ["unix:///var/run/docker.sock", "tcp://0.0.0.0:2375"]}, True),
        ({"host": "tcp://0.0.0.0:2375"}, True),
        ({"host": ["0.0.0.0:2375"]}, True),
        ({"extra_args": ["-H", "tcp://0.0.0.0:2375"]}, True),
        ({"extra_args": ["--host=tcp://0.0.0.0:2375", "--mtu", "1460"]}, True),
        ({"extra_args": "--debug -H tcp://10.0.0.5:2375"}, True),
        ({"extra_args": ["-Htcp://0.0.0.0:2375"]}, True),
        ({"host": ["tcp://0.0.0.0:2376"], "tls": True}, False),
        ({"extra_args": ["-H", "tcp://0.0.0.0:2376"], "tls": "true"}, False),
        ({"host": ["unix:///var/run/docker.sock"], "extra_args": ["--mtu", "1460"]}, False),
        ({"host": 2375}, False),
        ({}, False),
    ],
)
def test_docker_daemon_in_cloud_config(docker: dict[str, Any], flagged: bool) -> None:
    found = run([ec2(userData=cloud_config(docker))])
    assert ("docker-tcp-requires-tls" in policy_names(found)) is flagged


def test_docker_daemon_in_every_user_data_input() -> None:
    import base64

    text = cloud_config({"host": ["tcp://0.0.0.0:2375"]})
    encoded = base64.b64encode(text.encode()).decode()
    cases = [
        res(GCE, "gce", {"metadata": {"user-data": text}}),
        res(DROPLET, "droplet", {"userData": text}),
        ec2(userDataBase64=encoded),
    ]
    for case in cases:
        assert policy_names(run([case])) == {"docker-tcp-requires-tls"}, case["type"]
    not_cloud_config = text.replace("#cloud-config", "#!/bin/sh")
    broken = "#cloud-config\nrancher: [unclosed"
    for data in (not_cloud_config, broken, UNKNOWN, ""):
        assert policy_names(run([res(DROPLET, "d", {"userData": data})])) == set()
    assert policy_names(run([res(GCE, "gce", {"metadata": UNKNOWN})])) == set()


@pytest.mark.parametrize(
    ("props", "flagged"),
    [
        ({"host": "tcp://203.0.113.5:2375"}, True),
        ({"host": "TCP://203.0.113.5:2376", "certPath": ""}, True),
        ({"host": "tcp://203.0.113.5:2376", "certPath": "/certs"}, False),
        ({"host": "tcp://203.0.113.5:2376", "caMaterial": "-----BEGIN CERTIFICATE-----"}, False),
        ({"host": "ssh://rancher@203.0.113.5"}, False),
        ({"host": "unix:///var/run/docker.sock"}, False),
        ({"host": UNKNOWN}, False),
        ({"host": "tcp://203.0.113.5:2376", "certPath": UNKNOWN}, False),
        ({}, False),
    ],
)
def test_docker_provider_over_tcp(props: dict[str, Any], flagged: bool) -> None:
    found = run([res(DOCKER_PROVIDER, "docker", props)])
    assert ("docker-tcp-requires-tls" in policy_names(found)) is flagged


@pytest.mark.parametrize(
    ("props", "flagged"),
    [
        ({"tlsMode": "requireTLS"}, False),
        ({"tlsMode": "preferTLS"}, True),
        ({"tlsMode": "disabled"}, True),
        ({}, True),
        ({"tlsMode": UNKNOWN}, False),
    ],
)
def test_mongo_replica_sets_require_tls(props: dict[str, Any], flagged: bool) -> None:
    found = run([res(MONGO, "rs", {"members": 3, "hosts": ["a", "b", "c"], **props}, custom=False)])
    assert ("database-traffic-encrypted" in policy_names(found)) is flagged


# --- replica rules ----------------------------------------------------------------------------


def component(kind: str, **props: Any) -> dict[str, Any]:
    return res(kind, "c", props, custom=False)


@pytest.mark.parametrize(
    ("props", "config", "expected"),
    [
        ({"replicas": 2, "servers": ["a", "b"]}, None, 0),
        ({"replicas": 3, "servers": ["a", "b", "c", "d"]}, None, 0),
        ({"replicas": 1, "servers": ["a"]}, None, 1),
        ({"replicas": 2.0, "servers": ["a", "b"]}, {"minReplicas": 3}, 1),
        ({"replicas": 3, "servers": ["a", "b"]}, None, 1),
        ({"replicas": 2, "servers": ["a", "A"]}, None, 1),
        ({"replicas": 1, "servers": ["a", "a"]}, None, 2),
        ({"replicas": UNKNOWN, "servers": UNKNOWN}, None, 0),
        ({"replicas": 2, "servers": ["a", UNKNOWN]}, None, 0),
        ({}, None, 0),
    ],
)
def test_gluster_quorum(props: dict[str, Any], config: dict[str, Any] | None, expected: int) -> None:
    found = [v for v in run([component(GLUSTER, **props)], config) if v["policy"] == "gluster-replica-quorum"]
    assert len(found) == expected, found


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"members": 3, "hosts": ["a", "b", "c"]}, 0),
        ({"members": 5, "hosts": ["a", "b", "c", "d", "e"]}, 0),
        ({"members": 2, "hosts": ["a", "b"]}, 1),
        ({"members": 4, "hosts": ["a", "b", "c", "d"]}, 1),
        ({"members": 1, "hosts": ["a"]}, 1),
        ({"members": 3, "hosts": ["a", "b", "b"]}, 1),
        ({"members": 3, "hosts": ["a", "b"]}, 1),
        ({"members": UNKNOWN, "hosts": ["a", "b", "b"]}, 1),
        ({"members": "three", "hosts": UNKNOWN}, 0),
        ({}, 0),
    ],
)
def test_mongo_quorum(props: dict[str, Any], expected: int) -> None:
    found = [v for v in run([component(MONGO, **props)]) if v["policy"] == "mongo-replica-set-quorum"]
    assert len(found) == expected, found


@pytest.mark.parametrize(
    ("props", "expected"),
    [
        ({"backends": ["a", "b"], "healthCheckPath": "/health"}, 0),
        ({"backends": ["a"], "healthCheckPath": "/health"}, 1),
        ({"backends": ["a", "a"], "healthCheckPath": "/health"}, 1),
        ({"backends": [], "healthCheckPath": "/health"}, 1),
        ({"backends": ["a", "b"], "healthCheckPath": "  "}, 1),
        ({"backends": ["a"], "healthCheckPath": ""}, 2),
        ({"backends": UNKNOWN, "healthCheckPath": UNKNOWN}, 0),
        ({}, 0),
    ],
)
def test_load_balancer_redundancy(props: dict[str, Any], expected: int) -> None:
    found = [v for v in run([component(LOAD_BALANCER, **props)]) if v["policy"] == "load-balancer-redundancy"]
    assert len(found) == expected, found


def test_zone_spread_is_advisory() -> None:
    same_zone = run([component(GLUSTER, replicas=2, servers=["a", "b"], zones=["z1", "z1"])])
    assert [(v["policy"], v["enforcement"]) for v in same_zone] == [("replica-zone-spread", "advisory")]
    mongo = run([component(MONGO, members=3, hosts=["a", "b", "c"], zones=["z1"], tlsMode="requireTLS")])
    assert policy_names(mongo) == {"replica-zone-spread"}
    assert run([component(GLUSTER, replicas=2, servers=["a", "b"], zones=["z1", "z2"])]) == []
    assert policy_names(run([component(GLUSTER, replicas=2, servers=["a", "b"])])) == set()
    assert policy_names(run([component(GLUSTER, replicas=2, servers=["a", "b"], zones=UNKNOWN)])) == set()


def test_data_volumes_must_be_protected_or_retained() -> None:
    parent = urn(DATA_VOLUME, "data")
    data_volume = res(DATA_VOLUME, "data", {}, urn=parent, custom=False)

    def ebs(**options: Any) -> dict[str, Any]:
        return res(EBS, "ebs", {"encrypted": True}, parent=parent, **options)

    def flagged(*resources: dict[str, Any]) -> set[str]:
        return {v["resource"] for v in run(resources) if v["policy"] == "data-volume-protected"}

    assert flagged(data_volume, ebs()) == {"ebs"}
    assert flagged(data_volume, ebs(protect=True)) == set()
    assert flagged(data_volume, ebs(retainOnDelete=True)) == set()
    assert flagged(ebs(urn=urn(EBS, "ebs", DATA_VOLUME))) == {"ebs"}  # parent known from the URN only
    assert flagged(res(EBS, "scratch", {"encrypted": True})) == set()  # not under a DataVolume
    assert flagged(res(GCP_DISK, "disk", {}), res(DO_VOLUME, "vol", {})) == {"disk", "vol"}
    assert (
        flagged(res(GCP_DISK, "disk", {}, protect=True), res(DO_VOLUME, "vol", {}, retainOnDelete=True))
        == set()
    )


def _backup_flags(resources: list[dict[str, Any]]) -> dict[str, str]:
    return {v["resource"]: v["message"] for v in run(resources) if v["policy"] == "data-volume-backed-up"}


def test_ebs_data_volumes_need_the_tags_of_an_enabled_dlm_policy_with_a_retain_rule() -> None:
    assert _backup_flags(baseline()) == {}
    untagged = replace_props(baseline(), "gluster-data-0-ebs", tags={"Name": "gluster-data-0"})
    assert "carries no tag set that a DLM lifecycle policy" in _backup_flags(untagged)["gluster-data-0-ebs"]
    other_stack = replace_props(baseline(), "gluster-data-0-ebs", tags={"rancher-stacks:backup": "other"})
    assert set(_backup_flags(other_stack)) == {"gluster-data-0-ebs"}
    disabled = replace_props(baseline(), "snapshots", state="DISABLED")
    message = _backup_flags(disabled)["gluster-data-0-ebs"]
    assert message.startswith("EBS data volume gluster-data-0-ebs has no scheduled snapshots")
    assert "the DLM policy snapshots that targets it is DISABLED" in message
    details = dlm_policy()["props"]["policyDetails"]
    no_retain = replace_props(
        baseline(), "snapshots", policyDetails={**details, "schedules": [{"name": "x", "createRule": {"interval": 24}}]}
    )
    assert "no schedule with a create rule and a retain rule" in _backup_flags(no_retain)["gluster-data-0-ebs"]
    by_count = replace_props(
        baseline(), "snapshots",
        policyDetails={**details, "schedules": [{"name": "x", "createRule": {"interval": 12}, "retainRule": {"count": 14}}]},
    )
    assert _backup_flags(by_count) == {}
    # A scratch EBS volume outside a DataVolume is not a data volume; unknown tags are not judged.
    assert _backup_flags([res(EBS, "scratch", {"encrypted": True})]) == {}
    assert _backup_flags(replace_props(baseline(), "gluster-data-0-ebs", tags=UNKNOWN)) == {}
    assert _backup_flags(replace_props(baseline(), "snapshots", state=UNKNOWN)) == {}


def test_gcp_disks_need_an_attachment_to_a_snapshot_schedule_and_do_volumes_always_fail() -> None:
    disk_urn = urn(GCP_DISK, "db-0-disk")
    policy_urn = urn(GCP_RESOURCE_POLICY, "schedule")
    disk = res(GCP_DISK, "db-0-disk", {"name": "db-0-disk-1a2b3c4", "zone": "us-central1-a"}, urn=disk_urn)
    schedule = {"schedule": {"dailySchedule": {"daysInCycle": 1, "startTime": "04:00"}}}
    policy = res(GCP_RESOURCE_POLICY, "schedule", {"name": "schedule-9f8e7d6", "snapshotSchedulePolicy": schedule},
                 urn=policy_urn)

    def attachment(**props: Any) -> dict[str, Any]:
        return res(GCP_DISK_POLICY_ATTACHMENT, "db-0-snapshots", props)

    by_name = attachment(disk="db-0-disk-1a2b3c4", name="schedule-9f8e7d6", zone="us-central1-a")
    assert _backup_flags([disk, policy, by_name]) == {}
    by_dependency = {**attachment(zone="us-central1-a"), "dependencies": [disk_urn, policy_urn]}
    assert _backup_flags([disk, policy, by_dependency]) == {}
    own = res(GCP_DISK, "db-0-disk", {"name": "d", "resourcePolicies": ["projects/p/regions/r/resourcePolicies/schedule-9f8e7d6"]})
    assert _backup_flags([own, policy]) == {}
    missing = _backup_flags([disk, policy])["db-0-disk"]
    assert missing.startswith("GCP data disk db-0-disk has no scheduled snapshots: no DiskResourcePolicyAttachment")
    other_disk = attachment(disk="db-1-disk", name="schedule-9f8e7d6")
    assert set(_backup_flags([disk, policy, other_disk])) == {"db-0-disk"}
    unscheduled = res(GCP_RESOURCE_POLICY, "schedule", {"name": "schedule-9f8e7d6"}, urn=policy_urn)
    assert "has no snapshot schedule" in _backup_flags([disk, unscheduled, by_name])["db-0-disk"]
    assert _backup_flags([disk, policy, attachment(disk=UNKNOWN, name="schedule-9f8e7d6")]) == {}
    do = _backup_flags([res(DO_VOLUME, "vol", {}, protect=True)])["vol"]
    assert "DigitalOcean has no scheduled snapshots for volumes" in do


# --- evaluate() -------------------------------------------------------------------------------


def test_baseline_is_clean() -> None:
    assert run(baseline()) == []


@pytest.mark.parametrize(
    ("name", "change", "expected"),
    [
        (
            "web-sg",
            {"ingress": [rule("tcp", 22, 22, "0.0.0.0/0")]},
            {"no-public-admin-ports", "public-ports-allowlist"},
        ),
        ("gluster", {"replicas": 1}, {"gluster-replica-quorum"}),
        ("mongo", {"members": 2, "hosts": ["m0", "m1"]}, {"mongo-replica-set-quorum"}),
        ("gluster-data-0-ebs", {"encrypted": False}, {"ebs-volume-encrypted"}),
        ("rancher-0", {"metadataOptions": {"httpTokens": "optional"}}, {"ec2-imdsv2-required"}),
        (
            "rancher-0",
            {"userData": cloud_config({"host": ["tcp://0.0.0.0:2375"]})},
            {"docker-tcp-requires-tls"},
        ),
        ("docker-remote", {"host": "tcp://10.0.1.5:2375"}, {"docker-tcp-requires-tls"}),
        ("lb", {"backends": ["w0"]}, {"load-balancer-redundancy"}),
    ],
)
def test_mutations_of_the_baseline_fail(name: str, change: dict[str, Any], expected: set[str]) -> None:
    found = run(replace_props(baseline(), name, **change))
    assert policy_names(found) == expected
    assert {v["resource"] for v in found} == {name}
    assert {v["enforcement"] for v in found} == {"mandatory"}


def test_violation_shape_and_deterministic_order() -> None:
    resources = baseline() + [sg(rule("-1", 0, 0, "0.0.0.0/0"), name="open"), component(MONGO, members=2)]
    first, second = run(resources), run(list(reversed(resources)))
    assert first == second
    assert first == sorted(first, key=lambda v: (v["resource"], v["policy"], v["message"]))
    assert all(set(v) == {"policy", "resource", "message", "enforcement"} for v in first)
    assert all(isinstance(v["message"], str) and v["message"] for v in first)


def test_config_can_set_enforcement_levels() -> None:
    ssh = [sg(rule("tcp", 22, 22, "0.0.0.0/0"))]
    assert {v["enforcement"] for v in run(ssh, {"all": "advisory"})} == {"advisory"}
    assert policy_names(run(ssh, {"no-public-admin-ports": "disabled"})) == {"public-ports-allowlist"}
    levels = {
        v["policy"]: v["enforcement"]
        for v in run(ssh, {"public-ports-allowlist": {"enforcementLevel": "advisory"}})
    }
    assert levels == {"no-public-admin-ports": "mandatory", "public-ports-allowlist": "advisory"}


def test_evaluate_survives_malformed_input() -> None:
    garbage: list[Any] = [
        {"type": SG},
        {"type": SG, "name": "n", "props": None},
        {
            "type": GLUSTER,
            "name": "g",
            "props": {"replicas": None, "servers": None},
            "parent": 5,
            "dependencies": "x",
        },
        {"name": "no-type"},
        "not-a-dict",
        {
            "type": EC2,
            "name": "vm",
            "props": {"rootBlockDevice": "oops", "metadataOptions": [1], "userData": 7},
        },
    ]
    found = policies.evaluate(garbage)
    assert {(v["resource"], v["policy"]) for v in found} == {
        ("vm", "ec2-block-devices-encrypted"),
        ("vm", "ec2-imdsv2-required"),
    }


def test_evaluate_calls_the_registered_policies_with_real_sdk_arguments(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    by_name = {p.name: p for p in policies.ALL_POLICIES}
    seen: dict[str, Any] = {}

    def spy_resource(args: Any, report: Any) -> None:
        seen.setdefault("resource", []).append(args)

    def spy_stack(args: Any, report: Any) -> None:
        seen["stack"] = args
        report("stack-level finding", args.resources[1].urn)
        report("no resource named", None)

    monkeypatch.setattr(by_name["public-ports-allowlist"], "validate", spy_resource)
    monkeypatch.setattr(by_name["gluster-replica-quorum"], "validate", spy_stack)
    parent = urn(DATA_VOLUME, "data")
    aws = urn("pulumi:providers:aws", "west")
    resources = [
        res(DATA_VOLUME, "data", {}, urn=parent),
        res(
            EBS,
            "ebs",
            {"encrypted": True},
            parent=parent,
            protect=True,
            dependencies=[parent],
            provider=f"{aws}::west_id",
        ),
        res("pulumi:providers:aws", "west", {"region": "us-west-2"}, urn=aws),
    ]
    found = run(resources, {"allowedPublicPorts": [8443.0], "minReplicas": 3})

    resource_args = seen["resource"]
    assert [type(a) for a in resource_args] == [ResourceValidationArgs] * 3
    assert resource_args[0].get_config() == {"allowedPublicPorts": [8443.0]}
    assert resource_args[1].opts.parent == parent and resource_args[1].opts.protect is True
    assert resource_args[1].provider.urn == aws and resource_args[1].provider.props["region"] == "us-west-2"
    assert resource_args[0].provider is None
    stack = seen["stack"]
    assert isinstance(stack, StackValidationArgs) and all(
        isinstance(r, PolicyResource) for r in stack.resources
    )
    assert stack.get_config() == {"minReplicas": 3}
    assert stack.resources[1].parent is stack.resources[0]
    assert stack.resources[1].dependencies == [stack.resources[0]]
    provider = stack.resources[1].provider
    assert provider is not None and provider.name == "west"
    stack_found = [(v["resource"], v["message"]) for v in found if v["policy"] == "gluster-replica-quorum"]
    assert stack_found == [("(stack)", "no resource named"), ("ebs", "stack-level finding")]


def test_default_config_reaches_policies() -> None:
    by_name = {p.name: p for p in policies.ALL_POLICIES}
    assert policies.offline.policy_config(by_name["public-ports-allowlist"], {}) == {
        "allowedPublicPorts": [80, 443]
    }
    assert policies.offline.policy_config(by_name["gluster-replica-quorum"], {"allowedPublicPorts": [1]}) == {
        "minReplicas": 2
    }
    assert policies.offline.policy_config(by_name["no-public-data-ports"], {"minReplicas": 5}) == {}
