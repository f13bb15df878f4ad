"""Builders for the resource dictionaries ``policies.evaluate`` takes, and a compliant baseline."""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from rancher_stacks import policies

PROJECT = "rancher-stacks"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""The engine's unknown-string sentinel (what a preview shows for a not-yet-known output)."""

SG = "aws:ec2/securityGroup:SecurityGroup"
SG_RULE = "aws:ec2/securityGroupRule:SecurityGroupRule"
INGRESS_RULE = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
GCP_FIREWALL = "gcp:compute/firewall:Firewall"
DO_FIREWALL = "digitalocean:index/firewall:Firewall"
EBS = "aws:ebs/volume:Volume"
EC2 = "aws:ec2/instance:Instance"
GCE = "gcp:compute/instance:Instance"
DROPLET = "digitalocean:index/droplet:Droplet"
DOCKER_PROVIDER = "pulumi:providers:docker"
GLUSTER = "rancher-stacks:index:GlusterCluster"
MONGO = "rancher-stacks:index:MongoReplicaSet"
LOAD_BALANCER = "rancher-stacks:index:LoadBalancer"
DATA_VOLUME = "rancher-stacks:index:DataVolume"
GCP_DISK = "gcp:compute/disk:Disk"
DO_VOLUME = "digitalocean:index/volume:Volume"
DLM_POLICY = "aws:dlm/lifecyclePolicy:LifecyclePolicy"
GCP_RESOURCE_POLICY = "gcp:compute/resourcePolicy:ResourcePolicy"
GCP_DISK_POLICY_ATTACHMENT = "gcp:compute/diskResourcePolicyAttachment:DiskResourcePolicyAttachment"
BACKUP_TAGS = {"rancher-stacks:backup": "rancher-stacks-dev"}


def dlm_policy(name: str = "snapshots", **changes: Any) -> dict[str, Any]:
    """An enabled DLM policy snapshotting volumes tagged ``BACKUP_TAGS`` daily, kept 7 days."""
    props: dict[str, Any] = {
        "state": "ENABLED",
        "policyDetails": {
            "policyType": "EBS_SNAPSHOT_MANAGEMENT",
            "resourceTypes": ["VOLUME"],
            "targetTags": dict(BACKUP_TAGS),
            "schedules": [
                {
                    "name": "daily",
                    "createRule": {"interval": 24, "intervalUnit": "HOURS", "times": "04:00"},
                    "retainRule": {"interval": 7, "intervalUnit": "DAYS"},
                    "copyTags": True,
                }
            ],
        },
    }
    props.update(changes)
    return res(DLM_POLICY, name, props)


def urn(kind: str, name: str, parent_kind: str | None = None) -> str:
    """A URN in the engine's format (``parent$child`` type chain)."""
    chain = f"{parent_kind}${kind}" if parent_kind else kind
    return f"urn:pulumi:dev::{PROJECT}::{chain}::{name}"


def res(kind: str, name: str, props: Mapping[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """One resource dictionary."""
    return {"type": kind, "name": name, "props": dict(props or {}), **extra}


def rule(protocol: str, low: Any, high: Any, *cidrs: str, **extra: Any) -> dict[str, Any]:
    """An inline security-group ingress block; IPv6 CIDRs go to ``ipv6CidrBlocks``.

    Ports are ``Any`` on purpose: tests also pass floats (as the engine does) and unknowns.
    """
    v4 = [c for c in cidrs if ":" not in c]
    v6 = [c for c in cidrs if ":" in c]
    block: dict[str, Any] = {"protocol": protocol, "fromPort": low, "toPort": high, **extra}
    if v4:
        block["cidrBlocks"] = v4
    if v6:
        block["ipv6CidrBlocks"] = v6
    return block


def sg(*ingress: Mapping[str, Any], name: str = "web-sg", egress: Iterable[Mapping[str, Any]] = ()) -> dict:
    """An AWS security group with inline ingress (and optional egress) rules."""
    return res(SG, name, {"ingress": list(ingress), "egress": list(egress)})


def run(resources: Iterable[Mapping[str, Any]], config: Mapping[str, Any] | None = None) -> list[dict]:
    """``policies.evaluate`` on deep copies, so a test can never alter its own inputs."""
    return policies.evaluate(copy.deepcopy(list(resources)), config)


def policy_names(violations: Iterable[Mapping[str, str]], resource: str | None = None) -> set[str]:
    """Names of the policies violated (optionally on one resource only)."""
    return {v["policy"] for v in violations if resource is None or v["resource"] == resource}


def cloud_config(docker: Mapping[str, Any]) -> str:
    """A RancherOS cloud-config whose ``rancher.docker`` section is ``docker``."""
    return "#cloud-config\n" + yaml.safe_dump({"hostname": "node", "rancher": {"docker": dict(docker)}})


def baseline() -> list[dict[str, Any]]:
    """A small stack that every policy accepts: the starting point of the mutation tests."""
    data_volume_urn = urn(DATA_VOLUME, "gluster-data-0")
    return [
        sg(
            rule("tcp", 80, 80, "0.0.0.0/0", "::/0"),
            rule("tcp", 443, 443, "0.0.0.0/0"),
            rule("tcp", 22, 22, "10.0.0.0/16"),
            rule("tcp", 24007, 24008, securityGroups=["sg-gluster"]),
            egress=[rule("-1", 0, 0, "0.0.0.0/0")],
        ),
        res(
            EC2,
            "rancher-0",
            {
                "ami": "ami-0rancheros",
                "rootBlockDevice": {"encrypted": True, "volumeSize": 16},
                "metadataOptions": {"httpTokens": "required", "httpEndpoint": "enabled"},
                "userData": cloud_config({"tls": True, "host": ["unix:///var/run/docker.sock"]}),
            },
        ),
        res(DATA_VOLUME, "gluster-data-0", {}, urn=data_volume_urn, custom=False),
        res(
            EBS,
            "gluster-data-0-ebs",
            {"encrypted": True, "size": 50, "tags": {"Name": "gluster-data-0", **BACKUP_TAGS}},
            urn=urn(EBS, "gluster-data-0-ebs", DATA_VOLUME),
            parent=data_volume_urn,
            protect=True,
        ),
        res(
            GLUSTER,
            "gluster",
            {
                "volumeName": "ranchervol",
                "replicas": 2,
                "servers": ["g0", "g1"],
                "zones": ["us-west-2a", "us-west-2b"],
            },
            custom=False,
        ),
        res(
            MONGO,
            "mongo",
            {
                "replicaSetName": "rs0",
                "members": 3,
                "hosts": ["m0", "m1", "m2"],
                "zones": ["us-west-2a", "us-west-2b", "us-west-2c"],
                "tlsMode": "requireTLS",
            },
            custom=False,
        ),
        res(
            LOAD_BALANCER,
            "lb",
            {"algorithm": "roundrobin", "backends": ["w0", "w1"], "healthCheckPath": "/healthz"},
            custom=False,
        ),
        res(DOCKER_PROVIDER, "docker-remote", {"host": "ssh://rancher@10.0.1.5"}),
        dlm_policy(),
    ]


def replace_props(resources: list[dict[str, Any]], name: str, **props: Any) -> list[dict[str, Any]]:
    """A copy of ``resources`` with some props of the resource ``name`` replaced."""
    changed = copy.deepcopy(resources)
    for entry in changed:
        if entry["name"] == name:
            entry["props"].update(props)
            return changed
    raise KeyError(name)
