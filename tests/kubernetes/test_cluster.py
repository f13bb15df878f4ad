"""``KubernetesCluster`` through the real program on variations of the k8s stack: fixed-size
groups get none of our autoscaler tags, taints become node-template tags and EKS taints, a
private-only endpoint lists no public CIDRs, a group is placed in its own zones only."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rancher_stacks.config import NodeGroup, NodeTaint
from rancher_stacks.kubernetes.cluster import asg_tags, subnet_cidrs
from tools.mock_outputs import resource_outputs
from tools.plan import plan_stack

ROOT = Path(__file__).resolve().parents[2]


def plan_with(tmp_path: Path, **kubernetes) -> dict:
    doc = yaml.safe_load((ROOT / "Pulumi.k8s.yaml").read_text())
    section = doc["config"]["rancher-stacks:kubernetes"]
    section.update(kubernetes)
    doc["config"].pop("rancher-stacks:workloads")  # the cluster alone
    path = tmp_path / "Pulumi.variant.yaml"
    path.write_text(yaml.safe_dump(doc))
    return plan_stack(path, ROOT)


def of_type(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


def test_fixed_groups_get_no_autoscaler_tags_and_tainted_ones_get_node_templates(tmp_path):
    plan = plan_with(
        tmp_path,
        nodeGroups=[
            {"name": "system", "instanceType": "t3.medium", "minSize": 2, "maxSize": 2, "zones": ["us-east-1a", "us-east-1b"]},
            {"name": "batch", "instanceType": "c6i.large", "minSize": 0, "maxSize": 10, "desiredSize": 0,
             "labels": {"workload": "batch"}, "taints": [{"key": "dedicated", "value": "batch", "effect": "NoSchedule"}]},
        ],
    )
    groups = {g["inputs"]["nodeGroupName"]: g for g in of_type(plan, "aws:eks/nodeGroup:NodeGroup")}
    assert set(groups) == {"system", "batch"}
    asgs = {name: resource_outputs(g["type"], g["name"], g["inputs"])[1]["resources"][0]["autoscalingGroups"][0]["name"]
            for name, g in groups.items()}
    tagged = {r["inputs"]["autoscalingGroupName"] for r in of_type(plan, "aws:autoscaling/tag:Tag")}
    assert tagged == {asgs["batch"]}
    keys = {r["inputs"]["tag"]["key"]: r["inputs"]["tag"]["value"] for r in of_type(plan, "aws:autoscaling/tag:Tag")}
    assert keys["k8s.io/cluster-autoscaler/node-template/taint/dedicated"] == "batch:NoSchedule"
    assert keys["k8s.io/cluster-autoscaler/node-template/label/workload"] == "batch"
    assert groups["batch"]["inputs"]["taints"] == [{"key": "dedicated", "value": "batch", "effect": "NO_SCHEDULE"}]
    assert len(groups["system"]["inputs"]["subnetIds"]) == 2 and len(groups["batch"]["inputs"]["subnetIds"]) == 3
    templates = of_type(plan, "aws:ec2/launchTemplate:LaunchTemplate")
    assert len(templates) == 2 and all(t["inputs"]["metadataOptions"]["httpTokens"] == "required" for t in templates)


def test_a_private_only_endpoint_lists_no_public_networks(tmp_path):
    plan = plan_with(tmp_path, endpoint={"private": True, "public": False})
    vpc = of_type(plan, "aws:eks/cluster:Cluster")[0]["inputs"]["vpcConfig"]
    assert vpc["endpointPublicAccess"] is False and "publicAccessCidrs" not in vpc


def test_addons_follow_the_config(tmp_path):
    plan = plan_with(tmp_path, version="1.33", metricsServer=False, flowScheduler=False, autoscaler={"enabled": False})
    types = {r["type"] for r in plan["resources"]}
    assert not any(t.startswith("kubernetes:") for t in types)
    assert "aws:ecr/repository:Repository" not in types
    assert of_type(plan, "aws:eks/cluster:Cluster")[0]["inputs"]["version"] == "1.33"


def test_a_given_flow_scheduler_image_is_used_as_is(tmp_path):
    image = "ghcr.io/example/flow-scheduler:0.1.0"
    plan = plan_with(tmp_path, flowSchedulerImage=image)
    assert "aws:ecr/repository:Repository" not in {r["type"] for r in plan["resources"]}
    deployment = next(r for r in of_type(plan, "kubernetes:apps/v1:Deployment") if "flow" in r["name"])
    assert deployment["inputs"]["spec"]["template"]["spec"]["containers"][0]["image"] == image


def test_subnets_are_cut_per_zone_and_stay_put_when_a_zone_is_added():
    two = subnet_cidrs("10.60.0.0/16", ["us-east-1b", "us-east-1a"])
    assert two == {"us-east-1a": ("10.60.0.0/20", "10.60.128.0/20"), "us-east-1b": ("10.60.16.0/20", "10.60.144.0/20")}
    three = subnet_cidrs("10.60.0.0/16", ["us-east-1a", "us-east-1b", "us-east-1c"])
    assert {z: three[z] for z in two} == two
    with pytest.raises(ValueError, match="at most 8 zones"):
        subnet_cidrs("10.60.0.0/16", [f"z{i}" for i in range(9)])


def test_asg_tags_only_for_autoscaled_groups():
    assert asg_tags("c", NodeGroup(name="fixed", min_size=3, max_size=3)) == {}
    tags = asg_tags("c", NodeGroup(name="auto", min_size=1, max_size=4, taints=[NodeTaint(key="gpu", effect="NoExecute")]))
    assert tags == {"k8s.io/cluster-autoscaler/enabled": "true", "k8s.io/cluster-autoscaler/c": "owned",
                    "k8s.io/cluster-autoscaler/node-template/taint/gpu": ":NoExecute"}
