"""The hit counter on the k8s stack's cluster: translated from compose, autoscaled, budgeted, in ECR,
and admitted by the database through the cluster's egress address."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml

from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.systems.registry import enabled_systems
from tools.mock_outputs import resource_outputs
from tools.plan import plan_stack

ROOT = Path(__file__).resolve().parents[3]
K8S = yaml.safe_load((ROOT / "Pulumi.k8s.yaml").read_text())["config"]


@pytest.fixture(scope="module")
def plan() -> dict:
    return plan_stack(ROOT / "Pulumi.k8s.yaml")


def named(plan: dict, name: str) -> dict:
    return next(r for r in plan["resources"] if r["name"] == name)


def mocked(resource: dict) -> dict:
    return resource_outputs(resource["type"], resource["name"], resource["inputs"])[1]


def test_the_deployment_runs_the_pushed_digest_and_leaves_replicas_to_the_autoscaler(plan: dict) -> None:
    deployment = named(plan, "webapp-app-deployment-web")
    pushed = mocked(named(plan, "webapp-image"))["repoDigest"]
    (container,) = deployment["inputs"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == pushed and ".dkr.ecr." in pushed and "@sha256:" in pushed
    assert deployment["ignoreChanges"] == ["spec.replicas"]
    hpa = named(plan, "webapp-app-horizontalpodautoscaler-web")["inputs"]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 6)
    assert hpa["metrics"][0]["resource"]["target"] == {"type": "Utilization", "averageUtilization": 70}
    pdb = named(plan, "webapp-app-poddisruptionbudget-web")["inputs"]["spec"]
    labels = deployment["inputs"]["spec"]["template"]["metadata"]["labels"]
    assert pdb["maxUnavailable"] == 1 and pdb["selector"]["matchLabels"].items() <= labels.items()


def test_the_connection_string_is_a_secret_and_the_members_admit_only_the_cluster_egress(plan: dict) -> None:
    secret = named(plan, "webapp-app-secret-mongo-url")
    assert secret["inputs"]["stringData"] == "[secret]"
    assert "mongodb://hitcounter:" not in json.dumps(plan)
    nat_ip = mocked(named(plan, "k8s-nat"))["publicIp"]
    rules = [r for r in plan["resources"] if r["name"].startswith("database-fw-mongodb-k8s-egress")]
    assert [r["inputs"]["cidrIpv4"] for r in rules] == [f"{nat_ip}/32"]
    assert not any(r["name"].startswith("webapp-") and r["type"] == "aws:ec2/instance:Instance" for r in plan["resources"])


def test_the_web_app_deploys_after_the_cluster_it_runs_on() -> None:
    cfg = parse_stack_config({k.split(":", 1)[1]: v for k, v in K8S.items()})
    assert [s.name for s in enabled_systems(cfg)] == ["kubernetes", "webapp"]


def with_webapp(**webapp: object) -> dict:
    raw = {k.split(":", 1)[1]: copy.deepcopy(v) for k, v in K8S.items()}
    raw["workloads"]["webapp"].update(webapp)
    return raw


@pytest.mark.parametrize(
    ("change", "key", "expected"),
    [
        (lambda raw: raw.pop("kubernetes"), "workloads.webapp.target", "a cluster configured under"),
        (lambda raw: raw["workloads"].update(loadBalancer={"cloud": "aws"}), "workloads.loadBalancer", "no load balancer"),
        (lambda raw: raw["workloads"]["webapp"].update(cloud="gcp"), "workloads.webapp.cloud", "aws, where"),
        (lambda raw: raw["workloads"]["webapp"].update(autoscaling={"maxReplicas": 2}, replicas=3),
         "workloads.webapp.autoscaling.maxReplicas", "at least workloads.webapp.replicas"),
        (lambda raw: raw["workloads"]["webapp"].update(registry={"kind": "digitalocean"}),
         "workloads.webapp.registry.kind", "none when target is kubernetes"),
    ],
)
def test_bad_kubernetes_target_config_names_the_key(change, key: str, expected: str) -> None:
    raw = with_webapp()
    change(raw)
    with pytest.raises(ConfigError) as error:
        parse_stack_config(raw)
    assert f"rancher-stacks:{key}: expected" in str(error.value) and expected in str(error.value)
