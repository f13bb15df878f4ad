"""``PrivateCa``: a private certificate authority and the certificates it signs.

The systems that speak TLS among their own hosts (Elasticsearch transport and HTTP, the log
shippers' client certificates, a load balancer's public side when no certificate is given) need
a CA nobody else controls. One ``PrivateCa`` is an ECDSA P-256 key and a self-signed CA
certificate (``tls.PrivateKey`` + ``tls.SelfSignedCert``) that may sign certificates and CRLs
only; :meth:`PrivateCa.issue` adds a key, a request and a certificate signed by it
(``tls.LocallySignedCert``) as children of the component that asks.

It follows the MongoDB replica set's PKI (``workloads/mongo/pki.py``, which keeps its own
resources so its URNs never move): same algorithm, validity and early renewal, so a
``pulumi up`` inside the renewal window replaces a certificate, and a new CA replaces every
certificate it signed (they take its key and certificate as inputs).

**Names.** :func:`sans` turns an address into SANs: an IP literal becomes an IP SAN, anything
else a DNS SAN. Addresses are Outputs; call it inside ``apply`` (only values are computed there).

**Secrets.** Private keys are provider secret outputs; :class:`IssuedCert` carries the key PEM
wrapped secret again so it stays secret through every ``apply`` and ``concat`` downstream.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

import pulumi
import pulumi_tls as tls

from ..naming import type_token

KEY_ALGORITHM = "ECDSA"
ECDSA_CURVE = "P256"
CA_VALIDITY_HOURS = 10 * 365 * 24
CA_EARLY_RENEWAL_HOURS = 365 * 24
LEAF_VALIDITY_HOURS = 5 * 365 * 24
LEAF_EARLY_RENEWAL_HOURS = 90 * 24
CA_USES = ["cert_signing", "crl_signing"]
SERVER_USES = ["digital_signature", "server_auth"]
CLIENT_USES = ["digital_signature", "client_auth"]
PEER_USES = ["digital_signature", "server_auth", "client_auth"]
ORGANIZATION = "rancher-stacks"

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


class Sans(NamedTuple):
    """The subject alternative names of one certificate."""

    dns_names: list[str]
    ip_addresses: list[str]


def sans(*addresses: str) -> Sans:
    """SANs naming every one of ``addresses`` (IP literals as IP SANs, the rest as DNS SANs).

    ``ValueError`` for an address that is neither an IP address nor a DNS name.
    """
    dns: list[str] = []
    ips: list[str] = []
    for address in addresses:
        try:
            ips.append(str(ipaddress.ip_address(address)))
        except ValueError:
            if not _DNS_NAME.match(address):
                raise ValueError(f"address {address!r} is neither an IP address nor a DNS name") from None
            dns.append(address)
    return Sans(list(dict.fromkeys(dns)), list(dict.fromkeys(ips)))


@dataclass
class IssuedCert:
    """One certificate signed by a :class:`PrivateCa`."""

    cert_pem: pulumi.Output[str]
    # Secret.
    private_key_pem: pulumi.Output[str]
    # The same key as PKCS#8 PEM (secret): what Logstash's Beats input requires for ssl_key.
    private_key_pkcs8_pem: Optional[pulumi.Output[str]] = None


class PrivateCa(pulumi.ComponentResource):
    """A CA (ECDSA P-256, 10 years, renewed a year early) that signs certificates on request."""

    ca_certificate: pulumi.Output[str]
    """The CA certificate (PEM). Public: clients verify the servers with it."""

    def __init__(
        self,
        name: str,
        common_name: str,
        opts: Optional[pulumi.ResourceOptions] = None,
        *,
        validity_hours: int = CA_VALIDITY_HOURS,
    ) -> None:
        props = {"commonName": common_name, "keyAlgorithm": f"{KEY_ALGORITHM} {ECDSA_CURVE}"}
        super().__init__(type_token("PrivateCa"), name, props, opts)
        self._name = name
        self._validity_hours = validity_hours
        child = pulumi.ResourceOptions(parent=self)
        self._key = tls.PrivateKey(f"{name}-key", algorithm=KEY_ALGORITHM, ecdsa_curve=ECDSA_CURVE, opts=child)
        cert = tls.SelfSignedCert(
            f"{name}-cert",
            private_key_pem=self._key.private_key_pem,
            is_ca_certificate=True,
            allowed_uses=CA_USES,
            validity_period_hours=validity_hours,
            early_renewal_hours=min(CA_EARLY_RENEWAL_HOURS, validity_hours // 2),
            set_subject_key_id=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=common_name[:64], organization=ORGANIZATION, organizational_unit=name[:64]
            ),
            opts=child,
        )
        self.ca_certificate = cert.cert_pem
        self.register_outputs({**props, "caCertificate": self.ca_certificate})

    def issue(
        self,
        name: str,
        common_name: str,
        parent: pulumi.Resource,
        *,
        addresses: pulumi.Input[Sequence[str]] = (),
        uses: Sequence[str] = PEER_USES,
        validity_hours: int = LEAF_VALIDITY_HOURS,
    ) -> IssuedCert:
        """A key and a certificate for ``common_name`` naming ``addresses``, children of ``parent``.

        Resource names: ``<name>-key``, ``<name>-csr``, ``<name>-cert``.
        """
        if not 0 < validity_hours <= self._validity_hours:
            raise ValueError(
                f"certificate {name!r}: validity must be positive and no longer than the CA's "
                f"({validity_hours} h vs {self._validity_hours} h)"
            )
        child = pulumi.ResourceOptions(parent=parent)
        names = pulumi.Output.from_input(addresses).apply(lambda a: sans(*a))
        key = tls.PrivateKey(f"{name}-key", algorithm=KEY_ALGORITHM, ecdsa_curve=ECDSA_CURVE, opts=child)
        request = tls.CertRequest(
            f"{name}-csr",
            private_key_pem=key.private_key_pem,
            dns_names=names.apply(lambda s: s.dns_names),
            ip_addresses=names.apply(lambda s: s.ip_addresses),
            subject=tls.CertRequestSubjectArgs(
                common_name=common_name[:64], organization=ORGANIZATION, organizational_unit=self._name[:64]
            ),
            opts=child,
        )
        cert = tls.LocallySignedCert(
            f"{name}-cert",
            cert_request_pem=request.cert_request_pem,
            ca_cert_pem=self.ca_certificate,
            ca_private_key_pem=self._key.private_key_pem,
            allowed_uses=list(uses),
            validity_period_hours=validity_hours,
            early_renewal_hours=min(LEAF_EARLY_RENEWAL_HOURS, validity_hours // 2),
            set_subject_key_id=True,
            opts=child,
        )
        return IssuedCert(
            cert.cert_pem, pulumi.Output.secret(key.private_key_pem), pulumi.Output.secret(key.private_key_pem_pkcs8)
        )
