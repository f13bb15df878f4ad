"""cluster-autoscaler's and metrics-server's manifests validate strictly for every Kubernetes
version we offer, carry least RBAC, and the IAM and kubeconfig documents say what they must."""

from __future__ import annotations

import json

import kubernetes_validate
import pytest

from rancher_stacks.config import EXPANDERS
from rancher_stacks.images import EKS_VERSIONS
from rancher_stacks.kubernetes.render_autoscaler import NAME, discovery_flag, render_autoscaler
from rancher_stacks.kubernetes.render_iam import (
    MUTATING_ACTIONS,
    autoscaler_policy,
    irsa_trust_policy,
)
from rancher_stacks.kubernetes.render_kubeconfig import render_kubeconfig
from rancher_stacks.kubernetes.render_metrics_server import render_metrics_server
from rancher_stacks.workloads.flowscheduler.render_manifests import render_manifests

ROLE = "arn:aws:iam::123456789012:role/autoscaler"


def autoscaler(version: str = "1.35", **kw) -> list[dict]:
    args = {"cluster_name": "demo", "region": "us-east-1", "image": EKS_VERSIONS[version].autoscaler_image,
            "role_arn": ROLE, **kw}
    return render_autoscaler(**args)


def by_kind(manifests: list[dict]) -> dict[str, dict]:
    kinds = [m["kind"] for m in manifests]
    assert len(set(kinds)) == len(kinds)
    return {m["kind"]: m for m in manifests}


@pytest.mark.parametrize("version", sorted(EKS_VERSIONS))
def test_every_addon_manifest_validates_strictly_for_each_offered_version(version: str) -> None:
    manifests = autoscaler(version) + render_metrics_server(image=EKS_VERSIONS[version].metrics_server_image)
    manifests += render_manifests(image="123456789012.dkr.ecr.us-east-1.amazonaws.com/x/flow-scheduler:abc")
    for manifest in manifests:
        kubernetes_validate.validate(manifest, f"{version}.0", strict=True)


def test_the_validator_really_rejects_a_broken_manifest() -> None:
    deployment = by_kind(autoscaler())["Deployment"]
    deployment["spec"]["template"]["spec"]["containers"][0]["comand"] = ["typo"]
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, "1.35.0", strict=True)
    pdb = by_kind(autoscaler())["PodDisruptionBudget"]
    pdb["apiVersion"] = "policy/v1beta1"  # served by no Kubernetes since 1.25
    with pytest.raises(kubernetes_validate.SchemaNotFoundError):
        kubernetes_validate.validate(pdb, "1.35.0", strict=True)


def test_image_tags_follow_the_minor_version() -> None:
    for version, release in EKS_VERSIONS.items():
        assert release.autoscaler_image.rsplit(":v", 1)[1].startswith(version + ".")
        minor = int(version.split(".")[1])
        # metrics-server 0.9.x supports Kubernetes 1.34+, 0.8.x 1.31+ (its compatibility matrix).
        assert release.metrics_server_image.endswith(":v0.9.0" if minor >= 34 else ":v0.8.1")


def test_autoscaler_flags_and_identity() -> None:
    m = by_kind(autoscaler(expander="least-waste,random"))
    pod = m["Deployment"]["spec"]["template"]["spec"]
    command = pod["containers"][0]["command"]
    assert discovery_flag("demo") in command
    assert discovery_flag("demo") == (
        "--node-group-auto-discovery=asg:tag=k8s.io/cluster-autoscaler/enabled,k8s.io/cluster-autoscaler/demo"
    )
    assert "--balance-similar-node-groups" in command and "--expander=least-waste,random" in command
    assert "--cloud-provider=aws" in command
    assert pod["priorityClassName"] == "system-cluster-critical" and pod["serviceAccountName"] == NAME
    assert m["ServiceAccount"]["metadata"]["annotations"] == {"eks.amazonaws.com/role-arn": ROLE}
    assert m["Deployment"]["spec"]["replicas"] == 2
    assert m["PodDisruptionBudget"]["spec"]["selector"]["matchLabels"] == m["Deployment"]["spec"]["selector"][
        "matchLabels"]
    assert "hostPath" not in json.dumps(m["Deployment"])


def test_autoscaler_rbac_is_upstreams_without_the_dead_and_the_wildcards() -> None:
    m = by_kind(autoscaler())
    rules = m["ClusterRole"]["rules"]
    assert all("*" not in r["verbs"] and "*" not in r["resources"] for r in rules + m["Role"]["rules"])
    assert not any("extensions" in r["apiGroups"] for r in rules)
    writes = {(res, verb) for r in rules for res in r["resources"] for verb in r["verbs"]
              if verb not in ("get", "list", "watch")}
    assert writes == {("events", "create"), ("events", "patch"), ("pods/eviction", "create"),
                      ("pods/status", "update"), ("nodes", "update"), ("jobs", "patch"), ("leases", "create"),
                      ("leases", "update")}
    lease = next(r for r in rules if r.get("resourceNames"))
    assert lease["resourceNames"] == [NAME] and lease["verbs"] == ["get", "update"]


def test_metrics_server_has_its_api_rbac_and_budget() -> None:
    manifests = render_metrics_server(image=EKS_VERSIONS["1.35"].metrics_server_image)
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == sorted(["ServiceAccount", "ClusterRole", "ClusterRole", "RoleBinding", "ClusterRoleBinding",
                            "ClusterRoleBinding", "Service", "Deployment", "APIService", "PodDisruptionBudget"])
    deployment = next(m for m in manifests if m["kind"] == "Deployment")
    assert deployment["spec"]["replicas"] == 2
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["requiredDuringSchedulingIgnoredDuringExecution"][0]["topologyKey"] == "kubernetes.io/hostname"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: autoscaler(image="cluster-autoscaler:latest"), "registry.k8s.io/autoscaling"),
        (lambda: autoscaler(replicas=0), "at least 1"),
        (lambda: render_metrics_server(image="metrics-server:latest"), "registry.k8s.io/metrics-server"),
        (lambda: irsa_trust_policy(oidc_provider_arn="a", issuer_url="oidc.example", namespace="n",
                                   service_account="s"), "https URL"),
        (lambda: render_kubeconfig(cluster_name="c", endpoint="http://x", certificate_authority="", region="r"),
         "https URL"),
    ],
)
def test_bad_inputs_are_refused(call, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()


def test_only_tagged_groups_of_this_cluster_can_be_scaled() -> None:
    doc = json.loads(autoscaler_policy("demo"))
    scale = [s for s in doc["Statement"] if set(s["Action"]) & set(MUTATING_ACTIONS)]
    assert len(scale) == 1 and set(scale[0]["Action"]) == set(MUTATING_ACTIONS)
    assert scale[0]["Condition"]["StringEquals"]["aws:ResourceTag/k8s.io/cluster-autoscaler/demo"] == "owned"
    reads = next(s for s in doc["Statement"] if s["Sid"] == "Discover")
    assert not set(reads["Action"]) & set(MUTATING_ACTIONS) and "autoscaling:DescribeTags" in reads["Action"]


def test_irsa_trust_names_one_service_account_and_the_sts_audience() -> None:
    doc = json.loads(irsa_trust_policy(oidc_provider_arn="arn:p", issuer_url="https://oidc.eks.x/id/AB",
                                       namespace="kube-system", service_account="cluster-autoscaler"))
    statement = doc["Statement"][0]
    assert statement["Action"] == "sts:AssumeRoleWithWebIdentity" and statement["Principal"] == {"Federated": "arn:p"}
    assert statement["Condition"]["StringEquals"] == {
        "oidc.eks.x/id/AB:sub": "system:serviceaccount:kube-system:cluster-autoscaler",
        "oidc.eks.x/id/AB:aud": "sts.amazonaws.com",
    }


def test_the_kubeconfig_authenticates_with_aws_eks_get_token_and_holds_no_credential() -> None:
    config = json.loads(render_kubeconfig(cluster_name="demo", endpoint="https://X.eks.amazonaws.com",
                                          certificate_authority="Q0E=", region="eu-west-1"))
    user = config["users"][0]["user"]
    assert set(user) == {"exec"}
    assert user["exec"]["command"] == "aws"
    assert user["exec"]["args"][:5] == ["eks", "get-token", "--cluster-name", "demo", "--region"]
    assert config["clusters"][0]["cluster"] == {"server": "https://X.eks.amazonaws.com",
                                                 "certificate-authority-data": "Q0E="}


def test_every_offered_expander_exists_upstream() -> None:
    # cluster-autoscaler FAQ, "What are Expanders?": random, most-pods, least-waste, least-nodes,
    # price, priority, grpc; the last three are refused by the config (see config.EXPANDERS).
    assert set(EXPANDERS) <= {"random", "most-pods", "least-waste", "least-nodes", "price", "priority", "grpc"}
