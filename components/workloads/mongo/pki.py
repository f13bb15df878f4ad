"""``ReplicaSetPki``: the private certificate authority of one MongoDB replica set.

One ECDSA P-256 CA per replica set (``tls.PrivateKey`` + ``tls.SelfSignedCert``, a CA
certificate allowed to sign certificates and CRLs only), and per member an ECDSA P-256 key, a
certificate request and a certificate signed by that CA (``tls.LocallySignedCert``).

**Names on a member certificate.** Clients and the other members verify the certificate against
the address they dialled, which is the member's advertised address (``host:port`` in the replica
set configuration and in the connection string). So each certificate names:

* the advertised address: an IP SAN when it is an IP literal (the cloud stacks advertise public
  or private IPs), a DNS SAN otherwise (the local stack advertises ``host.docker.internal``);
* ``localhost`` and ``127.0.0.1``, for ``mongosh`` inside the member's own container.

Addresses are Outputs; :func:`member_sans` splits one into its DNS and IP SAN lists inside an
``apply`` that only computes values (no resource is created in an apply).

**Uses.** Member certificates allow ``digital_signature`` (what an ECDSA key does in a TLS
handshake), ``server_auth`` and ``client_auth``: a member presents the same certificate when it
dials another member. Internal authentication stays the replica set's keyfile; the certificates
only encrypt and authenticate the transport.

**Validity and renewal.** The CA is valid for 10 years, member certificates for 5. Both set
``early_renewal_hours`` (the CA one year, members 90 days): a ``pulumi up`` inside that window
replaces the certificate, and a new CA replaces every member certificate (they depend on it).

**Secrets.** Every private key is a provider secret output (``privateKeyPem`` and friends); the
CA key only travels as the secret ``ca_private_key_pem`` of the member certificates, and the
member ``certificate_key_files`` are wrapped secret again. The certificates are public.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import NamedTuple, Optional

import pulumi
import pulumi_tls as tls

from ...naming import type_token

KEY_ALGORITHM = "ECDSA"
ECDSA_CURVE = "P256"
CA_VALIDITY_HOURS = 10 * 365 * 24
CA_EARLY_RENEWAL_HOURS = 365 * 24
MEMBER_VALIDITY_HOURS = 5 * 365 * 24
MEMBER_EARLY_RENEWAL_HOURS = 90 * 24
CA_USES = ["cert_signing", "crl_signing"]
MEMBER_USES = ["digital_signature", "server_auth", "client_auth"]
# What the in-container mongosh dials.
LOOPBACK_DNS_NAMES = ["localhost"]
LOOPBACK_IP_ADDRESSES = ["127.0.0.1"]
ORGANIZATION = "rancher-stacks"

_DNS_NAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_MEMBER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class MemberSans(NamedTuple):
    """The subject alternative names of one member certificate."""

    dns_names: list[str]
    ip_addresses: list[str]


def member_sans(address: str) -> MemberSans:
    """The SANs for a member advertised at ``address`` (an IP literal or a DNS name).

    An IP literal becomes an IP SAN, anything else a DNS SAN; both lists add the loopback names
    the in-container ``mongosh`` uses. ``ValueError`` for an address that is neither.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        if not _DNS_NAME.match(address):
            raise ValueError(
                f"member address {address!r} is neither an IP address nor a DNS name"
            ) from None
        return MemberSans(_unique([address, *LOOPBACK_DNS_NAMES]), list(LOOPBACK_IP_ADDRESSES))
    return MemberSans(list(LOOPBACK_DNS_NAMES), _unique([str(ip), *LOOPBACK_IP_ADDRESSES]))


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


@dataclass
class PkiMember:
    """One replica-set member as the PKI sees it."""

    # Distinguishes the member's resources (``<pki>-<name>-key`` ...), e.g. its host's name.
    name: str
    # The address members and clients dial: an IP literal or a DNS name.
    address: pulumi.Input[str]


@dataclass
class ReplicaSetPkiArgs:
    """Arguments of ``ReplicaSetPki``."""

    replica_set_name: str
    members: list[PkiMember]
    ca_validity_hours: int = CA_VALIDITY_HOURS
    member_validity_hours: int = MEMBER_VALIDITY_HOURS


class ReplicaSetPki(pulumi.ComponentResource):
    """A replica set's CA and one server-and-client certificate per member."""

    ca_certificate: pulumi.Output[str]
    """The CA certificate (PEM). Public: clients verify the members with it."""
    member_certificates: list[pulumi.Output[str]]
    """Each member's certificate (PEM), in the order of ``members``."""
    certificate_key_files: list[pulumi.Output[str]]
    """Each member's certificate followed by its private key (PEM, secret): the content of
    mongod's ``--tlsCertificateKeyFile``."""

    def __init__(
        self, name: str, args: ReplicaSetPkiArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        members = list(args.members)
        if not members:
            raise ValueError("a replica set PKI needs at least one member")
        names = [m.name for m in members]
        for member_name in names:
            if not _MEMBER_NAME.match(member_name):
                raise ValueError(f"member name {member_name!r} must match {_MEMBER_NAME.pattern}")
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"member names repeat: {', '.join(repeated)}")
        if not 0 < args.member_validity_hours <= args.ca_validity_hours:
            raise ValueError(
                "member certificates must be valid for a positive time no longer than the CA "
                f"({args.member_validity_hours} h vs {args.ca_validity_hours} h)"
            )
        props = {
            "replicaSetName": args.replica_set_name,
            "members": names,
            "keyAlgorithm": f"{KEY_ALGORITHM} {ECDSA_CURVE}",
            "caValidityHours": args.ca_validity_hours,
            "memberValidityHours": args.member_validity_hours,
        }
        super().__init__(type_token("ReplicaSetPki"), name, props, opts)
        child = pulumi.ResourceOptions(parent=self)

        ca_key = tls.PrivateKey(
            f"{name}-ca-key", algorithm=KEY_ALGORITHM, ecdsa_curve=ECDSA_CURVE, opts=child
        )
        ca = tls.SelfSignedCert(
            f"{name}-ca",
            private_key_pem=ca_key.private_key_pem,
            is_ca_certificate=True,
            allowed_uses=CA_USES,
            validity_period_hours=args.ca_validity_hours,
            early_renewal_hours=min(CA_EARLY_RENEWAL_HOURS, args.ca_validity_hours // 2),
            set_subject_key_id=True,
            subject=tls.SelfSignedCertSubjectArgs(
                common_name=f"MongoDB replica set {args.replica_set_name} CA"[:64],
                organization=ORGANIZATION,
                organizational_unit=name[:64],
            ),
            opts=child,
        )
        self.ca_certificate = ca.cert_pem

        self.member_certificates = []
        self.certificate_key_files = []
        for member in members:
            sans = pulumi.Output.from_input(member.address).apply(member_sans)
            key = tls.PrivateKey(
                f"{name}-{member.name}-key",
                algorithm=KEY_ALGORITHM,
                ecdsa_curve=ECDSA_CURVE,
                opts=child,
            )
            request = tls.CertRequest(
                f"{name}-{member.name}-csr",
                private_key_pem=key.private_key_pem,
                dns_names=sans.apply(lambda s: s.dns_names),
                ip_addresses=sans.apply(lambda s: s.ip_addresses),
                subject=tls.CertRequestSubjectArgs(
                    common_name=member.name[:64],
                    organization=ORGANIZATION,
                    organizational_unit=name[:64],
                ),
                opts=child,
            )
            cert = tls.LocallySignedCert(
                f"{name}-{member.name}-cert",
                cert_request_pem=request.cert_request_pem,
                ca_cert_pem=ca.cert_pem,
                ca_private_key_pem=ca_key.private_key_pem,
                allowed_uses=MEMBER_USES,
                validity_period_hours=args.member_validity_hours,
                early_renewal_hours=min(
                    MEMBER_EARLY_RENEWAL_HOURS, args.member_validity_hours // 2
                ),
                set_subject_key_id=True,
                opts=child,
            )
            self.member_certificates.append(cert.cert_pem)
            self.certificate_key_files.append(
                pulumi.Output.secret(pulumi.Output.concat(cert.cert_pem, key.private_key_pem))
            )

        self.register_outputs(
            {
                **props,
                "caCertificate": self.ca_certificate,
                "memberCertificates": self.member_certificates,
            }
        )
