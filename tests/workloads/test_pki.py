"""``PrivateCa`` under the mock engine: the CA, issued certificates, SANs, uses and secrecy."""

from __future__ import annotations

import json

import pulumi
import pytest

from rancher_stacks.workloads.pki import CLIENT_USES, PEER_USES, PrivateCa, Sans, sans
from tools.mock_outputs import resource_outputs
from tools.mockengine import SECRET, ProgramRun, run_program

CERT = "tls:index/locallySignedCert:LocallySignedCert"
KEY = "tls:index/privateKey:PrivateKey"
MOCK_KEY = resource_outputs(KEY, "any", {})[1]["privateKeyPem"]


def test_sans_split_ip_literals_from_dns_names() -> None:
    assert sans("10.0.0.1", "es-0.internal", "10.0.0.1", "::1") == Sans(["es-0.internal"], ["10.0.0.1", "::1"])
    with pytest.raises(ValueError, match="neither an IP address nor a DNS name"):
        sans("not a name")


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    def program() -> None:
        ca = PrivateCa("logs-ca", "logging CA")
        server = ca.issue("es-0-tls", "es-0", ca, addresses=pulumi.Output.from_input(["203.0.113.7", "es-0"]))
        client = ca.issue("shipper-tls", "shipper", ca, uses=CLIENT_USES)
        pulumi.export("ca", ca.ca_certificate)
        pulumi.export("serverKey", server.private_key_pem)
        pulumi.export("clientCert", client.cert_pem)

    return run_program(program)


def test_issued_certificates_are_signed_by_the_ca_with_their_uses_and_names(run: ProgramRun) -> None:
    server = run.by_name("es-0-tls-cert")
    assert server.type == CERT
    assert server.inputs["allowedUses"] == PEER_USES
    ca_key = run.by_name("logs-ca-key")
    # The CA key signs it, and travels only as a secret.
    assert server.inputs["caPrivateKeyPem"] == SECRET
    assert ca_key.urn in server.dependencies
    assert server.inputs["caCertPem"] == run.outputs["ca"]
    csr = run.by_name("es-0-tls-csr")
    assert csr.inputs["ipAddresses"] == ["203.0.113.7"] and csr.inputs["dnsNames"] == ["es-0"]
    assert run.by_name("shipper-tls-cert").inputs["allowedUses"] == CLIENT_USES


def test_private_keys_never_appear_in_plain_text(run: ProgramRun) -> None:
    assert MOCK_KEY not in json.dumps(run.outputs)


def test_a_certificate_outliving_its_ca_is_refused() -> None:
    def program() -> None:
        ca = PrivateCa("short-ca", "short", validity_hours=48)
        ca.issue("leaf", "leaf", ca, validity_hours=49)

    with pytest.raises(Exception, match="no longer than the CA"):
        run_program(program)
