"""The logging system as the shipped stacks plan it: tiers, pipeline, a shipper on every host of
every system, firewalls, sysctl, and no generated secret in the plan."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from rancher_stacks.hosts.groups import Peers
from rancher_stacks.net.ports import CATALOG
from tools.mock_outputs import digest
from tools.plan import plan_stack
from tools.planfile import dumps

ROOT = Path(__file__).resolve().parents[2]
CONTAINER = "docker:index/container:Container"
HOST = "rancher-stacks:index:DockerHost"
AWS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"


@pytest.fixture(scope="module")
def plans() -> dict[str, dict]:
    return {stack: plan_stack(ROOT / f"Pulumi.{stack}.yaml") for stack in ("dev", "prod", "local")}


def named(plan: dict, type_: str) -> dict[str, dict]:
    return {r["name"]: r for r in plan["resources"] if r["type"] == type_}


def upload(container: dict, suffix: str) -> str:
    (content,) = [u["content"] for u in container["inputs"]["uploads"] if u["file"].endswith(suffix)]
    return content


def ingress(plan: dict, group: str) -> dict[str, set[str]]:
    """Service -> the sources (group names, ``self``, ``admin``) a group's security group admits."""
    found: dict[str, set[str]] = {}
    services = sorted(CATALOG, key=len, reverse=True)
    for name in named(plan, AWS_RULE):
        if not name.startswith(f"{group}-fw-"):
            continue
        rest = name.removeprefix(f"{group}-fw-")
        service = next(s for s in services if rest.startswith(s + "-"))
        source = re.sub(r"-tcp\d+.*$", "", rest.removeprefix(service + "-"))
        found.setdefault(service, set()).add(source)
    return found


def test_prod_has_three_tiers_with_dedicated_masters_over_three_zones(plans):
    (es,) = [r for r in plans["prod"]["resources"] if r["type"] == "rancher-stacks:index:ElasticsearchCluster"]
    inputs = es["inputs"]
    assert len(inputs["masters"]) == 3 and len(inputs["dataNodes"]) == 3 and len(inputs["coordinatingNodes"]) == 2
    assert len(set(inputs["masterZones"])) == 3
    roles = inputs["roles"]
    assert {tuple(roles[m]) for m in inputs["masters"]} == {("master",)}
    assert {tuple(roles[d]) for d in inputs["dataNodes"]} == {("data", "ingest")}
    assert {tuple(roles[c]) for c in inputs["coordinatingNodes"]} == {()}


def test_dev_combines_the_roles_on_three_masters(plans):
    (es,) = [r for r in plans["dev"]["resources"] if r["type"] == "rancher-stacks:index:ElasticsearchCluster"]
    assert {tuple(v) for v in es["inputs"]["roles"].values()} == {("master", "data", "ingest")}
    assert len(es["inputs"]["masters"]) == 3


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_elasticsearch_nodes_lock_memory_keep_data_on_the_volume_and_never_pin_initial_masters(plans, stack):
    containers = named(plans[stack], CONTAINER)
    nodes = {n: c for n, c in containers.items() if n.startswith("es-es-")}
    assert nodes
    for name, node in nodes.items():
        settings = yaml.safe_load(upload(node, "elasticsearch.yml"))
        assert "cluster.initial_master_nodes" not in settings, name
        assert settings["xpack.security.transport.ssl.enabled"] and settings["xpack.security.http.ssl.enabled"]
        assert {"name": "memlock", "soft": -1, "hard": -1} in node["inputs"]["ulimits"]
        assert node["inputs"]["envs"] == "[secret]"
        if not name.startswith("es-es-coord"):
            (mount,) = node["inputs"]["mounts"]
            assert mount["type"] == "bind" and mount["source"].startswith("/mnt/data/elasticsearch/")
        entry = upload(node, "rancher-stacks-entrypoint.sh")
        assert "-Ecluster.initial_master_nodes=" in entry and "rancher-stacks-cluster-formed" in entry
    commands = named(plans[stack], "command:remote:Command")
    masters = [n for n in nodes if n.startswith("es-es-master-")]
    assert sorted(n.removeprefix("es-") + "-formed" for n in masters) == sorted(
        n.removeprefix("es-") for n in commands if n.endswith("-formed")
    )
    assert "es-security-setup" in commands


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_elasticsearch_hosts_get_max_map_count_and_others_do_not(plans, stack):
    for name, inst in named(plans[stack], "aws:ec2/instance:Instance").items():
        doc = yaml.safe_load(inst["inputs"]["userData"])
        sysctl = doc.get("rancher", {}).get("sysctl", {})
        if name.startswith("es-"):
            assert sysctl.get("vm.max_map_count") == "262144", name
        else:
            assert "vm.max_map_count" not in sysctl, name


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_host_of_every_system_ships_its_logs_over_mutual_tls(plans, stack):
    plan = plans[stack]
    hosts = set(named(plan, HOST))
    shippers = {n.removeprefix("shippers-"): c for n, c in named(plan, CONTAINER).items() if n.startswith("shippers-")}
    assert set(shippers) == hosts
    assert {h.split("-")[0] for h in hosts} >= {"storage", "game", "database", "webapp", "lb", "es", "kibana", "log"}
    collectors = {
        i["name"]: i
        for i in named(plan, "aws:ec2/instance:Instance").values()
        if i["name"].startswith("log-collector-")
    }
    assert len(collectors) == 2
    for host, shipper in shippers.items():
        config = yaml.safe_load(upload(shipper, "filebeat.yml"))
        out = config["output.logstash"]
        assert out["ssl.enabled"] and out["ssl.verification_mode"] == "full" and out["ssl.key"], host
        assert len(out["hosts"]) == 2 and all(h.endswith(":5044") for h in out["hosts"])
        addresses = [h.rsplit(":", 1)[0] for h in out["hosts"]]
        # Shippers on AWS use the collectors' private addresses; the others cross a cloud
        # boundary: public addresses (TLS either way).
        on_aws = any(v["name"] == f"{host}-vm-instance" for v in named(plan, "aws:ec2/instance:Instance").values())
        assert all(a.startswith("10.") for a in addresses) is on_aws, (host, addresses)
        assert config["processors"][2]["add_fields"]["fields"]["host"] == host
        (logs,) = [v for v in shipper["inputs"]["volumes"] if v.get("hostPath") == "/var/lib/docker/containers"]
        assert logs["readOnly"] is True
        assert not shipper["inputs"].get("privileged") and not shipper["inputs"].get("ports")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_firewalls_keep_each_logging_port_to_the_groups_that_need_it(plans, stack):
    plan = plans[stack]
    groups = {n.rsplit("-", 1)[0] for n in named(plan, HOST)}
    beats = ingress(plan, "log-collector")
    assert beats.pop("ssh") == {"admin"}
    assert beats == {"beats": (groups - {"log-collector"}) | {"self"}}
    assert ingress(plan, "log-redis") == {"ssh": {"admin"}, "redis": {"log-collector", "log-indexer"}}
    assert ingress(plan, "log-indexer") == {"ssh": {"admin"}}
    assert ingress(plan, "kibana") == {"ssh": {"admin"}, "https": {"admin"}}
    cluster = {"es-master", "es-data", "es-coord"} & groups
    client_tier = "es-coord" if "es-coord" in groups else "es-master"
    for tier in cluster:
        rules = ingress(plan, tier)
        expected = {t if t != tier else "self" for t in cluster}
        assert rules["elasticsearch-transport"] == expected, tier
        clients = {"kibana", "log-indexer"} if tier == client_tier else set()
        assert rules["elasticsearch-http"] == expected | clients, tier
    for name, container in named(plan, CONTAINER).items():
        published = {p["internal"] for p in container["inputs"].get("ports") or []}
        assert 5601 not in published, name


def test_the_local_stack_runs_one_shipper_for_its_one_daemon(plans):
    local = plans["local"]
    shippers = [n for n in named(local, CONTAINER) if n.startswith("shippers-")]
    assert len(shippers) == 1
    assert "logShippers" in local["outputs"]


@pytest.mark.parametrize("stack", ["dev", "prod", "local"])
def test_no_generated_logging_secret_appears_in_a_plan(plans, stack):
    text = dumps(plans[stack])
    for name in (
        "es-elastic-password",
        "es-kibana-system-password",
        "es-writer-password",
        "log-broker-password",
        "kibana-basic-auth-password",
        "kibana-encryption-key",
    ):
        assert digest("password", name)[:16] not in text, name
    assert "PRIVATE KEY" not in text
    outputs = plans[stack]["outputs"]
    assert outputs["elasticPassword"] == outputs["kibanaBasicAuthPassword"] == "[secret]"


def test_shipping_off_runs_no_shipper_and_opens_no_5044(tmp_path):
    doc = yaml.safe_load((ROOT / "Pulumi.dev.yaml").read_text())
    doc["config"]["rancher-stacks:shipLogs"] = False
    path = tmp_path / "Pulumi.dev.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    plan = plan_stack(path)
    assert not [n for n in named(plan, CONTAINER) if n.startswith("shippers-")]
    assert "beats" not in ingress(plan, "log-collector")


def test_peers_names_lists_every_declared_group():
    peers = Peers({name: object() for name in ("webapp", "database", "log-collector")})  # type: ignore[misc]
    assert peers.names() == ["database", "log-collector", "webapp"]
