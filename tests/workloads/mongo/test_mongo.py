"""``MongoReplicaSet`` under the mock engine: topology, secrets, initiation, failure modes."""

from __future__ import annotations

import json

import pulumi
import pytest
from host_fixtures import local_hosts
from host_fixtures import remote_hosts as fixture_hosts

from rancher_stacks.hosts.dockerhost import DockerHost, FailureDomain
from rancher_stacks.images import MONGO_IMAGE
from rancher_stacks.net.peer import PeerGroup
from rancher_stacks.net.rules import FromGroup, FromSelf
from rancher_stacks.workloads.mongo.render_scripts import (
    ENTRYPOINT_PATH,
    KEYFILE_PATH,
    TLS_CA_PATH,
    TLS_CERTIFICATE_KEY_PATH,
    render_member_entrypoint,
)
from rancher_stacks.workloads.mongo.replicaset import (
    MongoReplicaSet,
    MongoReplicaSetArgs,
    connection_string,
    member_ingress,
    mongod_command,
)
from tools.mock_outputs import resource_outputs
from tools.mockengine import SECRET, ProgramRun, run_program

CONTAINER = "docker:index/container:Container"
PASSWORD = "random:index/randomPassword:RandomPassword"
TLS_KEY = "tls:index/privateKey:PrivateKey"
MOCK_KEY = resource_outputs(TLS_KEY, "any", {})[1]["privateKeyPem"]


def remote_hosts(count: int) -> list[DockerHost]:
    return fixture_hosts(
        count,
        "db",
        domain=lambda i: FailureDomain("aws", "us-east-1", f"us-east-1{'abcdefg'[i]}"),
        public=lambda i: f"203.0.113.{10 + i}",
        private=lambda i: f"10.0.1.{10 + i}",
    )


def deploy(make_hosts, count=3, advertise="public", captured=None) -> ProgramRun:
    def program() -> None:
        rs = MongoReplicaSet(
            "mongo", MongoReplicaSetArgs(hosts=make_hosts(count), advertise=advertise)
        )
        pulumi.export("connectionString", rs.connection_string)
        pulumi.export("members", rs.member_addresses)
        pulumi.export("caCertificate", rs.ca_certificate)
        if captured is not None:
            rs.connection_string.apply(lambda value: captured.setdefault("connectionString", value))
            for i, container in enumerate(rs.containers):
                container.envs.apply(lambda envs, i=i: captured.setdefault(f"envs-{i}", envs))

    return run_program(program)


@pytest.fixture(scope="module")
def captured() -> dict:
    return {}


@pytest.fixture(scope="module")
def run(captured) -> ProgramRun:
    return deploy(remote_hosts, captured=captured)


def test_component_props_are_exactly_what_the_policy_pack_reads(run):
    (component,) = run.by_type("rancher-stacks:index:MongoReplicaSet")
    assert component.inputs == {
        "replicaSetName": "rs0",
        "members": 3,
        "hosts": ["db0", "db1", "db2"],
        "zones": ["aws/us-east-1/us-east-1a", "aws/us-east-1/us-east-1b", "aws/us-east-1/us-east-1c"],
        "tlsMode": "requireTLS",
    }


def test_one_member_container_per_distinct_host(run):
    containers = sorted(run.by_type(CONTAINER), key=lambda c: c.name)
    assert [c.name for c in containers] == ["mongo-db0", "mongo-db1", "mongo-db2"]
    component = run.by_type("rancher-stacks:index:MongoReplicaSet")[0]
    providers = set()
    for i, c in enumerate(containers):
        assert c.parent == component.urn
        assert c.provider_urn == run.by_name(f"db{i}-docker").urn
        providers.add(c.provider_urn)
    assert len(providers) == 3


def test_member_runs_mongod_with_replset_bind_all_keyfile_and_required_tls(run):
    c = run.by_name("mongo-db0").inputs
    assert c["command"] == [
        "mongod", "--replSet", "rs0", "--bind_ip_all", "--keyFile", KEYFILE_PATH,
        "--tlsMode", "requireTLS",
        "--tlsCertificateKeyFile", TLS_CERTIFICATE_KEY_PATH,
        "--tlsCAFile", TLS_CA_PATH,
        "--tlsAllowConnectionsWithoutCertificates",
    ]
    assert c["command"] == mongod_command("rs0")
    assert c["entrypoints"] == [ENTRYPOINT_PATH]
    # Only the (public) wrapper script is uploaded; the secret files come from the secret envs.
    assert c["uploads"] == [
        {"file": ENTRYPOINT_PATH, "content": render_member_entrypoint(), "permissions": "0755"}
    ]
    assert c["ports"] == [{"internal": 27017, "external": 27017}]
    assert c["restart"] == "unless-stopped"
    assert c["image"].startswith("sha256:")  # the pulled official image's id
    image = run.by_name("mongo-db0-image").inputs
    assert image["name"] == MONGO_IMAGE


def test_data_is_bind_mounted_from_the_hosts_data_dir(run):
    for i in range(3):
        volumes = run.by_name(f"mongo-db{i}").inputs["volumes"]
        assert volumes == [{"hostPath": f"/mnt/data/mongodb/mongo-db{i}", "containerPath": "/data/db"}]


def test_envs_are_secret_in_the_recorded_inputs(run):
    for c in run.by_type(CONTAINER):
        assert c.inputs["envs"] == SECRET


def test_keyfile_and_root_password_never_appear_in_plain_text(run):
    passwords = run.by_type(PASSWORD)
    assert {p.name for p in passwords} == {"mongo-root-password", "mongo-keyfile"}
    keyfile = run.by_name("mongo-keyfile").inputs
    assert 6 <= keyfile["length"] <= 1024 and keyfile["overrideSpecial"] == "+/"
    assert run.by_name("mongo-root-password").inputs["special"] is False
    secrets = [resource_outputs(PASSWORD, p.name, p.inputs)[1]["result"] for p in passwords]
    recorded = json.dumps([r.inputs for r in run.resources]) + json.dumps(run.outputs)
    for value in secrets:
        assert len(value) >= 16
        assert value not in recorded


def test_connection_string_is_secret_and_lists_the_advertised_members(run, captured):
    assert run.outputs["connectionString"] == SECRET
    assert run.outputs["members"] == ["203.0.113.10:27017", "203.0.113.11:27017", "203.0.113.12:27017"]
    password = resource_outputs(PASSWORD, "mongo-root-password", {"length": 32})[1]["result"]
    assert captured["connectionString"] == (
        f"mongodb://root:{password}@203.0.113.10:27017,203.0.113.11:27017,203.0.113.12:27017/"
        "?replicaSet=rs0&authSource=admin&tls=true"
    )


def test_connection_string_helper_turns_tls_on():
    url = connection_string("root", "pw", ["10.0.0.1:27017", "10.0.0.2:27017"], "rs0")
    assert url == "mongodb://root:pw@10.0.0.1:27017,10.0.0.2:27017/?replicaSet=rs0&authSource=admin&tls=true"
    assert "tls=true" not in connection_string("root", "pw", ["10.0.0.1:27017"], "rs0", tls=False)


# --------------------------------------------------------------------------- TLS


def test_a_pki_child_issues_one_certificate_per_member(run):
    component = run.by_type("rancher-stacks:index:MongoReplicaSet")[0]
    (pki,) = run.by_type("rancher-stacks:index:ReplicaSetPki")
    assert pki.name == "mongo-pki" and pki.parent == component.urn
    assert pki.inputs["members"] == ["db0", "db1", "db2"]
    assert pki.inputs["replicaSetName"] == "rs0"
    ca = run.by_name("mongo-pki-ca")
    assert ca.type == "tls:index/selfSignedCert:SelfSignedCert" and ca.inputs["isCaCertificate"] is True
    certs = run.by_type("tls:index/locallySignedCert:LocallySignedCert")
    assert sorted(c.name for c in certs) == ["mongo-pki-db0-cert", "mongo-pki-db1-cert", "mongo-pki-db2-cert"]
    for c in certs:
        assert {"server_auth", "client_auth"} <= set(c.inputs["allowedUses"])


def sans(run: ProgramRun, member: str) -> tuple[list[str], list[str]]:
    inputs = run.by_name(f"mongo-pki-{member}-csr").inputs
    return inputs["dnsNames"], inputs["ipAddresses"]


def test_remote_member_certificates_name_their_advertised_ip(run):
    for i in range(3):
        assert sans(run, f"db{i}") == (["localhost"], [f"203.0.113.{10 + i}", "127.0.0.1"])


def test_private_advertising_certifies_the_private_ips():
    run = deploy(remote_hosts, advertise="private")
    for i in range(3):
        assert sans(run, f"db{i}") == (["localhost"], [f"10.0.1.{10 + i}", "127.0.0.1"])


def test_local_member_certificates_name_host_docker_internal():
    run = deploy(local_hosts)
    for i in range(3):
        assert sans(run, f"h{i}") == (["host.docker.internal", "localhost"], ["127.0.0.1"])


def test_each_member_gets_its_own_certificate_and_key_and_the_ca_in_secret_envs(run, captured):
    assert run.outputs["caCertificate"] == resource_outputs(
        "tls:index/selfSignedCert:SelfSignedCert", "mongo-pki-ca", {}
    )[1]["certPem"]  # public: not a secret output
    component = run.by_type("rancher-stacks:index:MongoReplicaSet")[0]
    assert component.outputs["caCertificate"] == run.outputs["caCertificate"]
    password = resource_outputs(PASSWORD, "mongo-root-password", {"length": 32})[1]["result"]
    keyfile = resource_outputs(PASSWORD, "mongo-keyfile", {"length": 756})[1]["result"]
    for i in range(3):
        cert = resource_outputs(
            "tls:index/locallySignedCert:LocallySignedCert", f"mongo-pki-db{i}-cert", {}
        )[1]["certPem"]
        assert captured[f"envs-{i}"] == [
            "MONGO_INITDB_ROOT_USERNAME=root",
            f"MONGO_INITDB_ROOT_PASSWORD={password}",
            f"MONGO_KEYFILE_CONTENT={keyfile}",
            f"MONGO_TLS_CERTIFICATE_KEY={cert}{MOCK_KEY}",
            f"MONGO_TLS_CA={run.outputs['caCertificate']}",
        ]


def test_no_private_key_material_is_recorded_in_plain_text(run):
    assert "PRIVATE KEY" in MOCK_KEY and "MOCK" in MOCK_KEY  # what a leak would look like
    assert len(run.by_type(TLS_KEY)) == 4  # the CA's and one per member
    for r in run.resources:
        text = json.dumps([r.inputs, r.outputs])
        assert "PRIVATE KEY" not in text and "MOCK" not in text, r.name
    assert "PRIVATE KEY" not in json.dumps(run.outputs)


def test_initiation_runs_once_on_the_first_host_after_every_member(run, captured):
    cmd = run.by_name("mongo-rs-init")
    assert cmd.type == "command:remote:Command"
    assert cmd.inputs["connection"] == SECRET  # the SSH connection (and key) stays secret
    assert cmd.parent == run.by_type("rancher-stacks:index:MongoReplicaSet")[0].urn
    assert run.by_name("db0-wait-docker").urn in cmd.dependencies  # runs where db0's docker works
    containers = {c.urn for c in run.by_type(CONTAINER)}
    assert containers <= set(cmd.dependencies)
    script = cmd.inputs["create"]
    assert "container='mongo-db0'" in script
    wanted = json.loads(script.split("const wanted = ", 1)[1].split(";\n", 1)[0])
    assert wanted["members"] == [
        {"_id": 0, "host": "203.0.113.10:27017"},
        {"_id": 1, "host": "203.0.113.11:27017"},
        {"_id": 2, "host": "203.0.113.12:27017"},
    ]
    assert cmd.inputs["triggers"] == [
        "rs0", ["203.0.113.10:27017", "203.0.113.11:27017", "203.0.113.12:27017"]
    ]
    # No SSH environment (RancherOS-family sshd refuses it): the script reads the password from
    # the member container's own environment through docker exec.
    assert not cmd.inputs.get("environment")
    assert 'docker exec "$container" mongosh' in script
    password = resource_outputs(PASSWORD, "mongo-root-password", {"length": 32})[1]["result"]
    assert password not in script


def test_private_advertising_uses_private_addresses():
    run = deploy(remote_hosts, count=5, advertise="private")
    assert run.outputs["members"] == [f"10.0.1.{10 + i}:27017" for i in range(5)]
    assert len(run.by_type(CONTAINER)) == 5


@pytest.mark.parametrize("advertise", ["public", "private"])
def test_local_members_share_one_daemon_on_distinct_ports(advertise):
    run = deploy(local_hosts, advertise=advertise)
    assert run.outputs["members"] == [
        "host.docker.internal:27017", "host.docker.internal:27018", "host.docker.internal:27019"
    ]
    ports = [c.inputs["ports"] for c in sorted(run.by_type(CONTAINER), key=lambda c: c.name)]
    assert ports == [[{"internal": 27017, "external": 27017 + i}] for i in range(3)]
    for c in run.by_type(CONTAINER):
        assert c.inputs["hosts"] == [{"host": "host.docker.internal", "ip": "host-gateway"}]
    assert len(run.by_type("docker:index/remoteImage:RemoteImage")) == 1
    assert run.by_name("mongo-rs-init").type == "command:local:Command"


@pytest.mark.parametrize(("count", "message"), [(2, "odd number"), (4, "odd number"), (1, "at least 3")])
def test_even_or_too_few_members_are_rejected(count, message):
    with pytest.raises(ValueError, match=message):
        MongoReplicaSet("mongo", MongoReplicaSetArgs(hosts=remote_hosts(count)))


def test_duplicate_hosts_are_rejected():
    def program() -> None:
        hosts = remote_hosts(2)
        MongoReplicaSet("mongo", MongoReplicaSetArgs(hosts=[hosts[0], hosts[1], hosts[0]]))

    with pytest.raises(ValueError, match="distinct hosts; repeated: db0"):
        run_program(program)


def test_bad_replica_set_name_or_advertise_is_rejected():
    with pytest.raises(ValueError, match="replica set name"):
        run_program(lambda: MongoReplicaSet("m", MongoReplicaSetArgs(remote_hosts(3), replica_set_name="r s")))
    with pytest.raises(ValueError, match="advertise"):
        run_program(lambda: MongoReplicaSet("m", MongoReplicaSetArgs(remote_hosts(3), advertise="both")))  # type: ignore[arg-type]


def test_member_ingress_admits_mongodb_from_the_set_and_each_client_group():
    web = PeerGroup("web", "aws", pulumi.Output.from_input([]), pulumi.Output.from_input([]))
    rules = member_ingress([web])
    assert [(r.service, r.source) for r in rules] == [("mongodb", FromSelf()), ("mongodb", FromGroup(web))]


def test_an_app_user_gets_its_own_secret_password_and_connection_string() -> None:
    from rancher_stacks.workloads.mongo.render_scripts import AppUser

    seen: dict = {}

    def program() -> None:
        rs = MongoReplicaSet(
            "mongo", MongoReplicaSetArgs(hosts=remote_hosts(3), app_user=AppUser("counter", "counts"))
        )
        rs.connection_string.apply(lambda value: seen.setdefault("url", value))
        rs.initiation.stdin.apply(lambda value: seen.setdefault("stdin", value))  # type: ignore[attr-defined]

    result = run_program(program)
    app_password = resource_outputs(PASSWORD, "mongo-app-password", {"length": 32})[1]["result"]
    assert seen["url"].startswith(f"mongodb://counter:{app_password}@203.0.113.10:27017,")
    assert seen["stdin"] == app_password + "\n"
    init = result.by_name("mongo-rs-init")
    assert init.inputs["stdin"] == SECRET
    assert "counts" in init.inputs["create"] and app_password not in json.dumps([r.inputs for r in result.resources])
