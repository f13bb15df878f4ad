"""The plan diff tells an in-place update from a replacement, and warns first about data and hosts."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from tools.diff import diff_plans, render_markdown
from tools.plan import main
from tools.replacements import MISSING, classified, replacing

ROOT = Path(__file__).resolve().parents[2]


def res(type_: str, name: str, inputs: dict[str, Any], deps: tuple[str, ...] = (), **extra: Any) -> dict[str, Any]:
    return {"urn": f"urn:{name}", "type": type_, "name": name, "custom": True, "inputs": inputs,
            "dependencies": list(deps), **extra}


def plan(*resources: dict[str, Any]) -> dict[str, Any]:
    return {"stack": "s", "project": "p", "resources": list(resources), "outputs": {}}


@pytest.mark.parametrize(
    ("type_", "path", "base", "head", "replaces"),
    [
        ("aws:ebs/volume:Volume", "availabilityZone", "us-east-1a", "us-east-1b", True),
        ("aws:ebs/volume:Volume", "size", 10, 20, False),
        ("aws:ec2/instance:Instance", "instanceType", "t3.small", "t3.large", False),
        ("aws:ec2/instance:Instance", "ami", "ami-1", "ami-2", True),
        ("aws:ec2/instance:Instance", "userData", "a", "b", False),
        ("aws:ec2/instance:Instance", "rootBlockDevice.volumeSize", 20, 30, False),
        ("aws:ec2/instance:Instance", "rootBlockDevice.encrypted", True, False, True),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cidrIpv4", "1.2.3.4/32", "1.2.3.5/32", False),
        ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "cidrIpv4", "1.2.3.4/32", MISSING, True),
        ("gcp:compute/disk:Disk", "size", 10, 20, False),
        ("gcp:compute/disk:Disk", "size", 20, 10, True),
        ("gcp:compute/instance:Instance", "machineType", "e2-small", "e2-medium", False),
        ("gcp:compute/instance:Instance", "bootDisk.initializeParams.image", "a", "b", True),
        ("gcp:compute/instance:Instance", "bootDisk.initializeParams.size", 20, 30, False),
        ("digitalocean:index/droplet:Droplet", "userData", "a", "b", True),
        ("digitalocean:index/droplet:Droplet", "size", "s-1vcpu-2gb", "s-2vcpu-4gb", False),
        ("digitalocean:index/droplet:Droplet", "sshKeys[0]", "aa", "bb", True),
        # reserved IPs: only the region forces a new address; an assignment has no update at all
        ("digitalocean:index/reservedIp:ReservedIp", "region", "nyc3", "sfo3", True),
        ("digitalocean:index/reservedIp:ReservedIp", "dropletId", 1, 2, False),
        ("digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "dropletId", 1, 2, True),
        ("digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "ipAddress", "192.0.2.1", "192.0.2.2", True),
        ("docker:index/container:Container", "envs[1]", "A=1", "A=2", True),
        ("docker:index/container:Container", "restart", "no", "unless-stopped", False),
        ("command:remote:Command", "create", "a", "b", False),
        ("command:remote:Command", "triggers[0]", "a", "b", True),
        # backups: a new schedule or retention is an in-place update; only copyTags replaces
        ("aws:dlm/lifecyclePolicy:LifecyclePolicy", "policyDetails.schedules[0].retainRule.interval", 7, 14, False),
        ("aws:dlm/lifecyclePolicy:LifecyclePolicy", "state", "ENABLED", "DISABLED", False),
        ("aws:dlm/lifecyclePolicy:LifecyclePolicy", "policyDetails.schedules[0].copyTags", True, False, True),
        ("aws:iam/role:Role", "assumeRolePolicy", "a", "b", False),
        ("aws:iam/rolePolicyAttachment:RolePolicyAttachment", "policyArn", "a", "b", True),
        ("gcp:compute/resourcePolicy:ResourcePolicy",
         "snapshotSchedulePolicy.retentionPolicy.maxRetentionDays", 7, 14, False),
        ("gcp:compute/resourcePolicy:ResourcePolicy", "region", "us-central1", "us-east1", True),
        ("gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment", "name", "a", "b", True),
        ("aws:eks/cluster:Cluster", "version", "1.35", "1.36", False),  # an in-place upgrade
        ("aws:eks/cluster:Cluster", "vpcConfig.publicAccessCidrs[0]", "203.0.113.0/24", "198.51.100.0/24", False),
        ("aws:eks/cluster:Cluster", "name", "a", "b", True),
        ("aws:eks/cluster:Cluster", "accessConfig.bootstrapClusterCreatorAdminPermissions", True, False, True),
        ("aws:eks/nodeGroup:NodeGroup", "scalingConfig.maxSize", 6, 8, False),
        ("aws:eks/nodeGroup:NodeGroup", "launchTemplate.version", "1", "2", False),
        ("aws:eks/nodeGroup:NodeGroup", "instanceTypes[0]", "t3.large", "t3.xlarge", True),
        ("aws:ec2/subnet:Subnet", "cidrBlock", "10.60.0.0/20", "10.60.16.0/20", True),
        ("aws:kms/key:Key", "enableKeyRotation", False, True, False),
        ("kubernetes:apps/v1:Deployment", "spec.replicas", 2, 3, False),
        ("kubernetes:apps/v1:Deployment", "spec.selector.matchLabels.app", "a", "b", True),
        ("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding", "roleRef.name", "a", "b", True),
    ],
)
def test_each_change_is_classified_as_the_provider_would(type_, path, base, head, replaces) -> None:
    assert bool(replacing(type_, [(path, base, head)])) is replaces


def test_every_type_the_shipped_stacks_use_is_classified() -> None:
    from tools.plan import plan_stack

    used = {r["type"] for path in sorted(ROOT.glob("Pulumi.*.yaml")) for r in plan_stack(path)["resources"]
            if r["custom"] and not r["type"].startswith("pulumi:providers:")}
    unknown = sorted(t for t in used if not classified(t))
    assert unknown == [], "add these to tools/replacements.py with their source"
    backup_types = {"aws:dlm/lifecyclePolicy:LifecyclePolicy", "aws:iam/role:Role",
                    "aws:iam/rolePolicyAttachment:RolePolicyAttachment", "gcp:compute/resourcePolicy:ResourcePolicy",
                    "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"}
    assert backup_types <= used  # the stacks really use the backup types this test vouches for


def test_a_replaced_static_address_is_a_warning_a_moved_assignment_is_not() -> None:
    address = res("digitalocean:index/reservedIp:ReservedIp", "web-0-vm-ip", {"region": "nyc3"})
    assignment = res("digitalocean:index/reservedIpAssignment:ReservedIpAssignment", "web-0-vm-ip-assignment",
                     {"ipAddress": "192.0.2.1", "dropletId": 1})
    base = plan(address, assignment)
    moved = copy.deepcopy(base)
    moved["resources"][1]["inputs"]["dropletId"] = 2
    d = diff_plans(base, moved)
    assert d.kind(moved["resources"][1]) == "replace" and d.dangers == []
    elsewhere = copy.deepcopy(base)
    elsewhere["resources"][0]["inputs"]["region"] = "sfo3"
    (danger,) = diff_plans(base, elsewhere).dangers
    assert danger.startswith("would replace a static address: `digitalocean:index/reservedIp:ReservedIp` "
                             "`web-0-vm-ip` (region): the host gets a new public address")


def test_a_replaced_volume_and_a_dropped_volume_lead_the_markdown() -> None:
    vol = res("aws:ebs/volume:Volume", "data", {"availabilityZone": "us-east-1a", "size": 10}, retainOnDelete=True)
    key = res("aws:ec2/keyPair:KeyPair", "key", {"publicKey": "ssh-ed25519 A"})
    vm = res("aws:ec2/instance:Instance", "vm", {"ami": "ami-1"}, deps=("urn:key",))
    gone = res("gcp:compute/disk:Disk", "old-disk", {"zone": "z"}, retainOnDelete=True)
    base = plan(vol, key, vm, gone)
    head = plan(copy.deepcopy(vol), copy.deepcopy(key), copy.deepcopy(vm))
    head["resources"][0]["inputs"]["availabilityZone"] = "us-east-1b"
    head["resources"][1]["inputs"]["publicKey"] = "ssh-ed25519 B"
    d = diff_plans(base, head)
    assert d.kind(head["resources"][0]) == "replace"
    md = render_markdown(d)
    first = md.splitlines()[2:6]
    assert first[0].startswith("> :warning: **Would replace a stateful resource: `aws:ebs/volume:Volume` `data`")
    assert "May replace `aws:ec2/instance:Instance` `vm`: it takes outputs of key" in first[1]
    assert "Would delete a retained volume from the stack" in first[2]
    assert "`availabilityZone` (replaces)" in md and "**0 to add, 1 to remove, 2 to change (2 by replacement)**" in md


def test_a_harmless_edit_has_no_warning_and_the_cli_gates_only_dangerous_ones(tmp_path: Path, capsys) -> None:
    vm = res("gcp:compute/instance:Instance", "db-0", {"machineType": "e2-small", "zone": "z"})
    harmless = copy.deepcopy(vm)
    harmless["inputs"]["machineType"] = "e2-medium"
    dangerous = copy.deepcopy(vm)
    dangerous["inputs"]["zone"] = "y"
    files = {}
    for name, r in (("base", vm), ("harmless", harmless), ("dangerous", dangerous)):
        files[name] = tmp_path / f"{name}.json"
        files[name].write_text(json.dumps(plan(r)))
    assert main(["diff", str(files["base"]), str(files["harmless"]), "--fail-on-danger"]) == 0
    assert ":warning:" not in capsys.readouterr().out
    assert main(["diff", str(files["base"]), str(files["dangerous"]), "--fail-on-danger"]) == 3
    assert "Would replace a host" in capsys.readouterr().out
    assert main(["diff", str(files["base"]), str(files["dangerous"])]) == 0  # without the flag: report only
