"""Encryption, instance-metadata and Docker-daemon rules.

* EBS volumes and the block devices of EC2 instances must be encrypted. ``encrypted`` must be
  ``true``: AWS's default is unencrypted, so an absent value is a violation, an unknown one is not
  judged. GCP persistent disks and DigitalOcean volumes are always encrypted at rest by the
  provider (there is no switch to turn it off), so they need no rule here.
* EC2 instances must require IMDSv2 (``metadataOptions.httpTokens: required``) unless the metadata
  endpoint is disabled altogether, or IMDSv1 can leak nothing: no instance profile (so no
  credentials in the metadata), a PUT response hop limit of 1, and user data that holds no secret
  (IMDSv1 GETs answer any process on the host, containers included). RancherOS-family OSes read
  their user data with IMDSv1 only, so their instances must meet exactly that.
* No Docker daemon may listen on TCP without TLS: RancherOS cloud-config user data whose
  ``rancher.docker`` section listens on ``tcp://...`` (through ``host`` or ``-H``/``--host`` in
  ``extra_args``) must also set ``tls: true``, and a Docker provider whose ``host`` is
  ``tcp://...`` must configure ``certPath`` or ``caMaterial``.
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Callable, Iterator, Mapping
from typing import Any, Final

import yaml
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
)

from .props import as_bool, as_int, as_str, is_unknown, items_of, lookup

EBS_VOLUME: Final = "aws:ebs/volume:Volume"
EC2_INSTANCE: Final = "aws:ec2/instance:Instance"
GCE_INSTANCE: Final = "gcp:compute/instance:Instance"
DROPLET: Final = "digitalocean:index/droplet:Droplet"
DOCKER_PROVIDER: Final = "pulumi:providers:docker"
MONGO_REPLICA_SET: Final = "rancher-stacks:index:MongoReplicaSet"

_HOST_FLAGS: Final = ("-H", "--host")


def _unencrypted(value: Any) -> bool:
    """True when an ``encrypted`` input is known and not true (absent counts as false)."""
    return not is_unknown(value) and as_bool(value) is not True


def ebs_volume_violations(props: Any) -> list[str]:
    """An EBS volume that is not explicitly encrypted."""
    encrypted = lookup(props, "encrypted")
    if not _unencrypted(encrypted):
        return []
    state = "false" if encrypted is not None else "not set"
    return [f"EBS volume is unencrypted (encrypted is {state}); set encrypted: true."]


def instance_volume_violations(props: Any) -> list[str]:
    """Root and inline EBS block devices of an EC2 instance that are not encrypted."""
    messages = []
    root = lookup(props, "rootBlockDevice")
    if not is_unknown(root) and _unencrypted(lookup(root, "encrypted")):
        messages.append("rootBlockDevice is unencrypted; set rootBlockDevice.encrypted: true.")
    for index, device in enumerate(items_of(lookup(props, "ebsBlockDevices"))):
        if is_unknown(device) or not _unencrypted(lookup(device, "encrypted")):
            continue
        name = as_str(lookup(device, "deviceName")) or "?"
        messages.append(f"ebsBlockDevices[{index}] ({name}) is unencrypted; set encrypted: true.")
    return messages


SECRET_MARKERS: Final = ("PRIVATE KEY", "[secret]")
"""Text that makes user data a secret: a private key, or the offline plan's secret stand-in."""


def _user_data_secret(props: Any) -> bool | None:
    """Whether the instance's user data holds a secret; None when it is not known yet."""
    plain, encoded = lookup(props, "userData"), lookup(props, "userDataBase64")
    if is_unknown(plain) or is_unknown(encoded):
        return None
    texts = [as_str(plain) or "", _decoded(encoded) or as_str(encoded) or ""]
    return any(marker in text for text in texts for marker in SECRET_MARKERS)


def imds_violations(props: Any) -> list[str]:
    """An EC2 instance whose metadata service accepts IMDSv1 requests where they can leak something."""
    options = lookup(props, "metadataOptions")
    endpoint = lookup(options, "httpEndpoint")
    tokens = lookup(options, "httpTokens")
    if is_unknown(options) or is_unknown(endpoint) or is_unknown(tokens):
        return []
    if (as_str(endpoint) or "").strip().lower() == "disabled":
        return []
    if (as_str(tokens) or "").strip().lower() == "required":
        return []
    profile, hops = lookup(props, "iamInstanceProfile"), lookup(options, "httpPutResponseHopLimit")
    secret = _user_data_secret(props)
    if is_unknown(profile) or is_unknown(hops) or secret is None:
        return []
    leaks = []
    if as_str(profile):
        leaks.append(f"an instance profile ({as_str(profile)}) puts credentials in the metadata")
    if as_int(hops) != 1:
        leaks.append(f"the hop limit is {as_int(hops) if as_int(hops) is not None else 'not set'}, not 1")
    if secret:
        leaks.append("the user data holds a secret")
    if not leaks:
        return []
    shown = f"'{as_str(tokens)}'" if as_str(tokens) else "not set (AWS default: optional)"
    return [
        f"metadataOptions.httpTokens is {shown} and {'; '.join(leaks)}: set it to 'required' to enforce "
        "IMDSv2 (IMDSv1 is tolerated only without an instance profile, with hop limit 1 and no secret in "
        "the user data)."
    ]


# --- Docker daemon over TCP ------------------------------------------------------------------


def _decoded(value: Any) -> str | None:
    """Text of a base64 user-data input, or ``None`` when it is not valid base64 text."""
    text = as_str(value)
    if text is None:
        return None
    try:
        return base64.b64decode("".join(text.split()), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def user_data(resource_type: str, props: Any) -> list[tuple[str, str]]:
    """The user-data documents of an instance or droplet, as ``(input name, text)`` pairs."""
    found: list[tuple[str, str | None]] = []
    if resource_type in (EC2_INSTANCE, DROPLET):
        found.append(("userData", as_str(lookup(props, "userData"))))
    if resource_type == EC2_INSTANCE:
        found.append(("userDataBase64", _decoded(lookup(props, "userDataBase64"))))
    if resource_type == GCE_INSTANCE:
        found.append(('metadata["user-data"]', as_str(lookup(props, "metadata", "user-data"))))
    return [(name, text) for name, text in found if text]


def cloud_config(text: str) -> Mapping[str, Any] | None:
    """The parsed document when ``text`` is ``#cloud-config`` YAML, else ``None``."""
    if not text.lstrip().startswith("#cloud-config"):
        return None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return document if isinstance(document, Mapping) else None


def is_tcp_address(address: str) -> bool:
    """True for a Docker listen address on TCP: ``tcp://...`` or a bare ``host:port``."""
    text = address.strip().lower()
    if "://" in text:
        return text.startswith("tcp://")
    if not text or text.startswith(("unix", "fd", "npipe", "ssh", "/")):
        return False
    return ":" in text


def _arguments(value: Any) -> list[str]:
    """``extra_args`` as a list of words (a single string is split like a shell would)."""
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError:
            return value.split()
    if isinstance(value, list):
        return [str(item) for item in value]
    return []


def _host_arguments(words: list[str]) -> Iterator[str]:
    """Addresses given to ``-H``/``--host`` in a daemon argument list (all spellings)."""
    for index, word in enumerate(words):
        if word in _HOST_FLAGS and index + 1 < len(words):
            yield words[index + 1]
        elif word.startswith(("-H=", "--host=")):
            yield word.split("=", 1)[1]
        elif word.startswith("-H") and len(word) > 2 and not word.startswith("--"):
            yield word[2:]


def docker_tcp_listeners(document: Mapping[str, Any]) -> list[str]:
    """TCP addresses the ``rancher.docker`` daemon of a cloud-config listens on."""
    rancher = document.get("rancher")
    docker = rancher.get("docker") if isinstance(rancher, Mapping) else None
    if not isinstance(docker, Mapping):
        return []
    hosts = docker.get("host")
    if isinstance(hosts, str):
        addresses = [hosts]
    else:
        addresses = [str(h) for h in hosts if h is not None] if isinstance(hosts, list) else []
    addresses.extend(_host_arguments(_arguments(docker.get("extra_args"))))
    return [address for address in addresses if is_tcp_address(address)]


def docker_tls_enabled(document: Mapping[str, Any]) -> bool:
    """True when the cloud-config sets ``rancher.docker.tls: true``."""
    rancher = document.get("rancher")
    docker = rancher.get("docker") if isinstance(rancher, Mapping) else None
    return isinstance(docker, Mapping) and as_bool(docker.get("tls")) is True


def user_data_docker_violations(resource_type: str, props: Any) -> list[str]:
    """Cloud-config user data that exposes the Docker API on TCP without TLS."""
    messages = []
    for name, text in user_data(resource_type, props):
        document = cloud_config(text)
        if document is None or docker_tls_enabled(document):
            continue
        listeners = docker_tcp_listeners(document)
        if listeners:
            messages.append(
                f"{name} makes rancher.docker listen on {', '.join(listeners)} without "
                "rancher.docker.tls: true; enable TLS or listen on the unix socket only."
            )
    return messages


def docker_provider_violations(props: Any) -> list[str]:
    """A Docker provider that talks to a ``tcp://`` daemon without client TLS material."""
    host = as_str(lookup(props, "host"))
    if host is None or not host.strip().lower().startswith("tcp://"):
        return []
    cert_path, ca_material = lookup(props, "certPath"), lookup(props, "caMaterial")
    if is_unknown(cert_path) or is_unknown(ca_material):
        return []
    if as_str(cert_path) or as_str(ca_material):
        return []
    return [f"Docker provider host {host} is plain TCP; set certPath or caMaterial to use TLS."]


def database_tls_violations(props: Any) -> list[str]:
    """A MongoDB replica set must refuse connections without TLS (``tlsMode: requireTLS``).

    Its members are reached across clouds over public addresses; firewalls narrow who may
    connect, only TLS keeps the data private on the way. An unknown value cannot be judged.
    """
    mode = lookup(props, "tlsMode")
    if is_unknown(mode):
        return []
    if as_str(mode) != "requireTLS":
        return [f"MongoDB replica set tlsMode is {as_str(mode) or 'unset'!r}; set it to 'requireTLS'."]
    return []


def docker_violations(resource_type: str, props: Any) -> list[str]:
    """Both Docker-over-TCP checks, dispatched on the resource type."""
    if resource_type == DOCKER_PROVIDER:
        return docker_provider_violations(props)
    return user_data_docker_violations(resource_type, props)


# --- policies --------------------------------------------------------------------------------


def _for_types(
    types: frozenset[str], check: Callable[[str, Any], list[str]]
) -> Callable[[ResourceValidationArgs, ReportViolation], None]:
    """Adapt a ``(type, props) -> messages`` function to the SDK callback, for some types only."""

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type in types:
            for message in check(args.resource_type, args.props):
                report_violation(message, None)

    return validate


EBS_VOLUME_ENCRYPTED: Final = ResourceValidationPolicy(
    name="ebs-volume-encrypted",
    description="EBS volumes must be encrypted (encrypted: true).",
    validate=_for_types(frozenset({EBS_VOLUME}), lambda _kind, props: ebs_volume_violations(props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

EC2_BLOCK_DEVICES_ENCRYPTED: Final = ResourceValidationPolicy(
    name="ec2-block-devices-encrypted",
    description="EC2 root and inline EBS block devices must be encrypted.",
    validate=_for_types(frozenset({EC2_INSTANCE}), lambda _kind, props: instance_volume_violations(props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

EC2_IMDSV2_REQUIRED: Final = ResourceValidationPolicy(
    name="ec2-imdsv2-required",
    description="EC2 instances must require IMDSv2 (metadataOptions.httpTokens: required).",
    validate=_for_types(frozenset({EC2_INSTANCE}), lambda _kind, props: imds_violations(props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

DOCKER_TCP_REQUIRES_TLS: Final = ResourceValidationPolicy(
    name="docker-tcp-requires-tls",
    description=(
        "No Docker daemon on TCP without TLS: cloud-config rancher.docker tcp:// listeners need "
        "tls: true, and tcp:// Docker providers need certPath or caMaterial."
    ),
    validate=_for_types(frozenset({EC2_INSTANCE, GCE_INSTANCE, DROPLET, DOCKER_PROVIDER}), docker_violations),
    enforcement_level=EnforcementLevel.MANDATORY,
)

DATABASE_TRAFFIC_ENCRYPTED: Final = ResourceValidationPolicy(
    name="database-traffic-encrypted",
    description="MongoDB replica sets must require TLS on every connection (tlsMode: requireTLS).",
    validate=_for_types(frozenset({MONGO_REPLICA_SET}), lambda _kind, props: database_tls_violations(props)),
    enforcement_level=EnforcementLevel.MANDATORY,
)

POLICIES: Final = (
    EBS_VOLUME_ENCRYPTED,
    EC2_BLOCK_DEVICES_ENCRYPTED,
    EC2_IMDSV2_REQUIRED,
    DOCKER_TCP_REQUIRES_TLS,
    DATABASE_TRAFFIC_ENCRYPTED,
)
