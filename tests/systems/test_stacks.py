"""The shipped stacks, planned offline through the real program, checked like a reviewer would.

Each stack is planned once per session (the same code path as ``python -m tools.plan``).
"""

import copy
import json
from pathlib import Path

import pytest

from rancher_stacks import policies
from rancher_stacks.policies.ports import exposes_to_world
from tools.mock_outputs import digest
from tools.mockengine import SECRET
from tools.plan import main, plan_stack
from tools.planfile import dumps, policy_resources

ROOT = Path(__file__).resolve().parents[2]
ADMIN_AND_DATA_PORTS = (22, 2375, 2376, 8080, 8081, 9345, 9346, 27017, 3306, 6379, 9200, 9300, 24007)
DATA_VOLUME_TYPES = ("aws:ebs/volume:Volume", "gcp:compute/disk:Disk", "digitalocean:index/volume:Volume")
# Every shipped stack file (Pulumi.<stack>.yaml), so a new stack is planned and checked too.
STACKS = sorted(p.name.split(".")[1] for p in ROOT.glob("Pulumi.*.yaml"))


@pytest.fixture(scope="session")
def plans() -> dict[str, dict]:
    return {stack: plan_stack(ROOT / f"Pulumi.{stack}.yaml") for stack in STACKS}


def test_the_shipped_stacks_are_found() -> None:
    assert {"dev", "prod", "local", "k8s"} <= set(STACKS)


def of_type(plan: dict, type_: str) -> list[dict]:
    return [r for r in plan["resources"] if r["type"] == type_]


def mandatory(plan: dict) -> list[dict]:
    return [v for v in policies.evaluate(policy_resources(plan)) if v["enforcement"] == "mandatory"]


@pytest.mark.parametrize("stack", STACKS)
def test_every_shipped_stack_passes_the_policy_pack(plans, stack):
    assert mandatory(plans[stack]) == []


def test_dev_has_hosts_firewalls_and_volumes_on_all_three_clouds(plans):
    dev = plans["dev"]
    # 2 Gluster servers + 1 game host + logging: 3 ES masters, 2 collectors, Redis, 2 indexers, Kibana
    # + the CI controller, its front and 2 agents
    assert len(of_type(dev, "aws:ec2/instance:Instance")) == 3 + 9 + 4
    assert len(of_type(dev, "gcp:compute/instance:Instance")) == 3  # Mongo members
    assert len(of_type(dev, "digitalocean:index/droplet:Droplet")) == 3  # 2 apps + load balancer
    assert of_type(dev, "aws:ec2/securityGroup:SecurityGroup")
    assert of_type(dev, "gcp:compute/firewall:Firewall")
    assert of_type(dev, "digitalocean:index/firewall:Firewall")
    assert len(of_type(dev, "aws:ebs/volume:Volume")) == 2 + 4 + 1  # Gluster bricks, ES masters, Redis, Jenkins home
    assert len(of_type(dev, "gcp:compute/disk:Disk")) == 3
    assert {r["name"] for r in of_type(dev, "rancher-stacks:index:GlusterCluster")} == {"storage"}
    assert of_type(dev, "rancher-stacks:index:MongoReplicaSet")[0]["inputs"]["members"] == 3


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_no_admin_or_data_port_is_reachable_from_the_world(plans, stack):
    open_ports = [
        (r["name"], port)
        for r in plans[stack]["resources"]
        for port in ADMIN_AND_DATA_PORTS
        if exposes_to_world(r["type"], r["inputs"], port)
    ]
    assert open_ports == []
    # ... while the public services are: the game and the load balancer on port 80.
    public = {r["name"] for r in plans[stack]["resources"] if exposes_to_world(r["type"], r["inputs"], 80)}
    assert any(n.startswith("game-fw") for n in public) and any(n.startswith("lb-fw") for n in public)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_imds_and_encryption_everywhere(plans, stack):
    """BurmillaOS reads user data with IMDSv1 only: then no profile, hop limit 1, no secret in it."""
    plan = plans[stack]
    for inst in of_type(plan, "aws:ec2/instance:Instance"):
        options = inst["inputs"]["metadataOptions"]
        assert options["httpTokens"] == "optional" and options["httpPutResponseHopLimit"] == 1, inst["name"]
        assert "iamInstanceProfile" not in inst["inputs"], inst["name"]
        assert "PRIVATE KEY" not in inst["inputs"]["userData"] and SECRET not in inst["inputs"]["userData"]
        assert inst["inputs"]["rootBlockDevice"]["encrypted"] is True, inst["name"]
    for vol in of_type(plan, "aws:ebs/volume:Volume"):
        assert vol["inputs"]["encrypted"] is True and vol["inputs"]["type"] == "gp3", vol["name"]


def test_stateful_resources_are_retained_everywhere_and_protected_in_prod(plans):
    for stack in ("dev", "prod"):
        volumes = [r for t in DATA_VOLUME_TYPES for r in of_type(plans[stack], t)]
        assert volumes and all(v["retainOnDelete"] for v in volumes)
        assert all(v["protect"] for v in volumes) is (stack == "prod")


def test_prod_is_spread_over_three_zones(plans):
    prod = plans["prod"]
    zones = {i["inputs"]["availabilityZone"] for i in of_type(prod, "aws:ec2/instance:Instance")}
    assert zones == {"us-east-1a", "us-east-1b", "us-east-1c"}
    rs = of_type(prod, "rancher-stacks:index:MongoReplicaSet")[0]["inputs"]
    assert rs["members"] == 5 and len(set(rs["zones"])) == 3


def test_local_creates_no_vm_and_no_firewall(plans):
    types = {r["type"].split(":")[0] for r in plans["local"]["resources"]}
    assert types <= {"rancher-stacks", "docker", "command", "random", "tls", "pulumi"}


@pytest.mark.parametrize("stack", STACKS)
def test_plans_do_not_depend_on_where_the_checkout_lives(plans, stack):
    assert str(ROOT) not in dumps(plans[stack])


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_aws_and_gcp_hosts_keep_their_addresses_across_restarts(plans, stack):
    """Member addresses are baked into certificates, replica-set config and /32 firewall rules; an
    ephemeral public IP changes at every stop/start on AWS and GCP. (A droplet's IP stays with the
    droplet, and a DigitalOcean reserved IP would not be the source of its outbound traffic.)"""
    plan = plans[stack]
    by_urn = {r["urn"]: r for r in plan["resources"]}
    instances = of_type(plan, "aws:ec2/instance:Instance")
    associated = {by_urn[d]["name"] for a in of_type(plan, "aws:ec2/eipAssociation:EipAssociation")
                  for d in a["dependencies"] if by_urn[d]["type"] == "aws:ec2/instance:Instance"}
    assert instances and associated == {i["name"] for i in instances}
    gce = of_type(plan, "gcp:compute/instance:Instance")
    assert len(of_type(plan, "gcp:compute/address:Address")) == len(gce) > 0
    assert all(i["inputs"]["networkInterfaces"][0]["accessConfigs"][0].get("natIp") for i in gce)


ATTACHMENTS = ("aws:ec2/volumeAttachment:VolumeAttachment", "gcp:compute/attachedDisk:AttachedDisk",
               "digitalocean:index/volumeAttachment:VolumeAttachment")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_a_replaced_machine_gets_its_volume_only_after_the_old_one_let_go(plans, stack):
    """Attachments are replaced delete-first (a disk attaches to one machine at a time: AWS
    VolumeInUse otherwise), and AWS stops the old instance before detaching."""
    attachments = [r for t in ATTACHMENTS for r in of_type(plans[stack], t)]
    # Gluster + Mongo, then logging: the ES masters (and data nodes in prod) and Redis; the Jenkins home.
    assert len(attachments) == {"dev": 2 + 3 + 3 + 1 + 1, "prod": 3 + 5 + 3 + 3 + 1 + 1}[stack]
    assert all(a["deleteBeforeReplace"] for a in attachments)
    for a in of_type(plans[stack], ATTACHMENTS[0]):
        assert a["inputs"]["stopInstanceBeforeDetaching"] is True


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stateful_containers_cannot_start_without_their_data_volume(plans, stack):
    """Gluster and Mongo state is bound with the mounts API (never created by Docker on the root
    disk) from directories a command makes only once the volume is mounted."""
    plan = plans[stack]
    by_urn = {r["urn"]: r for r in plan["resources"]}
    stateful = [c for c in of_type(plan, "docker:index/container:Container")
                if c["name"].startswith(("storage-storage-", "database-database-", "ci-controller"))]
    assert len(stateful) == {"dev": 2 + 3 + 1, "prod": 3 + 5 + 1}[stack]
    for container in stateful:
        inputs = container["inputs"]
        assert not [v for v in inputs.get("volumes", []) if v["hostPath"].startswith("/mnt/data")], container["name"]
        binds = inputs["mounts"]
        assert binds and all(m["type"] == "bind" and m["source"].startswith("/mnt/data/") for m in binds)
        makers = [by_urn[d] for d in container["dependencies"] if by_urn[d]["name"].endswith("-dirs")]
        assert len(makers) == 1 and makers[0]["type"] == "command:remote:Command"
        script = makers[0]["inputs"]["create"]
        assert script.index("is not mounted") < script.index("mkdir -p")
        assert all(m["source"] in script for m in binds)


@pytest.mark.parametrize("stack", STACKS)
def test_no_remote_command_sends_ssh_environment_variables(plans, stack):
    """RancherOS-family sshd accepts no client variables and pulumi-command fails on a refused
    Setenv; secrets must not travel that way either."""
    commands = of_type(plans[stack], "command:remote:Command")
    assert commands or stack == "local"
    assert [c["name"] for c in commands if c["inputs"].get("environment")] == []


@pytest.mark.parametrize("stack", STACKS)
def test_generated_secrets_never_appear_in_a_plan(plans, stack):
    text = dumps(plans[stack])
    for name in ("database-keyfile", "database-root-password"):
        assert digest("password", name)[:16] not in text
    assert json.loads(text)["outputs"]["mongoConnectionString"] == "[secret]"


@pytest.mark.parametrize(
    ("mutate", "policy"),
    [
        ("ssh-world", "no-public-admin-ports"),
        ("gluster-replica-1", "gluster-replica-quorum"),
        ("mongo-two-members", "mongo-replica-set-quorum"),
        ("unencrypted-volume", "ebs-volume-encrypted"),
        ("mongo-without-tls", "database-traffic-encrypted"),
    ],
)
def test_mutated_dev_plans_fail_the_pack(plans, mutate, policy):
    plan = copy.deepcopy(plans["dev"])
    by_name = {r["name"]: r for r in plan["resources"] if not r["type"].startswith("rancher-stacks:index:HostGroup")}
    if mutate == "ssh-world":
        rule = next(r for r in plan["resources"] if r["name"].startswith("storage-fw-ssh-admin"))
        rule["inputs"]["cidrIpv4"] = "0.0.0.0/0"
    elif mutate == "gluster-replica-1":
        by_name["storage"]["inputs"].update(replicas=1, servers=["storage-0"])
    elif mutate == "mongo-without-tls":
        by_name["database"]["inputs"]["tlsMode"] = "allowTLS"
    elif mutate == "mongo-two-members":
        by_name["database"]["inputs"].update(members=2, hosts=by_name["database"]["inputs"]["hosts"][:2])
    else:
        by_name["storage-0-data-volume"]["inputs"]["encrypted"] = False
    assert policy in {v["policy"] for v in mandatory(plan)}


def test_cli_json_is_byte_identical_across_runs(tmp_path, capsys):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["--stack", "dev", "--quiet", "--json", str(first)]) == 0
    assert main(["--stack", "dev", "--quiet", "--json", str(second)]) == 0
    assert first.read_bytes() == second.read_bytes()
    out = capsys.readouterr().out
    assert "Policies: 0 mandatory violation(s)" in out and "resources to create" in out


def test_cli_bad_stack_file_exits_2_naming_the_key(tmp_path, capsys):
    bad = tmp_path / "Pulumi.broken.yaml"
    text = (ROOT / "Pulumi.dev.yaml").read_text().replace("members: 3", "members: 4")
    bad.write_text(text)
    assert main(["--stack-file", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: rancher-stacks:workloads.database.members: expected an odd number")
    assert "Traceback" not in err


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["--stack", "nosuch"]) == 2
    assert main(["--stack", "dev", "--stack-file", "x"]) == 2
    assert main(["diff", str(tmp_path / "missing.json"), str(tmp_path / "missing.json")]) == 2
    assert "no such" in capsys.readouterr().err


def test_cli_exits_1_on_a_mandatory_violation(tmp_path, capsys):
    # An allow-list that admits no public port at all turns the game's port 80 into a violation.
    config = tmp_path / "policy.json"
    config.write_text(json.dumps({"allowedPublicPorts": [443]}))
    assert main(["--stack", "dev", "--quiet", "--policy-config", str(config)]) == 1
    assert "[mandatory] public-ports-allowlist" in capsys.readouterr().out


def test_cli_diff_of_dev_and_a_bigger_dev(tmp_path, capsys):
    base, head = tmp_path / "base.json", tmp_path / "head.json"
    bigger = tmp_path / "Pulumi.dev.yaml"
    bigger.write_text((ROOT / "Pulumi.dev.yaml").read_text().replace("replicas: 2", "replicas: 3"))
    assert main(["--stack", "dev", "--quiet", "--no-policies", "--json", str(base)]) == 0
    assert main(["--stack-file", str(bigger), "--quiet", "--no-policies", "--json", str(head)]) == 0
    capsys.readouterr()
    assert main(["diff", str(base), str(head)]) == 0
    md = capsys.readouterr().out
    assert "| + | `digitalocean:index/droplet:Droplet` | `webapp-2-vm-droplet` |" in md
    assert "| + | `docker:index/container:Container` | `webapp-webapp-2` |" in md


def test_components_repeat_their_policy_props_as_outputs():
    """Live, a stack policy reads a component's registered outputs; they must carry the props."""
    from tools.mockengine import run_main
    from tools.stackfile import load_stack_file

    sf = load_stack_file(ROOT / "Pulumi.dev.yaml", ROOT)
    run = run_main(ROOT / "__main__.py", project=sf.project, stack=sf.stack, config=sf.config)
    checked = 0
    for r in run.resources:
        if r.type in ("rancher-stacks:index:GlusterCluster", "rancher-stacks:index:MongoReplicaSet",
                      "rancher-stacks:index:LoadBalancer", "rancher-stacks:index:JenkinsController"):
            assert {k: r.outputs.get(k) for k in r.inputs} == r.inputs, r.name
            checked += 1
    assert checked == 5  # with the CI front (a LoadBalancer) and the Jenkins controller


@pytest.mark.parametrize("stack", STACKS)
def test_every_resource_lives_in_a_component_and_is_named_after_it(plans, stack):
    plan = plans[stack]
    by_urn = {r["urn"]: r for r in plan["resources"]}
    for r in plan["resources"]:
        parent = by_urn.get(r["parent"])
        if parent is None:  # a top-level component of __main__.py
            assert r["type"].startswith("rancher-stacks:index:"), r["name"]
            continue
        assert parent["type"].startswith("rancher-stacks:index:"), r["name"]
        assert r["name"].startswith(parent["name"]), (parent["name"], r["name"])


@pytest.mark.parametrize("stack", ["dev", "local"])
def test_app_containers_trust_the_replica_sets_ca_and_mongod_requires_tls(plans, stack):
    plan = plans[stack]
    apps = [r for r in of_type(plan, "docker:index/container:Container") if r["name"].startswith("webapp-webapp-")]
    members = [r for r in of_type(plan, "docker:index/container:Container") if r["name"].startswith("database-database-")]
    assert len(apps) >= 2 and len(members) >= 3
    for app in apps:
        files = {u["file"]: u["content"] for u in app["inputs"]["uploads"]}
        assert files["/etc/hitcounter/mongo-ca.pem"].startswith("-----BEGIN CERTIFICATE-----"), app["name"]
    for member in members:
        command = member["inputs"]["command"]
        assert command[command.index("--tlsMode") + 1] == "requireTLS", member["name"]


def test_the_real_entry_point_flushes_and_keeps_exit_codes(tmp_path):
    import subprocess
    import sys

    bad = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "nosuch"],
                         cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: ") and "Pulumi.nosuch.yaml: no such stack file" in bad.stderr
    out = tmp_path / "plan.json"
    good = subprocess.run([sys.executable, "-m", "tools.plan", "--stack", "local", "--quiet", "--json", str(out)],
                          cwd=ROOT, capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    assert good.stdout.rstrip().endswith("Policies: 0 mandatory violation(s), 0 advisory")
    assert json.loads(out.read_text())["stack"] == "local"


# --- backups ------------------------------------------------------------------------------------

DLM = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
GCP_SCHEDULE = "gcp:compute/resourcePolicy:ResourcePolicy"
GCP_SCHEDULE_ATTACHMENT = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"


def backup_violations(plan: dict) -> dict[str, str]:
    return {v["resource"]: v["message"] for v in mandatory(plan) if v["policy"] == "data-volume-backed-up"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_every_data_volume_is_on_a_snapshot_schedule(plans, stack):
    plan = plans[stack]
    (dlm,) = of_type(plan, DLM)
    details = dlm["inputs"]["policyDetails"]
    assert dlm["inputs"]["state"] == "ENABLED" and details["schedules"][0]["retainRule"]["intervalUnit"] == "DAYS"
    ebs = of_type(plan, "aws:ebs/volume:Volume")
    tagged = [v for v in ebs if details["targetTags"].items() <= v["inputs"]["tags"].items()]
    assert len(ebs) == len(tagged) == {"dev": 2 + 4 + 1, "prod": 3 + 7 + 1}[stack]  # + the Jenkins home
    (schedule,) = of_type(plan, GCP_SCHEDULE)
    assert schedule["inputs"]["snapshotSchedulePolicy"]["retentionPolicy"]["onSourceDiskDelete"] == "KEEP_AUTO_SNAPSHOTS"
    disks = {d["urn"] for d in of_type(plan, "gcp:compute/disk:Disk")}
    attachments = of_type(plan, GCP_SCHEDULE_ATTACHMENT)
    attached = [u for a in attachments for u in a["dependencies"] if u in disks]
    assert sorted(attached) == sorted(disks) and len(disks) == {"dev": 3, "prod": 5}[stack]
    assert all(schedule["urn"] in a["dependencies"] for a in attachments)
    assert of_type(plan, "digitalocean:index/volume:Volume") == []  # DigitalOcean cannot schedule them


def test_the_local_stack_has_no_volume_and_no_schedule(plans):
    """Local "data volumes" are directories on the machine running Pulumi: nothing to snapshot."""
    local = plans["local"]
    assert not [r for t in (*DATA_VOLUME_TYPES, DLM, GCP_SCHEDULE) for r in of_type(local, t)]
    assert backup_violations(local) == {}


def _mutated(plan: dict, name: str, change) -> dict:
    mutated = copy.deepcopy(plan)
    mutated["resources"] = [r for r in mutated["resources"] if not (r["name"] == name and change is None)]
    for r in mutated["resources"]:
        if r["name"] == name and change is not None:
            change(r["inputs"])
    return mutated


def test_a_volume_off_its_schedule_fails_the_pack_naming_it(plans):
    dev = plans["dev"]
    untagged = _mutated(dev, "storage-0-data-volume", lambda i: i["tags"].pop("rancher-stacks:backup"))
    assert list(backup_violations(untagged)) == ["storage-0-data-volume"]
    assert "EBS data volume storage-0-data-volume has no scheduled snapshots" in backup_violations(untagged)[
        "storage-0-data-volume"
    ]
    disabled = _mutated(dev, "aws-snapshots", lambda i: i.update(state="DISABLED"))
    flagged = backup_violations(disabled)
    assert sorted(flagged) == [
        "ci-0-data-volume",
        "es-master-0-data-volume", "es-master-1-data-volume", "es-master-2-data-volume", "log-redis-0-data-volume",
        "storage-0-data-volume", "storage-1-data-volume",
    ]  # fmt: skip
    assert all("the DLM policy aws-snapshots that targets it is DISABLED" in m for m in flagged.values())
    detached = _mutated(dev, "database-1-data-snapshots", None)
    assert list(backup_violations(detached)) == ["database-1-data-disk"]
    no_schedule = _mutated(dev, "gcp-snapshots", lambda i: i.pop("snapshotSchedulePolicy"))
    assert sorted(backup_violations(no_schedule)) == ["database-0-data-disk", "database-1-data-disk", "database-2-data-disk"]
