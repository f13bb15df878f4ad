"""``HitCounterApp`` under the mock engine: both image paths, secrets, placement, failure modes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pulumi
import pytest
from host_fixtures import local_hosts
from host_fixtures import remote_hosts as fixture_hosts

from rancher_stacks.clouds.digitalocean.registry import parse_docker_credentials
from rancher_stacks.config import RegistrySettings
from rancher_stacks.hosts.dockerhost import DockerHost, FailureDomain
from rancher_stacks.net.peer import PeerGroup
from rancher_stacks.net.rules import FromGroup
from rancher_stacks.workloads.hitcounter.app import (
    APP_DIR,
    MONGO_CA_ENV,
    MONGO_CA_PATH,
    HitCounterApp,
    HitCounterAppArgs,
    app_content_hash,
    app_ingress,
    build_context,
)
from tools.mock_outputs import resource_outputs
from tools.mockengine import SECRET, ProgramRun, run_program

CONTAINER = "docker:index/container:Container"
IMAGE = "docker:index/image:Image"
REMOTE_IMAGE = "docker:index/remoteImage:RemoteImage"
CREDENTIALS = (
    "digitalocean:index/containerRegistryDockerCredentials:ContainerRegistryDockerCredentials"
)
MONGO_URL = "mongodb://root:s3cr3t-mongo-pw@10.0.1.1:27017,10.0.1.2:27017/?replicaSet=rs0"
TAG = app_content_hash(APP_DIR)[:16]
MONGO_CA = "-----BEGIN CERTIFICATE-----\nTESTCA\n-----END CERTIFICATE-----\n"


def remote_hosts(count: int) -> list[DockerHost]:
    return fixture_hosts(
        count,
        "web",
        domain=lambda i: FailureDomain("digitalocean", "nyc3", f"nyc3-{i}"),
        public=lambda i: f"198.51.100.{20 + i}",
        private=lambda i: f"10.0.2.{20 + i}",
    )


def deploy(
    make_hosts, kind: str, count: int = 2, captured: dict | None = None, existing: bool = False, **extra
) -> ProgramRun:
    def program() -> None:
        app = HitCounterApp(
            "web",
            HitCounterAppArgs(
                hosts=make_hosts(count),
                mongo_url=pulumi.Output.secret(MONGO_URL),
                registry=RegistrySettings(kind=kind, name="stacks-registry", tier="basic", existing=existing),
                **extra,
            ),
        )
        pulumi.export("image", app.image_name)
        pulumi.export("backends", [{"name": b.name, "address": b.address, "port": b.port} for b in app.backends])
        if captured is not None:
            for backend, container in zip(app.backends, app.containers, strict=True):
                container.envs.apply(lambda envs, n=backend.name: captured.setdefault(n, envs))

    return run_program(program)


@pytest.fixture(scope="module")
def do_captured() -> dict:
    return {}


@pytest.fixture(scope="module")
def do_run(do_captured) -> ProgramRun:
    return deploy(remote_hosts, "digitalocean", count=3, captured=do_captured, registry_region="nyc3")


@pytest.fixture(scope="module")
def local_run() -> ProgramRun:
    return deploy(local_hosts, "none")


def containers(run: ProgramRun):
    return sorted(run.by_type(CONTAINER), key=lambda c: c.name)


def test_props_name_replicas_hosts_port_and_registry(do_run, local_run):
    (component,) = do_run.by_type("rancher-stacks:index:HitCounterApp")
    assert component.inputs == {
        "replicas": 3, "hosts": ["web0", "web1", "web2"], "port": 5000, "registry": "digitalocean"
    }
    assert local_run.by_type("rancher-stacks:index:HitCounterApp")[0].inputs["registry"] == "none"


def test_one_container_per_distinct_host(do_run):
    found = containers(do_run)
    assert [c.name for c in found] == ["web-web0", "web-web1", "web-web2"]
    assert [c.provider_urn for c in found] == [do_run.by_name(f"web{i}-docker").urn for i in range(3)]
    for c in found:
        assert c.inputs["restart"] == "unless-stopped"
        assert c.inputs["hostname"] == c.name
        assert c.inputs["ports"] == [{"internal": 5000, "external": 5000}]
        check = c.inputs["healthcheck"]
        assert check["tests"][:3] == ["CMD", "python", "-c"]
        assert "http://127.0.0.1:5000/healthcheck" in check["tests"][3]
        assert c.inputs["wait"] is True


def test_mongo_url_is_secret_in_every_container(do_run, do_captured):
    for c in containers(do_run):
        assert c.inputs["envs"] == SECRET
        assert do_captured[c.name.removeprefix("web-")] == [f"MONGO_URL={MONGO_URL}", "MONGO_DB=hitcounter", "PORT=5000"]
    recorded = json.dumps([r.inputs for r in do_run.resources]) + json.dumps(do_run.outputs)
    assert "s3cr3t-mongo-pw" not in recorded


def test_without_a_mongo_ca_nothing_is_uploaded(do_run, local_run):
    for c in containers(do_run) + containers(local_run):
        assert "uploads" not in c.inputs


@pytest.fixture(scope="module")
def tls_captured() -> dict:
    return {}


@pytest.fixture(scope="module")
def tls_run(tls_captured) -> ProgramRun:
    # The CA arrives as an Output, the way MongoReplicaSet.ca_certificate does.
    return deploy(
        remote_hosts,
        "digitalocean",
        captured=tls_captured,
        mongo_ca_certificate=pulumi.Output.from_input(MONGO_CA),
    )


def test_the_mongo_ca_is_uploaded_into_every_container_and_named_in_its_env(tls_run, tls_captured):
    found = containers(tls_run)
    assert len(found) == 2
    for c in found:
        # Public material: readable in the plan, readable by the app's unprivileged user.
        assert c.inputs["uploads"] == [
            {"file": MONGO_CA_PATH, "content": MONGO_CA, "permissions": "0444"}
        ]
        assert c.inputs["envs"] == SECRET  # still: MONGO_URL holds the password
        assert tls_captured[c.name.removeprefix("web-")] == [
            f"MONGO_URL={MONGO_URL}", "MONGO_DB=hitcounter", "PORT=5000", f"{MONGO_CA_ENV}={MONGO_CA_PATH}"
        ]
    assert MONGO_CA_PATH == "/etc/hitcounter/mongo-ca.pem" and MONGO_CA_ENV == "MONGO_TLS_CA_FILE"


def test_the_mongo_ca_reaches_local_containers_too():
    run = deploy(local_hosts, "none", mongo_ca_certificate=MONGO_CA)
    for c in containers(run):
        assert c.inputs["uploads"] == [
            {"file": MONGO_CA_PATH, "content": MONGO_CA, "permissions": "0444"}
        ]


def test_registry_path_pushes_to_the_registry_endpoint(do_run):
    registry = do_run.by_name("web-registry-registry")
    assert registry.inputs == {"name": "stacks-registry", "subscriptionTierSlug": "basic", "region": "nyc3"}
    credentials = do_run.by_name("web-registry-credentials")
    assert credentials.inputs["write"] is True
    assert do_run.by_name("web-registry-pull-credentials").inputs["write"] is False
    (image,) = do_run.by_type(IMAGE)
    assert image.inputs["imageName"] == f"registry.digitalocean.com/stacks-registry/hitcounter:{TAG}"
    assert image.inputs["build"] == {"context": build_context(APP_DIR), "platform": "linux/amd64"}
    assert image.inputs["skipPush"] is False
    assert image.inputs["registry"] == SECRET
    assert do_run.outputs["image"].startswith(f"registry.digitalocean.com/stacks-registry/hitcounter:{TAG}@sha256:")


def test_an_existing_registry_is_looked_up_not_created():
    """One registry per DigitalOcean account: a second stack uses it by name."""
    shared = deploy(remote_hosts, "digitalocean", count=2, existing=True)
    assert shared.by_type("digitalocean:index/containerRegistry:ContainerRegistry") == []
    lookups = [args for token, args in shared.invokes if token.endswith("getContainerRegistry")]
    assert lookups == [{"name": "stacks-registry"}]
    assert shared.by_name("web-registry-credentials").inputs["registryName"] == "stacks-registry"
    (image,) = shared.by_type(IMAGE)
    assert image.inputs["imageName"] == f"registry.digitalocean.com/stacks-registry/hitcounter:{TAG}"


def test_each_host_pulls_the_pushed_digest_with_registry_auth(do_run):
    digest = do_run.outputs["image"]
    for i in range(3):
        puller = do_run.by_name(f"web-web{i}-pull")
        assert puller.type == "pulumi:providers:docker"
        assert puller.inputs["host"] == f"ssh://rancher@198.51.100.{20 + i}:22"
        assert puller.inputs["registryAuth"] == SECRET
        pulled = do_run.by_name(f"web-web{i}-image")
        assert pulled.type == REMOTE_IMAGE and pulled.inputs["name"] == digest
        assert pulled.provider_urn == puller.urn
        container = do_run.by_name(f"web-web{i}")
        assert container.inputs["image"].startswith("sha256:")  # the pulled image's id
        assert pulled.urn in container.dependencies


def test_hosts_pull_with_the_read_only_credentials_and_only_the_build_pushes() -> None:
    from rancher_stacks.clouds.digitalocean.registry import DigitalOceanRegistry, DigitalOceanRegistryArgs

    def program() -> None:
        registry = DigitalOceanRegistry("reg", DigitalOceanRegistryArgs(registry_name="r", tier="basic", region="nyc3"))
        pulumi.export("hosts", pulumi.Output.unsecret(registry.docker_config))
        pulumi.export("push", pulumi.Output.unsecret(registry.password))

    result = run_program(program)
    documents = {
        name: resource_outputs(CREDENTIALS, name, result.by_name(name).inputs)[1]["dockerCredentials"]
        for name in ("reg-credentials", "reg-pull-credentials")
    }
    assert result.by_name("reg-pull-credentials").inputs["write"] is False
    assert result.outputs["hosts"] == documents["reg-pull-credentials"]
    assert result.outputs["push"] == parse_docker_credentials(documents["reg-credentials"], "registry.digitalocean.com")[1]


def test_registry_credentials_never_appear_in_plain_text(do_run):
    credentials = do_run.by_name("web-registry-credentials")
    document = resource_outputs(CREDENTIALS, credentials.name, credentials.inputs)[1]["dockerCredentials"]
    user, password = parse_docker_credentials(document, "registry.digitalocean.com")
    recorded = json.dumps([r.inputs for r in do_run.resources]) + json.dumps(do_run.outputs)
    for value in (document, password, json.loads(document)["auths"]["registry.digitalocean.com"]["auth"]):
        assert value not in recorded
    assert user not in recorded


def test_local_path_builds_once_on_the_shared_daemon_without_pushing(local_run):
    (image,) = local_run.by_type(IMAGE)
    assert image.inputs["imageName"] == f"hitcounter:{TAG}"
    assert image.inputs["skipPush"] is True
    assert "platform" not in image.inputs["build"]
    assert image.provider_urn == local_run.by_name("h0-docker").urn
    assert not local_run.by_type("digitalocean:index/containerRegistry:ContainerRegistry")
    assert not local_run.by_type(REMOTE_IMAGE)
    found = containers(local_run)
    assert [c.inputs["image"] for c in found] == [f"hitcounter:{TAG}"] * 2
    assert [c.inputs["ports"] for c in found] == [
        [{"internal": 5000, "external": 5000}], [{"internal": 5000, "external": 5001}]
    ]
    assert all(c.inputs["envs"] == SECRET for c in found)


def test_backends_are_host_address_and_published_port(do_run, local_run):
    assert do_run.outputs["backends"] == [
        {"name": f"web{i}", "address": f"198.51.100.{20 + i}", "port": 5000} for i in range(3)
    ]
    assert local_run.outputs["backends"] == [
        {"name": "h0", "address": "host.docker.internal", "port": 5000},
        {"name": "h1", "address": "host.docker.internal", "port": 5001},
    ]


@pytest.mark.parametrize("count", [0, 1])
def test_fewer_than_two_replicas_are_rejected(count):
    with pytest.raises(ValueError, match="at least 2 replicas"):
        run_program(lambda: HitCounterApp("web", HitCounterAppArgs(hosts=remote_hosts(count), mongo_url="x")))


def test_the_same_host_twice_is_rejected():
    def program() -> None:
        (host,) = remote_hosts(1)
        HitCounterApp("web", HitCounterAppArgs(hosts=[host, host], mongo_url="x"))

    with pytest.raises(ValueError, match="distinct hosts; repeated: web0"):
        run_program(program)


def test_content_hash_follows_the_build_context(tmp_path):
    copy = tmp_path / "hitcounter"
    shutil.copytree(APP_DIR, copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert app_content_hash(copy) == app_content_hash(APP_DIR)
    (copy / "__pycache__").mkdir(exist_ok=True)
    (copy / "__pycache__" / "x.pyc").write_bytes(b"noise")
    assert app_content_hash(copy) == app_content_hash(APP_DIR)
    (copy / "gunicorn.conf.py").write_text((APP_DIR / "gunicorn.conf.py").read_text() + "\n# edit\n")
    assert app_content_hash(copy) != app_content_hash(APP_DIR)
    with pytest.raises(ValueError, match="no Dockerfile"):
        app_content_hash(tmp_path)


def test_parse_docker_credentials():
    import base64

    doc = json.dumps({"auths": {"registry.digitalocean.com": {"auth": base64.b64encode(b"tok:tok").decode()}}})
    assert parse_docker_credentials(doc, "registry.digitalocean.com") == ("tok", "tok")
    for bad in ("{}", '{"auths": {}}', '{"auths": {"r": {"auth": "bm9jb2xvbg=="}}}', "not json"):
        with pytest.raises(ValueError):
            parse_docker_credentials(bad, "registry.digitalocean.com")


def test_app_ingress_admits_the_app_port_from_the_load_balancer_only():
    lb = PeerGroup("lb", "digitalocean", pulumi.Output.from_input([]), pulumi.Output.from_input([]))
    (rule,) = app_ingress(lb, 5000)
    assert rule.service == "hitcounter" and rule.source == FromGroup(lb)
    assert [(p.protocol, p.first) for p in rule.ports] == [("tcp", 5000)]
    (moved,) = app_ingress(lb, 8000)
    assert [(p.protocol, p.first) for p in moved.ports] == [("tcp", 8000)]


def test_build_context_is_relative_inside_the_working_directory(monkeypatch, tmp_path):
    monkeypatch.chdir(APP_DIR.parent.parent)
    assert build_context(APP_DIR) == "apps/hitcounter"
    monkeypatch.chdir(tmp_path)
    assert build_context(APP_DIR) == str(APP_DIR)
    assert isinstance(Path(build_context(APP_DIR)), Path)
