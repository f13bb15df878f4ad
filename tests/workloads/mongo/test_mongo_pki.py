"""``ReplicaSetPki`` under the mock engine: the CA, member certificates, SANs and secrecy."""

from __future__ import annotations

import json

import pulumi
import pytest

from rancher_stacks.workloads.mongo.pki import (
    CA_VALIDITY_HOURS,
    MEMBER_VALIDITY_HOURS,
    MemberSans,
    PkiMember,
    ReplicaSetPki,
    ReplicaSetPkiArgs,
    member_sans,
)
from tools.mock_outputs import resource_outputs
from tools.mockengine import SECRET, ProgramRun, Registration, run_program

KEY = "tls:index/privateKey:PrivateKey"
CA = "tls:index/selfSignedCert:SelfSignedCert"
CSR = "tls:index/certRequest:CertRequest"
CERT = "tls:index/locallySignedCert:LocallySignedCert"
PKI = "rancher-stacks:index:ReplicaSetPki"
MOCK_KEY = resource_outputs(KEY, "any", {})[1]["privateKeyPem"]


def mocked(run: ProgramRun, name: str, key: str) -> str:
    """What the mock engine answered for ``name``'s output ``key``."""
    r = run.by_name(name)
    return resource_outputs(r.type, r.name, r.inputs)[1][key]


def recorded_text(run: ProgramRun) -> str:
    """Everything the run recorded: every resource's inputs and outputs, and the stack outputs."""
    return json.dumps([[r.inputs, r.outputs] for r in run.resources]) + json.dumps(run.outputs)


def deploy(members: list[tuple[str, str]], captured: dict | None = None, **extra) -> ProgramRun:
    def program() -> None:
        pki = ReplicaSetPki(
            "db-pki",
            ReplicaSetPkiArgs(
                replica_set_name="rs0",
                # Addresses arrive as Outputs, the way hosts' addresses do.
                members=[PkiMember(n, pulumi.Output.from_input(a)) for n, a in members],
                **extra,
            ),
        )
        pulumi.export("ca", pki.ca_certificate)
        pulumi.export("certificates", pki.member_certificates)
        pulumi.export("certificateKeyFiles", pki.certificate_key_files)
        if captured is not None:
            for (n, _), pem in zip(members, pki.certificate_key_files, strict=True):
                pem.apply(lambda value, n=n: captured.setdefault(n, value))

    return run_program(program)


@pytest.fixture(scope="module")
def captured() -> dict:
    return {}


@pytest.fixture(scope="module")
def run(captured) -> ProgramRun:
    return deploy([("db0", "203.0.113.10"), ("db1", "10.0.1.11"), ("h0", "host.docker.internal")], captured)


# --------------------------------------------------------------------------- SANs, pure


@pytest.mark.parametrize(
    ("address", "sans"),
    [
        ("203.0.113.10", MemberSans(["localhost"], ["203.0.113.10", "127.0.0.1"])),
        ("10.0.1.11", MemberSans(["localhost"], ["10.0.1.11", "127.0.0.1"])),
        ("127.0.0.1", MemberSans(["localhost"], ["127.0.0.1"])),
        ("host.docker.internal", MemberSans(["host.docker.internal", "localhost"], ["127.0.0.1"])),
        ("db-0.example.com", MemberSans(["db-0.example.com", "localhost"], ["127.0.0.1"])),
        ("localhost", MemberSans(["localhost"], ["127.0.0.1"])),
    ],
)
def test_an_ip_literal_is_an_ip_san_and_a_name_a_dns_san(address, sans):
    assert member_sans(address) == sans


@pytest.mark.parametrize("address", ["", "bad name", "db_0.example.com", "-db.example.com", "a..b"])
def test_an_address_that_is_neither_is_rejected(address):
    with pytest.raises(ValueError, match="neither an IP address nor a DNS name"):
        member_sans(address)


# --------------------------------------------------------------------------- the CA


def test_one_ca_key_and_self_signed_ca_certificate(run):
    (ca_key,) = [k for k in run.by_type(KEY) if k.name == "db-pki-ca-key"]
    assert ca_key.inputs == {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
    (ca,) = run.by_type(CA)
    assert ca.name == "db-pki-ca"
    assert ca.inputs["isCaCertificate"] is True
    assert ca.inputs["allowedUses"] == ["cert_signing", "crl_signing"]
    assert ca.inputs["validityPeriodHours"] == CA_VALIDITY_HOURS == 87600  # 10 years
    assert 0 < ca.inputs["earlyRenewalHours"] < CA_VALIDITY_HOURS
    assert ca.inputs["subject"]["commonName"] == "MongoDB replica set rs0 CA"
    assert ca.inputs["privateKeyPem"] == SECRET


def test_the_ca_certificate_is_public(run):
    assert run.outputs["ca"] == mocked(run, "db-pki-ca", "certPem")
    assert run.outputs["ca"].startswith("-----BEGIN CERTIFICATE-----")


# --------------------------------------------------------------------------- members


def test_each_member_has_a_key_a_request_and_a_certificate_signed_by_the_ca(run):
    assert sorted(k.name for k in run.by_type(KEY)) == [
        "db-pki-ca-key", "db-pki-db0-key", "db-pki-db1-key", "db-pki-h0-key"
    ]
    ca_pem = mocked(run, "db-pki-ca", "certPem")
    for member in ("db0", "db1", "h0"):
        key = run.by_name(f"db-pki-{member}-key")
        assert key.inputs == {"algorithm": "ECDSA", "ecdsaCurve": "P256"}
        csr = run.by_name(f"db-pki-{member}-csr")
        assert csr.inputs["privateKeyPem"] == SECRET
        assert key.urn in csr.dependencies
        assert csr.inputs["subject"]["commonName"] == member
        cert = run.by_name(f"db-pki-{member}-cert")
        assert cert.inputs["certRequestPem"] == mocked(run, f"db-pki-{member}-csr", "certRequestPem")
        assert cert.inputs["caCertPem"] == ca_pem
        assert cert.inputs["caPrivateKeyPem"] == SECRET
        assert {"server_auth", "client_auth"} <= set(cert.inputs["allowedUses"])
        assert "cert_signing" not in cert.inputs["allowedUses"]
        assert cert.inputs["validityPeriodHours"] == MEMBER_VALIDITY_HOURS
        assert 0 < cert.inputs["earlyRenewalHours"] < MEMBER_VALIDITY_HOURS
        assert {run.by_name("db-pki-ca").urn, run.by_name("db-pki-ca-key").urn} <= set(cert.dependencies)
    assert run.outputs["certificates"] == [
        mocked(run, f"db-pki-{m}-cert", "certPem") for m in ("db0", "db1", "h0")
    ]


def test_member_sans_follow_the_advertised_address(run):
    def sans(member: str) -> tuple[list[str], list[str]]:
        inputs = run.by_name(f"db-pki-{member}-csr").inputs
        return inputs["dnsNames"], inputs["ipAddresses"]

    assert sans("db0") == (["localhost"], ["203.0.113.10", "127.0.0.1"])
    assert sans("db1") == (["localhost"], ["10.0.1.11", "127.0.0.1"])
    assert sans("h0") == (["host.docker.internal", "localhost"], ["127.0.0.1"])


def test_certificate_key_files_are_secret_and_hold_certificate_then_key(run, captured):
    assert run.outputs["certificateKeyFiles"] == SECRET  # the list as a whole
    for member in ("db0", "db1", "h0"):
        assert captured[member] == mocked(run, f"db-pki-{member}-cert", "certPem") + MOCK_KEY


def test_no_private_key_appears_in_plain_text(run):
    assert "PRIVATE KEY" in MOCK_KEY and "MOCK" in MOCK_KEY  # what a leak would look like
    text = recorded_text(run)
    assert "PRIVATE KEY" not in text
    assert "MOCK" not in text


# --------------------------------------------------------------------------- structure


def test_every_resource_is_a_child_named_after_the_component(run):
    (component,) = run.by_type(PKI)
    children: list[Registration] = [r for r in run.resources if r.custom]
    assert len(children) == 2 + 3 * 3
    for r in children:
        assert r.parent == component.urn, r.name
        assert r.name.startswith("db-pki-"), r.name


def test_component_props_and_outputs(run):
    (component,) = run.by_type(PKI)
    assert component.inputs == {
        "replicaSetName": "rs0",
        "members": ["db0", "db1", "h0"],
        "keyAlgorithm": "ECDSA P256",
        "caValidityHours": CA_VALIDITY_HOURS,
        "memberValidityHours": MEMBER_VALIDITY_HOURS,
    }
    assert {k: component.outputs[k] for k in component.inputs} == component.inputs
    assert component.outputs["caCertificate"] == run.outputs["ca"]
    assert component.outputs["memberCertificates"] == run.outputs["certificates"]


def test_shorter_validities_are_passed_through():
    run = deploy([("a", "10.0.0.1")], ca_validity_hours=1000, member_validity_hours=100)
    assert run.by_name("db-pki-ca").inputs["validityPeriodHours"] == 1000
    cert = run.by_name("db-pki-a-cert").inputs
    assert cert["validityPeriodHours"] == 100 and 0 < cert["earlyRenewalHours"] <= 50


@pytest.mark.parametrize(
    ("members", "extra", "message"),
    [
        ([], {}, "at least one member"),
        ([("a", "10.0.0.1"), ("a", "10.0.0.2")], {}, "member names repeat: a"),
        ([("a b", "10.0.0.1")], {}, "member name"),
        ([("a", "10.0.0.1")], {"member_validity_hours": CA_VALIDITY_HOURS + 1}, "no longer than the CA"),
        ([("a", "10.0.0.1")], {"member_validity_hours": 0}, "positive"),
    ],
)
def test_bad_arguments_are_rejected(members, extra, message):
    with pytest.raises(ValueError, match=message):
        deploy(members, **extra)
