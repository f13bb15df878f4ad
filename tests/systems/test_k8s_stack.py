"""The k8s stack, planned offline through the real program: EKS, node groups with the autoscaler's
tags, cluster-autoscaler with its scoped IRSA role, metrics-server, the flow scheduler; every
Kubernetes object in the plan validates against the cluster's version; the pack catches mutations."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import kubernetes_validate
import pytest

from rancher_stacks import policies
from rancher_stacks.images import EKS_VERSIONS
from tools.mock_outputs import digest, resource_outputs
from tools.mockengine import SECRET
from tools.plan import plan_stack
from tools.planfile import dumps, policy_resources

ROOT = Path(__file__).resolve().parents[2]
PINNED = re.compile(r"^[a-z0-9][a-z0-9./_-]*((:(?!latest(@|$))[A-Za-z0-9._-]+)(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$")
CLUSTER = "rancher-stacks-k8s"


@pytest.fixture(scope="module")
def plan() -> dict:
    return plan_stack(ROOT / "Pulumi.k8s.yaml")


def of_type(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


def one(plan: dict, type_: str, name_part: str = "") -> dict:
    found = [r for r in of_type(plan, type_) if name_part in r["name"]]
    assert len(found) == 1, [r["name"] for r in found]
    return found[0]


def made(r: dict) -> tuple[str, dict]:
    """(id, outputs) the mock engine gave ``r`` (the plan keeps inputs only)."""
    return resource_outputs(r["type"], r["name"], r["inputs"])


def mandatory(plan: dict) -> set[str]:
    return {v["policy"] for v in policies.evaluate(policy_resources(plan)) if v["enforcement"] == "mandatory"}


def test_the_cluster_is_pinned_encrypted_logged_and_its_public_endpoint_is_for_admins(plan):
    eks = one(plan, "aws:eks/cluster:Cluster")["inputs"]
    assert eks["name"] == CLUSTER and eks["version"] == "1.35"
    vpc = eks["vpcConfig"]
    assert vpc["endpointPublicAccess"] is True and vpc["publicAccessCidrs"] == ["203.0.113.0/24"]
    assert vpc["endpointPrivateAccess"] is True and len(vpc["subnetIds"]) == 3
    key = one(plan, "aws:kms/key:Key")
    assert eks["encryptionConfig"]["resources"] == ["secrets"] and key["inputs"]["enableKeyRotation"] is True
    assert eks["encryptionConfig"]["provider"]["keyArn"].startswith("arn:aws:kms:")
    assert set(eks["enabledClusterLogTypes"]) == {"api", "audit", "authenticator", "controllerManager", "scheduler"}
    extra = json.loads(one(plan, "aws:iam/policy:Policy", "cluster-extra")["inputs"]["policy"])["Statement"]
    kms = next(st for st in extra if st["Effect"] == "Allow")
    assert kms["Resource"] == eks["encryptionConfig"]["provider"]["keyArn"] and "kms:Decrypt" in kms["Action"]
    logs = one(plan, "aws:cloudwatch/logGroup:LogGroup")["inputs"]
    assert logs["name"] == f"/aws/eks/{CLUSTER}/cluster" and logs["retentionInDays"] == 30


def test_nodes_live_in_private_subnets_behind_one_nat_gateway(plan):
    subnets = of_type(plan, "aws:ec2/subnet:Subnet")
    assert len(subnets) == 6 and not any(s["inputs"].get("mapPublicIpOnLaunch") for s in subnets)
    private_ids = {made(s)[0] for s in subnets if "-private-" in s["name"]}
    group = one(plan, "aws:eks/nodeGroup:NodeGroup")["inputs"]
    assert set(group["subnetIds"]) == private_ids
    assert len(of_type(plan, "aws:ec2/natGateway:NatGateway")) == 1


def test_the_node_group_autoscales_from_2_to_6_with_imdsv2_and_encrypted_gp3(plan):
    group = one(plan, "aws:eks/nodeGroup:NodeGroup")
    assert group["inputs"]["scalingConfig"] == {"minSize": 2, "maxSize": 6, "desiredSize": 2}
    assert "scalingConfig.desiredSize" in group["ignoreChanges"]  # the autoscaler owns it after creation
    template = one(plan, "aws:ec2/launchTemplate:LaunchTemplate")["inputs"]
    assert template["metadataOptions"] == {"httpEndpoint": "enabled", "httpTokens": "required",
                                           "httpPutResponseHopLimit": 1}
    ebs = template["blockDeviceMappings"][0]["ebs"]
    assert ebs["encrypted"] == "true" and ebs["volumeType"] == "gp3"
    policies_ = {r["inputs"]["policyArn"].rsplit("/", 1)[1] for r in of_type(plan, "aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                 if r["name"].startswith("k8s-node-")}
    assert policies_ == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"}


def test_the_asg_carries_the_discovery_and_node_template_tags(plan):
    asg = made(one(plan, "aws:eks/nodeGroup:NodeGroup"))[1]["resources"][0]["autoscalingGroups"][0]["name"]
    tags = {r["inputs"]["tag"]["key"]: r["inputs"]["tag"]["value"] for r in of_type(plan, "aws:autoscaling/tag:Tag")
            if r["inputs"]["autoscalingGroupName"] == asg}
    assert tags == {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{CLUSTER}": "owned",
        "k8s.io/cluster-autoscaler/node-template/label/rancher-stacks/pool": "general",
    }


def test_the_autoscaler_may_scale_only_this_clusters_groups_and_only_through_irsa(plan):
    policy = json.loads(one(plan, "aws:iam/policy:Policy", "autoscaler")["inputs"]["policy"])
    mutating = next(s for s in policy["Statement"] if "autoscaling:SetDesiredCapacity" in s["Action"])
    assert mutating["Condition"]["StringEquals"] == {
        f"aws:ResourceTag/k8s.io/cluster-autoscaler/{CLUSTER}": "owned",
        "aws:ResourceTag/k8s.io/cluster-autoscaler/enabled": "true",
    }
    reads = next(s for s in policy["Statement"] if s["Sid"] == "Discover")
    assert all(":Describe" in a or ":Get" in a for a in reads["Action"])
    role = one(plan, "aws:iam/role:Role", "autoscaler-irsa")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    issuer = made(one(plan, "aws:eks/cluster:Cluster"))[1]["identities"][0]["oidcs"][0]["issuer"].removeprefix("https://")
    assert trust["Principal"]["Federated"] == made(one(plan, "aws:iam/openIdConnectProvider:OpenIdConnectProvider"))[0]
    assert trust["Condition"]["StringEquals"] == {f"{issuer}:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
                                                  f"{issuer}:aud": "sts.amazonaws.com"}
    account = one(plan, "kubernetes:core/v1:ServiceAccount", "autoscaler")["inputs"]
    assert account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"] == made(role)[1]["arn"]


def test_the_autoscaler_runs_the_clusters_minor_with_discovery_and_balancing(plan):
    deployment = one(plan, "kubernetes:apps/v1:Deployment", "autoscaler")["inputs"]
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["image"] == "registry.k8s.io/autoscaling/cluster-autoscaler:v1.35.2"
    assert container["image"].split(":v")[1].startswith("1.35.")
    assert f"--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/{CLUSTER}" \
        in container["command"]
    assert "--balance-similar-node-groups" in container["command"] and "--expander=least-waste" in container["command"]
    assert pod["priorityClassName"] == "system-cluster-critical"


def test_metrics_server_and_the_flow_scheduler_are_deployed(plan):
    api = one(plan, "kubernetes:apiregistration.k8s.io/v1:APIService")["inputs"]
    assert api["metadata"]["name"] == "v1beta1.metrics.k8s.io" and api["spec"]["service"]["name"] == "metrics-server"
    scheduler = one(plan, "kubernetes:apps/v1:Deployment", "flow-scheduler")["inputs"]
    image = scheduler["spec"]["template"]["spec"]["containers"][0]["image"]
    repo = one(plan, "aws:ecr/repository:Repository", "flow-scheduler")
    assert image.startswith(made(repo)[1]["repositoryUrl"] + ":") and "@sha256:" in image
    assert repo["inputs"]["imageTagMutability"] == "IMMUTABLE"
    rules = one(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole", "flow-scheduler")["inputs"]["rules"]
    assert {v for r in rules for v in r["verbs"]} <= {"get", "list", "watch", "create", "patch"}


def test_every_kubernetes_object_validates_against_the_clusters_version(plan):
    version = one(plan, "aws:eks/cluster:Cluster")["inputs"]["version"]
    objects = [r for r in plan["resources"] if r["type"].startswith("kubernetes:")]
    assert len(objects) == 31  # autoscaler 7, metrics-server 10, flow scheduler 7, hit counter 7
    for r in objects:
        manifest = {k: v for k, v in r["inputs"].items() if k != "__defaults"}
        # A secret input is recorded as "[secret]"; the schema checks its shape with a stand-in.
        manifest.update({k: {"redacted": "value"} for k in ("data", "stringData") if manifest.get(k) == SECRET})
        kubernetes_validate.validate(manifest, f"{version}.0", strict=True)


def test_every_container_image_on_the_cluster_is_pinned(plan):
    images = [c["image"] for r in of_type(plan, "kubernetes:apps/v1:Deployment")
              for c in r["inputs"]["spec"]["template"]["spec"]["containers"]]
    assert len(images) == 4 and [i for i in images if not PINNED.match(i)] == []
    assert images != [] and {EKS_VERSIONS["1.35"].metrics_server_image} <= set(images)


def test_the_kubeconfig_and_the_registry_password_stay_secret(plan):
    assert plan["outputs"]["kubeconfig"] == SECRET
    assert one(plan, "pulumi:providers:kubernetes")["inputs"]["kubeconfig"] == SECRET
    text = dumps(plan)
    assert "get-token" not in text  # the kubeconfig never appears in clear
    assert digest("ecr-token", "123456789012") not in text  # nor the ECR push password (the mock's token)
    assert one(plan, "docker:index/image:Image", "flow-scheduler")["inputs"]["registry"] == SECRET
    assert one(plan, "docker:index/image:Image", "webapp")["inputs"]["registry"] == SECRET


def test_the_cluster_facts_are_attributes_for_other_systems():
    from rancher_stacks.kubernetes.cluster import KubernetesCluster

    hints = KubernetesCluster.__annotations__
    for attribute in ("provider", "version", "oidc_provider_arn", "node_security_group_id", "vpc_id", "kubeconfig"):
        assert attribute in hints


@pytest.mark.parametrize(
    ("mutate", "policy"),
    [
        ("open-endpoint", "eks-endpoint-restricted"),
        ("desired-above-max", "k8s-nodegroup-autoscaling-bounds"),
        ("single-replica", "k8s-workload-redundancy"),
        ("no-pdb", "k8s-workload-redundancy"),
    ],
)
def test_mutated_k8s_plans_fail_the_pack(plan, mutate, policy):
    mutated = copy.deepcopy(plan)
    assert mandatory(mutated) == set()
    if mutate == "open-endpoint":
        one(mutated, "aws:eks/cluster:Cluster")["inputs"]["vpcConfig"].pop("publicAccessCidrs")
    elif mutate == "desired-above-max":
        one(mutated, "aws:eks/nodeGroup:NodeGroup")["inputs"]["scalingConfig"]["desiredSize"] = 7
    elif mutate == "single-replica":
        one(mutated, "kubernetes:apps/v1:Deployment", "metrics-server")["inputs"]["spec"]["replicas"] = 1
    else:
        mutated["resources"].remove(one(mutated, "kubernetes:policy/v1:PodDisruptionBudget", "flow-scheduler"))
    assert policy in mandatory(mutated)
