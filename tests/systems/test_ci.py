"""The CI system (issue 13) through the real program: what the dev plan holds, what stays secret,
what scaling the agents changes (plan diffs against the shipped dev plan), and bad input."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest
import yaml

from tools.diff import diff_plans
from tools.mock_outputs import resource_outputs
from tools.plan import main, plan_stack

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = "docker:index/container:Container"
INGRESS = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
WORKLOADS = "rancher-stacks:workloads"


@pytest.fixture(scope="module")
def dev() -> dict[str, Any]:
    return plan_stack(ROOT / "Pulumi.dev.yaml")


def named(plan: dict[str, Any], name: str, kind: str | None = None) -> dict[str, Any]:
    (entry,) = [r for r in plan["resources"] if r["name"] == name and (kind is None or r["type"] == kind)]
    return entry


def edited(tmp_path: Path, edit: Callable[[dict[str, Any]], None], stack: str = "dev") -> Path:
    doc = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text())
    edit(doc["config"][WORKLOADS]["ci"])
    path = tmp_path / f"Pulumi.{stack}.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


# --------------------------------------------------------------------------- the dev plan


def test_the_controller_keeps_its_home_on_the_retained_encrypted_data_volume(dev):
    volume = named(dev, "ci-0-data-volume")
    assert volume["retainOnDelete"] is True and volume["inputs"]["encrypted"] is True
    assert "rancher-stacks:backup" in volume["inputs"]["tags"]
    controller = named(dev, "ci-controller", CONTAINER)["inputs"]
    assert {"source": "/mnt/data/jenkins/home", "target": "/var/jenkins_home", "type": "bind"} in controller["mounts"]
    assert controller["image"].startswith("jenkins-controller:")
    assert controller["envs"] == "[secret]"
    assert controller["healthcheck"]["tests"][1].endswith("/login")
    component = named(dev, "ci", "rancher-stacks:index:JenkinsController")["inputs"]
    assert component["homeOnDataVolume"] is True and component["controllerExecutors"] == 0
    assert component["anonymousAccess"] is False and component["securityRealm"] == "local"


def test_the_controller_image_is_built_from_the_pinned_lts_with_pinned_plugins(dev):
    image = named(dev, "ci-image", "docker:index/image:Image")["inputs"]
    context = ROOT / image["build"]["context"]
    dockerfile = (context / "Dockerfile").read_text()
    assert "FROM jenkins/jenkins:2.568.2-lts-jdk21" in dockerfile
    plugins = [line for line in (context / "plugins.txt").read_text().splitlines() if not line.startswith("#")]
    assert "configuration-as-code:2117.vc05a_0b_e6b_f4e" in plugins and all(":" in p for p in plugins)
    assert image["imageName"].split(":")[1] in image["build"]["context"]


def test_two_dind_agents_with_tls_between_agent_and_daemon(dev):
    for i in (0, 1):
        dind = named(dev, f"ci-agent-{i}-dind", CONTAINER)["inputs"]
        agent = named(dev, f"ci-agent-{i}-agent", CONTAINER)["inputs"]
        assert dind["privileged"] is True and "ports" not in dind
        assert "DOCKER_TLS_CERTDIR=/certs" in dind["envs"]
        assert dind["networksAdvanced"] == [{"aliases": ["docker"], "name": f"ci-agent-{i}-net"}]
        assert {"DOCKER_HOST=tcp://docker:2376", "DOCKER_TLS_VERIFY=1", "DOCKER_CERT_PATH=/certs/client"} <= set(
            agent["envs"]
        )
        assert agent["volumes"] == [
            {"containerPath": "/certs/client", "readOnly": True, "volumeName": f"ci-agent-{i}-certs"}
        ]
        assert "JENKINS_WEB_SOCKET=true" in agent["envs"] and f"JENKINS_AGENT_NAME=ci-agent-{i}" in agent["envs"]
        assert "JENKINS_SECRET=@/home/jenkins/.agent-secret" in agent["envs"]
        assert agent["uploads"] == "[secret]" and "ports" not in agent
        fetch = named(dev, f"ci-controller-secret-ci-agent-{i}")
        assert fetch["type"] == "command:remote:Command" and "docker exec ci-controller" in fetch["inputs"]["create"]


def test_the_front_serves_https_with_a_login_health_check(dev):
    component = named(dev, "ci-front", "rancher-stacks:index:LoadBalancer")["inputs"]
    assert component["healthCheckPath"] == "/login" and component["tls"] is True and component["publicPort"] == 443
    haproxy = named(dev, "ci-front-haproxy", CONTAINER)["inputs"]
    assert haproxy["uploads"] == "[secret]"
    assert {"external": 443, "internal": 443} in haproxy["ports"]
    assert dev["outputs"]["jenkinsUrl"].startswith("https://")


def _rules(plan: dict[str, Any], group: str) -> list[dict[str, Any]]:
    return [r for r in plan["resources"] if r["type"] == INGRESS and r["name"].startswith(f"{group}-fw-")]


def test_firewalls_8080_only_from_front_and_agents_443_from_admins_no_50000_no_2376(dev):
    controller = _rules(dev, "ci")
    assert {r["inputs"]["fromPort"] for r in controller} == {22, 8080}
    ui = [r for r in controller if r["inputs"]["fromPort"] == 8080]
    # Each source host's address, or the source group's security group: never a network.
    assert ui and all(
        r["inputs"].get("cidrIpv4", "").endswith("/32") or "referencedSecurityGroupId" in r["inputs"] for r in ui
    )
    assert {r["name"].split("-fw-jenkins-ui-")[1].split("-tcp")[0] for r in ui} == {"ci-front", "ci-agent"}
    front = [r for r in _rules(dev, "ci-front") if r["inputs"]["fromPort"] == 443]
    assert [r["inputs"].get("cidrIpv4") for r in front] == ["203.0.113.0/24"]
    every_port = {r["inputs"]["fromPort"] for r in dev["resources"] if r["type"] == INGRESS}
    assert 50000 not in every_port and 2376 not in every_port
    assert {r["inputs"]["fromPort"] for r in _rules(dev, "ci-agent")} == {22}


def test_the_first_pipeline_is_defined_in_jcasc(dev):
    casc = named(dev, "ci-casc")["inputs"]["stdin"]
    doc = yaml.safe_load(casc)
    assert doc["jobs"][0]["script"].startswith("pipelineJob('hitcounter')")
    assert [n["permanent"]["name"] for n in doc["jenkins"]["nodes"]] == ["ci-agent-0", "ci-agent-1"]
    assert doc["unclassified"]["location"]["url"] == dev["outputs"]["jenkinsUrl"]


def test_no_secret_of_the_ci_system_is_in_the_plan(dev):
    text = json.dumps(dev)
    password = resource_outputs("random:index/randomPassword:RandomPassword", "ci-admin-password", {"length": 32})[1]
    key = resource_outputs("tls:index/privateKey:PrivateKey", "ci-front-tls-key", {})[1]["privateKeyPem"]
    assert password["result"] not in text and key not in text
    assert dev["outputs"]["jenkinsAdminPassword"] == "[secret]"
    assert "ADMIN_PASSWORD=" not in text


def test_the_dev_plan_passes_the_pack(capsys):
    assert main(["--stack", "dev"]) == 0
    assert "Policies: 0 mandatory violation(s)" in capsys.readouterr().out


# --------------------------------------------------------------------------- scaling


# Rules whose source is the agent group: the controller's UI, and the logging collectors' Beats
# input (every host of the stack ships its logs).
AGENT_SOURCED_RULES = ("ci-fw-jenkins-ui-ci-agent-", "log-collector-fw-beats-ci-agent-")


def _agent_owned(name: str, node: str) -> bool:
    return (
        name.startswith(f"{node}-")
        or name == node
        or name == f"ci-controller-secret-{node}"
        # The new host's own log shipper, with its client certificate.
        or name == f"shippers-{node}"
        or name.startswith(f"shippers-{node}-")
        or name.startswith(AGENT_SOURCED_RULES)
    )


@pytest.mark.parametrize(("agents", "node"), [(3, "ci-agent-2"), (1, "ci-agent-1")])
def test_scaling_agents_changes_only_agent_hosts_and_node_definitions(dev, tmp_path, agents, node):
    head = plan_stack(edited(tmp_path, lambda ci: ci.__setitem__("agents", agents)))
    d = diff_plans(dev, head)
    moved = d.added if agents > 2 else d.removed
    assert moved and all(_agent_owned(r["name"], node) for r in moved), sorted(r["name"] for r in moved)
    assert (d.removed if agents > 2 else d.added) == []
    assert any(r["type"] == "aws:ec2/instance:Instance" for r in moved)
    assert {r["name"] for r in moved if r["type"] == CONTAINER} == {f"{node}-agent", f"{node}-dind", f"shippers-{node}"}
    changed = {r["name"]: r for r, _ in d.changed}
    # The group's count, the node definitions (rewritten and reloaded in place), and the
    # controller's per-agent-host firewall rules, whose source set is the agent group.
    # ("shippers": the logging system's shipper component, whose props list the hosts it covers.)
    assert set(changed) - {"ci-agent", "ci-casc", "shippers"} == {n for n in changed if n.startswith(AGENT_SOURCED_RULES)}
    nodes = [
        n["permanent"]["name"] for n in yaml.safe_load(named(head, "ci-casc")["inputs"]["stdin"])["jenkins"]["nodes"]
    ]
    assert nodes == [f"ci-agent-{i}" for i in range(agents)]
    # Nothing of the controller, the front or other systems moves.
    for unchanged in ("ci-controller", "ci-image", "ci-front-haproxy", "ci-0-data-volume", "lb-haproxy"):
        assert unchanged not in changed, unchanged
    assert d.cascades == []


# --------------------------------------------------------------------------- stacks and bad input


def test_prod_spreads_agents_over_zones_and_protects_the_home():
    prod = plan_stack(ROOT / "Pulumi.prod.yaml")
    zones = sorted(
        r["inputs"]["availabilityZone"]
        for r in prod["resources"]
        if r["type"] == "aws:ec2/instance:Instance" and r["name"].startswith("ci-agent-")
    )
    assert zones == ["us-east-1a", "us-east-1b", "us-east-1c"]
    volume = named(prod, "ci-0-data-volume")
    assert volume["protect"] is True and volume["retainOnDelete"] is True


def test_local_runs_a_controller_and_one_agent_on_the_local_daemon():
    local = plan_stack(ROOT / "Pulumi.local.yaml")
    containers = {r["name"]: r["inputs"] for r in local["resources"] if r["type"] == CONTAINER}
    assert {"ci-controller", "ci-agent-0-agent", "ci-agent-0-dind", "ci-front-haproxy"} <= set(containers)
    assert "ci-agent-1-agent" not in containers
    assert {"external": 8090, "internal": 8080} in containers["ci-controller"]["ports"]
    assert "JENKINS_URL=http://host.docker.internal:8090/" in containers["ci-agent-0-agent"]["envs"]
    assert local["outputs"]["jenkinsUrl"].endswith(":8444/")


@pytest.mark.parametrize(
    ("edit", "key", "words"),
    [
        (lambda ci: ci.__setitem__("agents", 0), "workloads.ci.agents", "at least 1 agent"),
        (lambda ci: ci.__setitem__("agentLabels", ["docker", "build box"]), "workloads.ci.agentLabels[1]", "one word"),
        (
            lambda ci: ci.__setitem__("plugins", ["configuration-as-code", "matrix-auth:3.3"]),
            "workloads.ci.plugins[0]",
            "no version",
        ),
        (lambda ci: ci.__setitem__("publicPort", 8080), "workloads.ci.publicPort", "8080"),
        (
            lambda ci: ci["pipeline"].__setitem__("label", "windows"),
            "workloads.ci.pipeline.label",
            "one of agentLabels",
        ),
        (lambda ci: ci.__setitem__("plugins", ["git:5.10.1"]), "workloads.ci.plugins", "missing configuration-as-code"),
    ],
)
def test_bad_input_fails_before_any_resource_naming_the_key(tmp_path, capsys, edit, key, words):
    assert main(["--stack-file", str(edited(tmp_path, edit))]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: rancher-stacks:{key}: expected"), err
    assert words in err and "Traceback" not in err


def test_a_public_8080_is_refused_on_the_local_daemon_too(tmp_path, capsys):
    assert main(["--stack-file", str(edited(tmp_path, lambda ci: ci.__setitem__("publicPort", 8080), "local"))]) == 2
    assert "rancher-stacks:workloads.ci.publicPort" in capsys.readouterr().err


def test_no_agents_without_a_pipeline_is_a_controller_alone(tmp_path):
    def edit(ci: dict[str, Any]) -> None:
        ci["agents"] = 0
        del ci["pipeline"]

    plan = plan_stack(edited(tmp_path, edit))
    assert not [r for r in plan["resources"] if r["name"].startswith("ci-agent")]
    assert plan["outputs"]["jenkinsAgents"] == []


def test_no_two_local_containers_publish_the_same_host_port():
    """The local stack runs every system on one daemon: a port published twice fails the deploy."""
    local = plan_stack(ROOT / "Pulumi.local.yaml")
    published = [
        (p.get("ip", "0.0.0.0"), p["external"], r["name"])
        for r in local["resources"]
        if r["type"] == CONTAINER
        for p in r["inputs"].get("ports") or []
    ]
    taken: dict[int, str] = {}
    for _ip, port, name in published:
        assert port not in taken, f"{name} and {taken[port]} both publish {port}"
        taken[port] = name
    assert {8090, 8444, 8405} <= set(taken)
