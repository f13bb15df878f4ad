"""Stack config parsing: the shipped stacks parse; every mistake names its full key."""

from pathlib import Path

import pytest

from rancher_stacks.config import ConfigError, StackConfig, parse_stack_config
from tools.stackfile import load_stack_file

ROOT = Path(__file__).resolve().parent.parent
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIIoxUQlDyiffLLu/+UM15M3cGKfuMdznlM7IOGA+WOw1 me@host"


def shipped(stack: str) -> StackConfig:
    sf = load_stack_file(ROOT / f"Pulumi.{stack}.yaml", ROOT)
    raw = {k.split(":", 1)[1]: v for k, v in sf.config.items() if k.startswith("rancher-stacks:")}
    return parse_stack_config(raw)


def base(**workloads) -> dict:
    return {
        "sshPublicKey": KEY,
        "adminCidrs": ["203.0.113.0/24"],
        "clouds": {
            "aws": {"region": "us-east-1", "zones": ["us-east-1a", "us-east-1b"], "amiId": "ami-0b0a5e5e1e5b0a5e5"},
            "gcp": {"project": "my-project-1", "imageUrl": "https://storage.googleapis.com/b/burmillaos-gce.tar.gz"},
            "digitalocean": {"region": "nyc3", "customImageUrl": "https://images.example.com/burmillaos.img"},
        },
        "workloads": workloads,
    }


def test_dev_runs_on_all_three_clouds():
    dev = shipped("dev")
    clouds = {name: w.cloud for name, w in dev.workload_items()}
    assert set(clouds.values()) == {"aws", "gcp", "digitalocean"}
    assert clouds == {
        "storage": "aws", "game": "aws", "database": "gcp", "webapp": "digitalocean", "load_balancer": "digitalocean",
        "logging": "aws",
        "ci": "aws",
    }


def test_prod_is_ha_restricted_and_protected():
    prod = shipped("prod")
    assert prod.protect_stateful is True
    assert prod.workloads.storage.servers == 3 and len(prod.clouds.aws.zones) == 3
    assert prod.workloads.database.members == 5 and prod.workloads.webapp.replicas == 3
    assert all(c.endswith("/32") or c.endswith("/64") for c in prod.admin_cidrs)


def test_local_needs_no_cloud_and_no_ssh_key():
    local = shipped("local")
    assert {w.cloud for _, w in local.workload_items()} == {"local"}
    assert local.ssh_public_key is None and local.clouds.aws is None


def test_json_strings_are_decoded_like_the_cli_passes_them():
    raw = base(storage={"cloud": "aws"})
    cfg = parse_stack_config({**raw, "clouds": __import__("json").dumps(raw["clouds"]), "protectStateful": "false"})
    assert cfg.clouds.aws.region == "us-east-1" and cfg.protect_stateful is False


@pytest.mark.parametrize(
    ("raw", "key", "expected"),
    [
        (base(database={"cloud": "gcp", "members": 4}), "rancher-stacks:workloads.database.members", "odd"),
        (base(database={"cloud": "gcp", "members": 1}), "rancher-stacks:workloads.database.members", "greater than or equal to 3; got 1"),
        (base(database={"cloud": "gcp", "memberz": 3}), "rancher-stacks:workloads.database.memberz", "no such key"),
        (base(storage={"cloud": "azure"}), "rancher-stacks:workloads.storage.cloud", "'aws', 'gcp'"),
        (base(storage={"cloud": "aws", "servers": 0}), "rancher-stacks:workloads.storage.servers", "greater than or equal to 2; got 0"),
        (base(webapp={"cloud": "digitalocean", "replicas": 0}, database={"cloud": "gcp"}),
         "rancher-stacks:workloads.webapp.replicas", "at least 2"),
        (base(database={"cloud": "gcp"}, webapp={"cloud": "digitalocean"},
              loadBalancer={"cloud": "digitalocean", "algorithm": "random"}),
         "rancher-stacks:workloads.loadBalancer.algorithm", "'roundrobin', 'leastconn' or 'source'"),
        ({**base(), "adminCidrs": ["10.0.0.0/33"]}, "rancher-stacks:adminCidrs[0]", "CIDR"),
        ({**base(), "adminCidrs": ["0.0.0.0/0"]}, "rancher-stacks:adminCidrs[0]", "not /0"),
        ({**base(storage={"cloud": "aws"}), "sshPublicKey": ""}, "rancher-stacks:sshPublicKey", "SSH public key"),
        ({**base(storage={"cloud": "aws"}), "sshPublicKey": "not a key"}, "rancher-stacks:sshPublicKey", "pattern"),
        ({**base(storage={"cloud": "aws"}), "adminCidrs": []}, "rancher-stacks:adminCidrs", "admin CIDR"),
        ({**base(), "clouds": {"aws": {"region": "us-east-1", "zones": ["us-west-2a"]}}},
         "rancher-stacks:clouds.aws.zones[0]", "zone of region 'us-east-1'"),
        ({**base(), "clouds": {"gcp": {"project": "my-project-1", "zones": ["europe-west1-b"]}}},
         "rancher-stacks:clouds.gcp.zones[0]", "zone of region 'us-central1'"),
        ({**base(), "clouds": {"gcp": {"project": "my-project-1", "subnetCidr": "8.8.0.0/16"}}},
         "rancher-stacks:clouds.gcp.subnetCidr", "private IPv4 range"),
        ({**base(), "clouds": {"gcp": {"project": "my-project-1", "network": "default"}}},
         "rancher-stacks:clouds.gcp.network", "no such key"),
        ({**base(database={"cloud": "gcp"}), "hostOs": {"name": "rancheros"}},
         "rancher-stacks:workloads.database.image", "answers clone3 with EPERM"),
        ({**base(storage={"cloud": "aws"}, game={"cloud": "aws"}), "hostOs": {"name": "rancheros"}},
         "rancher-stacks:workloads.game.nodeImage", "glibc >= 2.34"),
        ({**base(database={"cloud": "gcp", "image": "mongo:6.0"}, webapp={"cloud": "digitalocean"}),
          "hostOs": {"name": "rancheros"}}, "rancher-stacks:hostOs.name", "python:3.12.13-slim-bookworm"),
        ({**base(), "hostOs": {"name": "rancheros", "dockerEngine": "docker-29.8.2"}},
         "rancher-stacks:hostOs.dockerEngine", "no engine for rancheros"),
        ({**base(), "hostOs": {"name": "burmillaos", "dockerEngine": "latest"}},
         "rancher-stacks:hostOs.dockerEngine", "pattern"),
        ({**base(storage={"cloud": "aws"}), "hostOs": {"name": "coreos"}}, "rancher-stacks:hostOs.name", "'burmillaos'"),
        ({**base(storage={"cloud": "aws"}), "clouds": {"aws": {"imdsHttpTokens": "required", "amiId": "ami-0b0a5e5e1e5b0a5e5"}}},
         "rancher-stacks:clouds.aws.imdsHttpTokens", "IMDSv1 only"),
        ({**base(storage={"cloud": "aws"}), "clouds": {"aws": {}}}, "rancher-stacks:clouds.aws.amiId", "publishes no image"),
        ({**base(database={"cloud": "gcp"}), "clouds": {"gcp": {"project": "my-project-1"}}},
         "rancher-stacks:clouds.gcp.imageUrl", "publishes no image"),
        ({**base(webapp={"cloud": "local"}, database={"cloud": "digitalocean"}), "clouds": {"digitalocean": {}, "local": {}}},
         "rancher-stacks:clouds.digitalocean.customImageUrl", "publishes no image"),
        ({**base(), "clouds": {"digitalocean": {"sshKeyFingerprint": "ab:cd"}}},
         "rancher-stacks:clouds.digitalocean.sshKeyFingerprint", "pattern"),
        ({**base(), "clouds": {"digitalocean": {"size": "s-1vcpu-1gb"}}},
         "rancher-stacks:clouds.digitalocean.size", "at least 50 GB"),
        ({**base(), "clouds": {"digitalocean": {"reservedIps": "sometimes"}}},
         "rancher-stacks:clouds.digitalocean.reservedIps", "bool"),
        ({"workloads": {"storage": {"cloud": "aws"}}, "sshPublicKey": KEY, "adminCidrs": ["1.2.3.0/24"]},
         "rancher-stacks:workloads.storage.cloud", "clouds.aws is not set"),
        (base(game={"cloud": "aws"}), "rancher-stacks:workloads.game", "needs workloads.storage"),
        ({"workloads": "{\"storage\": "}, "rancher-stacks:workloads", "valid JSON"),
        ({"clusterSize": 3}, "rancher-stacks:clusterSize", "no such key"),
        (base(storage={"cloud": "aws"}, game={"cloud": "aws", "publicPort": 8080}),
         "rancher-stacks:workloads.game.publicPort", "not the management or data port 8080"),
        (base(database={"cloud": "gcp"}, webapp={"cloud": "digitalocean"},
              loadBalancer={"cloud": "digitalocean", "publicPort": 27017}),
         "rancher-stacks:workloads.loadBalancer.publicPort", "port 27017"),
    ],
)
def test_bad_config_names_the_key(raw, key, expected):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(raw)
    message = str(err.value)
    assert message.startswith(f"{key}: expected"), message
    assert expected in message, message


def test_private_key_never_prints():
    cfg = parse_stack_config({"sshPrivateKey": "-----BEGIN OPENSSH PRIVATE KEY----- secret"})
    assert "secret" not in repr(cfg) and "BEGIN" not in str(cfg)



def test_rancheros_runs_older_images_and_anything_locally():
    ok = parse_stack_config({**base(storage={"cloud": "aws"}, database={"cloud": "gcp", "image": "mongo:6.0"}),
                             "hostOs": {"name": "rancheros"}})
    release = ok.host_os.release()
    assert (release.version, release.docker_engine, release.runs_glibc_234) == ("v1.5.8", None, False)
    local = parse_stack_config({"hostOs": {"name": "rancheros"}, "clouds": {"local": {}},
                                "workloads": {"database": {"cloud": "local"}, "webapp": {"cloud": "local"}}})
    assert local.host_os.name == "rancheros"


def test_burmillaos_is_the_default_with_a_pinned_engine():
    release = parse_stack_config(base()).host_os.release()
    assert (release.name, release.version, release.docker_engine) == ("burmillaos", "v2.0.5", "docker-29.8.2")
    newer = parse_stack_config({**base(), "hostOs": {"dockerEngine": "docker-28.5.1"}}).host_os.release()
    assert (newer.docker_engine, newer.docker_version) == ("docker-28.5.1", "28.5.1")


# --- backups -----------------------------------------------------------------------------------


def test_backups_are_on_by_default_in_every_shipped_stack():
    for stack in ("dev", "prod", "local"):
        backups = shipped(stack).backups
        assert backups.enabled is True, stack
    prod = shipped("prod").backups
    assert prod.schedule.every == "24h" and prod.schedule.at == "04:00" and prod.retain_days >= 7


@pytest.mark.parametrize(
    ("backups", "key", "fragment"),
    [
        ({"schedule": {"every": "6h"}}, "backups.schedule.every", "'12h' or '24h'; got '6h'"),
        ({"schedule": {"at": "03:00"}}, "backups.schedule.at", "GCP starts daily snapshot schedules only"),
        ({"schedule": {"at": "4:00"}}, "backups.schedule.at", "00:00, 04:00"),
        ({"retainDays": 0}, "backups.retainDays", "greater than or equal to 1"),
        ({"retainDays": 3651}, "backups.retainDays", "less than or equal to 3650"),
        ({"retainDays": "a week"}, "backups.retainDays", "integer"),
        ({"keep": 3}, "backups.keep", "no such key"),
    ],
)
def test_bad_backup_settings_name_the_key(backups, key, fragment):
    with pytest.raises(ConfigError) as err:
        parse_stack_config({**base(storage={"cloud": "aws"}), "backups": backups})
    assert str(err.value).startswith(f"rancher-stacks:{key}: expected ")
    assert fragment in str(err.value)


def test_backups_arrive_as_json_from_the_cli():
    cfg = parse_stack_config(
        {**base(storage={"cloud": "aws"}), "backups": '{"schedule": {"every": "12h", "at": "20:00"}, "retainDays": 30}'}
    )
    assert cfg.backups.schedule.interval_hours == 12 and cfg.backups.retain_days == 30


@pytest.mark.parametrize("workload", ["storage", "database"])
def test_data_volumes_on_digitalocean_are_refused_while_backups_are_on(workload):
    """DigitalOcean has no scheduled volume snapshots: such a stack would silently have none."""
    raw = base(**{workload: {"cloud": "digitalocean"}})
    with pytest.raises(ConfigError) as err:
        parse_stack_config(raw)
    message = str(err.value)
    assert message.startswith(f"rancher-stacks:workloads.{workload}.cloud: expected a cloud with scheduled volume snapshots")
    assert "on demand" in message
    # Opting out is explicit; stateless workloads on DigitalOcean are fine either way.
    assert parse_stack_config({**raw, "backups": {"enabled": False}}).backups.enabled is False
    parse_stack_config(base(storage={"cloud": "aws"}, database={"cloud": "gcp"}, webapp={"cloud": "digitalocean"}))


# --- kubernetes ---------------------------------------------------------------------------------


def k8s(**section) -> dict:
    raw = base()
    raw["kubernetes"] = section
    return raw


def test_the_k8s_stack_parses_with_an_autoscaled_group_of_2_to_6():
    cfg = shipped("k8s").kubernetes
    assert cfg is not None and cfg.version == "1.35" and cfg.flow_scheduler and cfg.metrics_server
    group = cfg.node_groups[0]
    assert (group.min_size, group.max_size, group.desired) == (2, 6, 2) and group.autoscaled


def test_equal_min_and_max_mean_a_fixed_group():
    cfg = parse_stack_config(k8s(nodeGroups=[{"name": "fixed", "minSize": 3, "maxSize": 3}])).kubernetes
    assert cfg is not None and not cfg.node_groups[0].autoscaled and cfg.node_groups[0].desired == 3


@pytest.mark.parametrize(
    ("section", "key", "fragment"),
    [
        ({"nodeGroups": [{"name": "a", "minSize": 7, "maxSize": 6}]}, "kubernetes.nodeGroups[0].minSize",
         "at most maxSize (6); got 7"),
        ({"nodeGroups": [{"name": "a", "minSize": 2, "maxSize": 6, "desiredSize": 9}]},
         "kubernetes.nodeGroups[0].desiredSize", "between minSize 2 and maxSize 6; got 9"),
        ({"nodeGroups": [{"name": "a", "minSize": 2, "maxSize": 6, "desiredSize": 1}]},
         "kubernetes.nodeGroups[0].desiredSize", "got 1"),
        ({"version": "1.29"}, "kubernetes.version", "1.33, 1.34, 1.35, 1.36); got '1.29'"),
        ({"version": "1.35.2"}, "kubernetes.version", "got '1.35.2'"),
        ({"autoscaler": {"expander": "price"}}, "kubernetes.autoscaler.expander", "got 'price'"),
        ({"autoscaler": {"expander": "random,random"}}, "kubernetes.autoscaler.expander", "at most once"),
        ({"nodeGroups": [{"name": "a"}, {"name": "a"}]}, "kubernetes.nodeGroups[1].name", "unique"),
        ({"nodeGroups": [{"name": "a", "zones": ["us-east-1f"]}]}, "kubernetes.nodeGroups[0].zones[0]",
         "one of the cluster's zones"),
        ({"zones": ["us-east-1a"]}, "kubernetes.zones", "at least two zones"),
        ({"zones": ["eu-west-1a", "eu-west-1b"]}, "kubernetes.zones[0]", "a zone of region 'us-east-1'"),
        ({"vpcCidr": "8.8.0.0/16"}, "kubernetes.vpcCidr", "a private IPv4 range"),
        ({"endpoint": {"private": False, "public": False}}, "kubernetes.endpoint", "private or public"),
        ({"flowSchedulerImage": "flow:latest"}, "kubernetes.flowSchedulerImage", "pinned"),
        ({"nodeGroups": [{"name": "a", "taints": [{"key": "k", "effect": "Sometimes"}]}]},
         "kubernetes.nodeGroups[0].taints[0].effect", "one of"),
        ({"nodeGroups": []}, "kubernetes.nodeGroups", "at least 1"),
    ],
)
def test_bad_kubernetes_settings_name_their_key(section, key, fragment):
    with pytest.raises(ConfigError) as err:
        parse_stack_config(k8s(**section))
    assert str(err.value).startswith(f"rancher-stacks:{key}: expected"), str(err.value)
    assert fragment in str(err.value)


def test_a_public_endpoint_needs_admin_cidrs():
    raw = k8s()
    raw["adminCidrs"] = []
    raw.pop("sshPublicKey")
    with pytest.raises(ConfigError, match=r"^rancher-stacks:adminCidrs: expected at least one admin CIDR: the cluster"):
        parse_stack_config(raw)
    raw["kubernetes"] = {"endpoint": {"public": False}}
    assert parse_stack_config(raw).kubernetes is not None


def test_kubernetes_needs_the_aws_cloud():
    raw = k8s()
    raw["clouds"] = {}
    with pytest.raises(ConfigError, match=r"^rancher-stacks:kubernetes.cloud: expected a cloud configured"):
        parse_stack_config(raw)
