"""A 2-host AWS group with data volumes, under the mock engine."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml
from host_runs import (
    ADMIN_V4,
    ADMIN_V6,
    SG_RULE,
    SSH_KEY,
    assert_parents_reach_components,
    one,
    parent_chain,
    provider_urn,
    run,
    stack_config,
    world_exposures,
)

from rancher_stacks.clouds.registry import make_cloud_bases
from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.hosts.dockerhost import SshSettings
from rancher_stacks.hosts.hostgroup import HostGroup, HostGroupArgs
from rancher_stacks.net.rules import FromSelf, Rule
from tools.mock_outputs import public_ip
from tools.mockengine import ProgramRun

INSTANCE = "aws:ec2/instance:Instance"
VOLUME = "aws:ebs/volume:Volume"
ATTACHMENT = "aws:ec2/volumeAttachment:VolumeAttachment"
MOCK_AMI = "ami-02fe87f853d560d52"  # tools.mock_outputs: the getAmi answer
AWS_ONLY = {"storage": {"cloud": "aws", "servers": 2}}


def _program(
    invokes: list[tuple[str, dict]],
    *,
    protect: bool = True,
    host_os: str = "rancheros",
    backups: dict[str, Any] | None = None,
    **clouds: Any,
) -> ProgramRun:
    """Two storage hosts; RancherOS by default, whose public AMIs are looked up."""
    cfg = stack_config(
        workloads=AWS_ONLY,
        protectStateful=protect,
        backups=backups or {},
        hostOs={"name": host_os},
        clouds={"aws": {"region": "us-east-1", "zones": ["us-east-1a", "us-east-1b"], **clouds}},
    )

    def program() -> None:
        bases = make_cloud_bases(cfg, SshSettings())
        HostGroup(
            "storage",
            HostGroupArgs(
                base=bases["aws"],
                count=2,
                data_volume_gb=20,
                ingress=[Rule("gluster", FromSelf())],
                sysctl={"vm.max_map_count": "262144"},
            ),
        )

    return run(program, invokes)


AWS_INVOKES: list[tuple[str, dict]] = []


@pytest.fixture(scope="module")
def aws_run() -> ProgramRun:
    return _program(AWS_INVOKES)


def test_resource_counts_of_a_two_host_group(aws_run: ProgramRun) -> None:
    custom = [r for r in aws_run.resources if r.custom]
    counts: dict[str, int] = {}
    for r in custom:
        counts[r.type] = counts.get(r.type, 0) + 1
    assert counts == {
        "pulumi:providers:aws": 1,
        "aws:ec2/keyPair:KeyPair": 1,
        "aws:ec2/securityGroup:SecurityGroup": 1,
        SG_RULE: 2 + 2 * 3,  # ssh v4+v6; gluster 2 ranges x (self SG + 2 host IPs)
        "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule": 2,
        INSTANCE: 2,
        "aws:ec2/eip:Eip": 2,  # static addresses: stop/start keeps them
        "aws:ec2/eipAssociation:EipAssociation": 2,
        VOLUME: 2,
        ATTACHMENT: 2,
        # backups (on by default): one DLM policy for the stack, run by its own role
        "aws:dlm/lifecyclePolicy:LifecyclePolicy": 1,
        "aws:iam/role:Role": 1,
        "aws:iam/rolePolicyAttachment:RolePolicyAttachment": 1,
        "pulumi:providers:docker": 2,
        "command:remote:Command": 4,  # per host: wait for docker, check (and grow) its data volume
        "command:local:Command": 2,  # each host's key, read once and pinned
    }


def test_instances_imdsv2_encrypted_gp3_root_key_pair_sg_and_zones(aws_run: ProgramRun) -> None:
    (key,) = aws_run.by_type("aws:ec2/keyPair:KeyPair")
    assert key.inputs["publicKey"] == SSH_KEY
    (sg,) = aws_run.by_type("aws:ec2/securityGroup:SecurityGroup")
    instances = sorted(aws_run.by_type(INSTANCE), key=lambda r: r.name)
    assert [r.name for r in instances] == ["storage-0-vm-instance", "storage-1-vm-instance"]
    assert [r.inputs["availabilityZone"] for r in instances] == ["us-east-1a", "us-east-1b"]
    for inst in instances:
        i = inst.inputs
        assert i["ami"] == MOCK_AMI
        assert i["instanceType"] == "t3.medium"
        # RancherOS reads user data with IMDSv1 only: tokens optional, hop limit 1, no profile.
        assert i["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "optional", "httpPutResponseHopLimit": 1}
        assert "iamInstanceProfile" not in i
        root = i["rootBlockDevice"]
        assert root["encrypted"] is True and root["volumeType"] == "gp3" and root["volumeSize"] == 20
        assert i["keyName"] == key.id
        assert i["vpcSecurityGroupIds"] == [sg.id]
        assert i["subnetId"].startswith("subnet-")
        assert i["associatePublicIpAddress"] is True
        assert "volumeTags" not in i
        assert inst.provider_urn == provider_urn(aws_run, "aws")
    assert instances[0].inputs["subnetId"] != instances[1].inputs["subnetId"]


def test_ami_lookup_uses_rancher_account_and_version_and_a_pinned_ami_wins(aws_run: ProgramRun) -> None:
    tokens = [token for token, _ in AWS_INVOKES]
    assert tokens.count("aws:ec2/getVpc:getVpc") == 1
    assert sorted(a["availabilityZone"] for t, a in AWS_INVOKES if t == "aws:ec2/getSubnet:getSubnet") == [
        "us-east-1a",
        "us-east-1b",
    ]
    (ami,) = [args for token, args in AWS_INVOKES if token == "aws:ec2/getAmi:getAmi"]
    assert ami["owners"] == ["605812595337"] and ami["mostRecent"] is True
    # Years-old AMIs are deprecated: hidden from DescribeImages unless included.
    assert ami["includeDeprecated"] is True
    assert ami["filters"] == [
        {"name": "name", "values": ["rancheros-v1.5.8-hvm-*"]},
        {"name": "virtualization-type", "values": ["hvm"]},
    ]
    pinned_invokes: list[tuple[str, dict]] = []
    pinned = _program(pinned_invokes, amiId="ami-0cdefa6a0646eb511")
    assert {r.inputs["ami"] for r in pinned.by_type(INSTANCE)} == {"ami-0cdefa6a0646eb511"}
    assert "aws:ec2/getAmi:getAmi" not in [token for token, _ in pinned_invokes]


def test_data_volumes_encrypted_gp3_protected_retained_in_the_host_zone(aws_run: ProgramRun) -> None:
    volumes = sorted(aws_run.by_type(VOLUME), key=lambda r: r.name)
    assert [v.inputs["availabilityZone"] for v in volumes] == ["us-east-1a", "us-east-1b"]
    for v in volumes:
        assert v.inputs["encrypted"] is True and v.inputs["type"] == "gp3" and v.inputs["size"] == 20
        assert v.protect is True and v.retain_on_delete is True
        assert parent_chain(aws_run, v)[0].type == "rancher-stacks:index:DataVolume"
    dv = aws_run.by_type("rancher-stacks:index:DataVolume")
    assert len(dv) == 2


def test_volumes_carry_the_tag_the_stack_dlm_policy_snapshots_by_age(aws_run: ProgramRun) -> None:
    (policy,) = aws_run.by_type("aws:dlm/lifecyclePolicy:LifecyclePolicy")
    (role,) = aws_run.by_type("aws:iam/role:Role")
    (grant,) = aws_run.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
    details = policy.inputs["policyDetails"]
    target = details["targetTags"]
    assert target == {"rancher-stacks:backup": "rancher-stacks-test"}  # <project>-<stack> of the mock
    for volume in aws_run.by_type(VOLUME):
        assert target.items() <= volume.inputs["tags"].items(), volume.name
    assert policy.inputs["state"] == "ENABLED" and details["resourceTypes"] == ["VOLUME"]
    (schedule,) = details["schedules"]
    assert schedule["createRule"] == {"interval": 24, "intervalUnit": "HOURS", "times": "04:00"}
    assert schedule["retainRule"] == {"interval": 7, "intervalUnit": "DAYS"} and schedule["copyTags"] is True
    trust = json.loads(role.inputs["assumeRolePolicy"])["Statement"]
    assert trust == [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "dlm.amazonaws.com"}}]
    assert grant.inputs["policyArn"] == "arn:aws:iam::aws:policy/service-role/AWSDataLifecycleManagerServiceRole"
    assert policy.inputs["executionRoleArn"].endswith(":role/" + grant.inputs["role"])
    assert grant.urn in policy.dependencies  # the role holds its permissions before DLM uses it


def test_without_backups_no_dlm_policy_and_no_tag() -> None:
    off = _program([], backups={"enabled": False})
    assert off.by_type("aws:dlm/lifecyclePolicy:LifecyclePolicy") == [] and off.by_type("aws:iam/role:Role") == []
    assert all("rancher-stacks:backup" not in v.inputs["tags"] for v in off.by_type(VOLUME))


def test_unprotected_stacks_still_retain_volumes() -> None:
    unprotected = _program([], protect=False)
    for v in unprotected.by_type(VOLUME):
        assert v.protect is False and v.retain_on_delete is True


def test_attachment_links_volume_and_instance_and_cloud_config_names_the_volume(aws_run: ProgramRun) -> None:
    for i in (0, 1):
        inst = one(aws_run, INSTANCE, f"storage-{i}-vm-instance")
        vol = one(aws_run, VOLUME, f"storage-{i}-data-volume")
        att = one(aws_run, ATTACHMENT, f"storage-{i}-data-attachment")
        assert att.inputs == {
            "deviceName": "/dev/sdf", "volumeId": vol.id, "instanceId": inst.id, "stopInstanceBeforeDetaching": True,
        }
        assert att.delete_before_replace is True
        assert inst.urn in att.dependencies and vol.urn in att.dependencies
        user_data = inst.inputs["userData"]
        assert user_data.startswith("#cloud-config\n")
        doc = yaml.safe_load(user_data)
        serial = vol.id.replace("-", "", 1)
        assert doc["mounts"] == [
            [f"/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_{serial}", "/mnt/data", "ext4", "noatime"]
        ]
        assert f"NVME_SERIAL='{serial}'" in doc["write_files"][0]["content"]
        assert doc["hostname"] == f"storage-{i}"
        assert doc["rancher"]["sysctl"] == {"vm.max_map_count": "262144"}
        assert vol.urn in inst.dependencies  # the volume exists before the instance boots


def test_docker_hosts_wait_for_instance_attachment_and_mount(aws_run: ProgramRun) -> None:
    for i in (0, 1):
        wait = one(aws_run, "command:remote:Command", f"storage-{i}-wait-docker")
        inst = one(aws_run, INSTANCE, f"storage-{i}-vm-instance")
        att = one(aws_run, ATTACHMENT, f"storage-{i}-data-attachment")
        assert inst.urn in wait.dependencies and att.urn in wait.dependencies
        assert "' /mnt/data ' /proc/mounts" in wait.inputs["create"]
        assert wait.inputs["connection"] == "[secret]"  # the command provider keeps it secret
        docker = one(aws_run, "pulumi:providers:docker", f"storage-{i}-docker")
        assert docker.inputs["host"].startswith("ssh://rancher@") and docker.inputs["host"].endswith(":22")


def test_ssh_only_from_admin_cidrs_and_nothing_admin_open_to_the_world(aws_run: ProgramRun) -> None:
    ssh = [r for r in aws_run.by_type(SG_RULE) if r.inputs["fromPort"] <= 22 <= r.inputs["toPort"]]
    assert {r.inputs.get("cidrIpv4") or r.inputs.get("cidrIpv6") for r in ssh} == {ADMIN_V4, ADMIN_V6}
    assert world_exposures(aws_run) == []


def test_self_rules_reference_the_group_sg_and_the_instances_ips(aws_run: ProgramRun) -> None:
    (sg,) = aws_run.by_type("aws:ec2/securityGroup:SecurityGroup")
    instances = aws_run.by_type(INSTANCE)
    # Each host's static address (an Elastic IP), not the instance's changing public IP.
    expected = sorted(f"{public_ip(inst.name.replace('-instance', '-ip'))}/32" for inst in instances)
    gluster = [r for r in aws_run.by_type(SG_RULE) if "-gluster-" in r.name]
    assert {r.inputs.get("referencedSecurityGroupId") for r in gluster} - {None} == {sg.id}
    for first in (24007, 49152):
        host_rules = [r for r in gluster if "cidrIpv4" in r.inputs and r.inputs["fromPort"] == first]
        assert sorted(r.inputs["cidrIpv4"] for r in host_rules) == expected
        associations = aws_run.by_type("aws:ec2/eipAssociation:EipAssociation")
        assert all(any(inst.urn in a.dependencies for a in associations) for inst in instances)
        for rule in host_rules:  # after the addresses reach the instances: SG -> instances -> rules
            assert all(a.urn in rule.dependencies for a in associations)
    assert all(sg.urn in inst.dependencies for inst in instances) and not sg.dependencies


def test_every_child_hangs_under_a_component(aws_run: ProgramRun) -> None:
    assert_parents_reach_components(aws_run)
    (group,) = aws_run.by_type("rancher-stacks:index:HostGroup")
    for r in aws_run.resources:
        if r.type.startswith("aws:") or r.type.startswith("command:"):
            chain = parent_chain(aws_run, r)
            assert group in chain or chain[0].type == "rancher-stacks:index:AwsBase", r.name


def test_imdsv1_hosts_pass_the_pack_and_required_tokens_are_refused_for_an_imdsv1_os():
    """Neither RancherOS-family OS reads user data with IMDSv2 tokens: "required" would boot a
    host without its cloud-config, so it is a config error; the default "optional" passes the
    pack because the instances have no profile, hop limit 1 and no secret in their user data."""
    from rancher_stacks import policies
    from tools.planfile import build_plan, policy_resources

    burmilla = _program([], host_os="burmillaos", amiId="ami-0b0a5e5e1e5b0a5e5")
    instances = burmilla.by_type(INSTANCE)
    assert instances and all(i.inputs["metadataOptions"]["httpTokens"] == "optional" for i in instances)
    assert [v for v in policies.evaluate(policy_resources(build_plan(burmilla))) if v["policy"] == "ec2-imdsv2-required"] == []
    with pytest.raises(ConfigError, match=r"rancher-stacks:clouds\.aws\.imdsHttpTokens: expected 'optional'"):
        _program([], host_os="burmillaos", amiId="ami-0b0a5e5e1e5b0a5e5", imdsHttpTokens="required")


def test_burmillaos_needs_the_ami_you_built():
    with pytest.raises(ConfigError, match=r"rancher-stacks:clouds\.aws\.amiId: expected an AMI id; BurmillaOS publishes no"):
        parse_stack_config(
            {"sshPublicKey": SSH_KEY, "adminCidrs": ["198.51.100.0/24"], "clouds": {"aws": {}}, "workloads": AWS_ONLY}
        )
