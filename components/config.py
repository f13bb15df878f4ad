"""Typed stack configuration.

The whole ``rancher-stacks:*`` namespace of a stack is parsed into ``StackConfig`` with pydantic.
Unknown keys are rejected; every error names the full key, e.g.
``rancher-stacks:workloads.database.members``, and what was expected. ``load_stack_config``
runs before any resource is registered, so a bad stack file never half-deploys.
"""

from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Mapping, Optional, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from .host_memory import LOCAL_HEAP_MB, MIN_HEAP_MB, host_memory_mb, known_sizes, max_heap_mb
from .hostos import RELEASES, HostOsName, HostOsRelease, glibc_234_reason
from .images import (
    DIND_IMAGE,
    EKS_VERSIONS,
    ELASTICSEARCH_IMAGE,
    FILEBEAT_IMAGE,
    GLUSTER_IMAGE,
    HAPROXY_IMAGE,
    JENKINS_AGENT_IMAGE,
    JENKINS_IMAGE,
    KIBANA_IMAGE,
    LINUX_DASH_IMAGE,
    LOGSTASH_IMAGE,
    MONGO_IMAGE,
    NGINX_IMAGE,
    NODE_IMAGE,
    REDIS_IMAGE,
)
from .net.ports import CATALOG, LINUX_DASH_SERVICE, never_public

NAMESPACE = "rancher-stacks"
CloudName = Literal["aws", "gcp", "digitalocean", "local"]

# DigitalOcean droplet slugs and their disk size in GB. The RancherOS image needs >= 50 GB.
DO_SIZE_DISK_GB: dict[str, int] = {
    "s-1vcpu-1gb": 25,
    "s-1vcpu-2gb": 50,
    "s-2vcpu-2gb": 60,
    "s-2vcpu-4gb": 80,
    "s-4vcpu-8gb": 160,
    "s-8vcpu-16gb": 320,
    "c-2": 25,
    "c-4": 50,
    "g-2vcpu-8gb": 25,
    "m-2vcpu-16gb": 50,
}
RANCHEROS_MIN_DISK_GB = 50


class ConfigError(Exception):
    """A user mistake in the stack config: the message names the key and what was expected."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", alias_generator=to_camel, populate_by_name=True, frozen=True)


# --------------------------------------------------------------------------- clouds


class AwsCloud(_Model):
    region: str = "us-east-1"
    zones: list[str] = Field(default_factory=lambda: ["us-east-1a", "us-east-1b"], min_length=1)
    instance_type: str = "t3.medium"
    # The host OS image for the region. RancherOS: None looks it up by owner and name. BurmillaOS
    # publishes no AMIs: the id of the one you built is required.
    ami_id: Optional[str] = Field(default=None, pattern=r"^ami-[0-9a-f]{8,17}$")
    root_volume_gb: int = Field(default=20, ge=8, le=1024)
    # IMDSv2 only ("required") or also IMDSv1 ("optional"). Unset: what the host OS can boot with
    # (both RancherOS-family OSes read user data and keys with IMDSv1 only; see hostos.py).
    imds_http_tokens: Optional[Literal["required", "optional"]] = None

    @model_validator(mode="after")
    def _zones_in_region(self) -> AwsCloud:
        for i, zone in enumerate(self.zones):
            if not (zone.startswith(self.region) and len(zone) == len(self.region) + 1):
                raise _KeyedError(
                    ("zones", i), f"a zone of region {self.region!r} such as {self.region}a; got {zone!r}"
                )
        return self


class GcpCloud(_Model):
    project: str = Field(pattern=r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    region: str = "us-central1"
    zones: list[str] = Field(default_factory=lambda: ["us-central1-a", "us-central1-b"], min_length=1)
    machine_type: str = "e2-medium"
    # The hosts live in a VPC network the program creates (custom mode, one subnet in the region),
    # never in the project's ``default`` network, whose pre-populated rules admit SSH and RDP
    # from anywhere (default-allow-ssh, default-allow-rdp) where the policy pack cannot see them.
    subnet_cidr: str = "10.40.0.0/20"
    # The host OS's GCE tarball (a GCS https URL; {version} is filled from hostOs.version).
    # RancherOS: its public release bucket by default. BurmillaOS publishes none: required.
    image_url: Optional[str] = None
    boot_disk_gb: int = Field(default=20, ge=10, le=2048)

    @model_validator(mode="after")
    def _zones_in_region(self) -> GcpCloud:
        for i, zone in enumerate(self.zones):
            if not (zone.startswith(self.region + "-") and len(zone) == len(self.region) + 2):
                raise _KeyedError(
                    ("zones", i), f"a zone of region {self.region!r} such as {self.region}-a; got {zone!r}"
                )
        network = ipaddress.ip_network(self.subnet_cidr, strict=False)
        if network.version != 4 or not network.is_private or not 8 <= network.prefixlen <= 29:
            raise _KeyedError(
                ("subnetCidr",), f"a private IPv4 range from /8 to /29 such as 10.40.0.0/20; got {self.subnet_cidr!r}"
            )
        if self.image_url is not None and not self.image_url.startswith("https://storage.googleapis.com/"):
            raise _KeyedError(("imageUrl",), "a GCS URL (https://storage.googleapis.com/bucket/object)")
        return self


class DigitalOceanCloud(_Model):
    region: str = "nyc3"
    size: str = "s-2vcpu-4gb"
    # DigitalOcean refuses to register a public key the account already has. Set the MD5
    # fingerprint of a key already in the account to use it; unset, the program looks up
    # sshPublicKey's own fingerprint and reuses the account's copy when another stack made it.
    ssh_key_fingerprint: Optional[str] = Field(default=None, pattern=r"^([0-9a-f]{2}:){15}[0-9a-f]{2}$")
    # "rancheros" uses DigitalOcean's image slug (RancherOS only); "custom" imports
    # customImageUrl: RancherOS's release image by default; BurmillaOS publishes none (required).
    image: Literal["rancheros", "custom"] = "custom"
    custom_image_url: Optional[str] = Field(default=None, pattern=r"^https://")
    # One reserved IP per droplet, its stable public address across replacements. An account may
    # hold only three reserved IPs unless DigitalOcean raises the limit (DigitalOcean docs,
    # "Reserved IP Limits"): false gives droplets only their own address, which changes whenever
    # a droplet is replaced.
    reserved_ips: bool = True

    @field_validator("size")
    @classmethod
    def _size_has_disk(cls, size: str) -> str:
        disk = DO_SIZE_DISK_GB.get(size)
        if disk is None or disk < RANCHEROS_MIN_DISK_GB:
            ok = ", ".join(s for s, d in DO_SIZE_DISK_GB.items() if d >= RANCHEROS_MIN_DISK_GB)
            raise ValueError(
                f"a droplet size with at least {RANCHEROS_MIN_DISK_GB} GB of disk for RancherOS "
                f"(one of: {ok}); got {size!r}"
            )
        return size


class LocalCloud(_Model):
    docker_host: str = Field(default="unix:///var/run/docker.sock", pattern=r"^(unix|npipe)://")


class Clouds(_Model):
    aws: Optional[AwsCloud] = None
    gcp: Optional[GcpCloud] = None
    digitalocean: Optional[DigitalOceanCloud] = None
    local: Optional[LocalCloud] = None


# --------------------------------------------------------------------------- workloads


class _Workload(_Model):
    cloud: CloudName
    # Instance type / machine type / droplet slug for this workload's hosts (cloud default if unset).
    size: Optional[str] = None


class StorageWorkload(_Workload):
    """GlusterFS: one server per host, one brick per server, volume replicated on all of them."""

    servers: int = Field(default=2, ge=2, le=16)
    volume_name: str = Field(default="ranchervol", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    data_volume_gb: int = Field(default=20, ge=1, le=16384)
    # Pinned: the newest tag of gluster/gluster-containers' CentOS image (GlusterFS 4.0, CentOS 7,
    # glibc 2.17, so both host OSes run it); :latest would change under a running cluster.
    image: str = GLUSTER_IMAGE


class GameWorkload(_Workload):
    """The Asteroids game, served from the Gluster volume."""

    replicas: int = Field(default=1, ge=1, le=8)
    node_image: str = NODE_IMAGE
    public_port: int = Field(default=80, ge=1, le=65535)


class DatabaseWorkload(_Workload):
    """MongoDB replica set."""

    members: int = Field(default=3, ge=3, le=7)
    replica_set_name: str = Field(default="rs0", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    data_volume_gb: int = Field(default=20, ge=1, le=16384)
    image: str = MONGO_IMAGE

    @field_validator("members")
    @classmethod
    def _odd(cls, members: int) -> int:
        if members % 2 == 0:
            raise ValueError(f"an odd number of members (3, 5 or 7) so a majority survives; got {members}")
        return members


class RegistrySettings(_Model):
    # "digitalocean": a DigitalOcean container registry the program creates; "none": build on
    # the target daemon only (the local stack).
    kind: Literal["digitalocean", "none"] = "none"
    name: str = Field(default="rancher-stacks", pattern=r"^[a-z0-9-]{3,63}$")
    tier: Literal["starter", "basic", "professional"] = "basic"
    # A DigitalOcean account holds one registry: true uses the account's registry of this name
    # (created by another stack or by hand) instead of creating it.
    existing: bool = False


class WebAppAutoscaling(_Model):
    """The hit counter's HorizontalPodAutoscaler on Kubernetes (its minimum is ``replicas``)."""

    max_replicas: int = Field(default=6, ge=2, le=100)
    # Average CPU utilization the autoscaler keeps, as a percentage of the pods' CPU request.
    cpu_percent: int = Field(default=70, ge=10, le=95)


class WebAppWorkload(_Workload):
    """The hit-counter web app (apps/hitcounter), N containers on distinct hosts, or on Kubernetes."""

    replicas: int = Field(default=2, le=16)
    port: int = Field(default=5000, ge=1024, le=65535)
    registry: RegistrySettings = RegistrySettings()
    # "hosts": containers on this workload's cloud hosts behind workloads.loadBalancer.
    # "kubernetes": apps/hitcounter/compose.yaml translated onto the cluster of the kubernetes
    # section (its image pushed to ECR), with an autoscaler and a disruption budget.
    target: Literal["hosts", "kubernetes"] = "hosts"
    autoscaling: WebAppAutoscaling = WebAppAutoscaling()

    @property
    def on_cluster(self) -> bool:
        """The app runs on the kubernetes cluster, not on hosts of its own."""
        return self.target == "kubernetes"

    @field_validator("replicas")
    @classmethod
    def _at_least_two(cls, replicas: int) -> int:
        if replicas < 2:
            raise ValueError(f"at least 2 app replicas behind the load balancer; got {replicas}")
        return replicas


class LoadBalancerWorkload(_Workload):
    algorithm: Literal["roundrobin", "leastconn", "source"] = "roundrobin"
    image: str = HAPROXY_IMAGE
    public_port: int = Field(default=80, ge=1, le=65535)


# --------------------------------------------------------------------------- logging


class JvmTier(_Model):
    """Hosts that run a JVM (Elasticsearch, Logstash): how many, how big, and the heap."""

    count: int
    # Instance type / machine type / droplet slug; workloads.logging.size, then the cloud's
    # default, when unset. Must be a size whose memory host_memory.py knows.
    size: Optional[str] = None
    # The JVM heap in MiB: half the host's memory (at most 30 GiB) when unset.
    heap_mb: Optional[int] = Field(default=None, ge=MIN_HEAP_MB)


class MasterTier(JvmTier):
    """Master-eligible Elasticsearch nodes: an odd number, 3 or more, on distinct hosts. With no
    data tier they also hold the data and serve HTTP (the dev layout: every role on 3 nodes)."""

    count: int = 3

    @field_validator("count")
    @classmethod
    def _odd_quorum(cls, count: int) -> int:
        if count < 3 or count % 2 == 0:
            raise ValueError(
                f"an odd number of master-eligible nodes, 3 or more (3, 5, 7), so that a majority "
                f"elects a master after one is lost; got {count}"
            )
        return count


class DataTier(JvmTier):
    """Dedicated data nodes (0: the master-eligible nodes hold the data)."""

    count: int = Field(default=0, ge=0, le=32)

    @field_validator("count")
    @classmethod
    def _two_or_none(cls, count: int) -> int:
        if count == 1:
            raise ValueError("0 (the masters hold the data) or at least 2 data nodes, so every shard has a replica")
        return count


class CoordinatingTier(JvmTier):
    """Coordinating-only ("client") nodes Kibana and the indexers talk to (0: the data nodes,
    or the masters when there are none)."""

    count: int = Field(default=0, ge=0, le=8)


class PipelineTier(JvmTier):
    """Logstash collectors or indexers: at least 2, on distinct hosts."""

    count: int = 2

    @field_validator("count")
    @classmethod
    def _redundant(cls, count: int) -> int:
        if count < 2:
            raise ValueError(f"at least 2 (on distinct hosts), so that losing one host loses no logs; got {count}")
        if count > 16:
            raise ValueError(f"at most 16; got {count}")
        return count


class ElasticsearchSettings(_Model):
    cluster_name: str = Field(default="logs", pattern=r"^[a-z][a-z0-9_-]{0,63}$")
    masters: MasterTier = MasterTier()
    data: DataTier = DataTier()
    coordinating: CoordinatingTier = CoordinatingTier()


class RedisSettings(_Model):
    size: Optional[str] = None
    # The broker's list holds log events while the indexers are behind; Redis refuses new
    # events (the collectors retry) rather than evict queued ones beyond this.
    max_memory_mb: int = Field(default=256, ge=32, le=65536)


class KibanaSettings(_Model):
    count: int = Field(default=1, ge=1, le=4)
    size: Optional[str] = None


class LoggingTls(_Model):
    """The certificate nginx presents: signed by the stack's logging CA (default), or given."""

    source: Literal["ca", "config"] = "ca"
    # PEM of the certificate (chain) when source is "config"; its key is the secret stack key
    # rancher-stacks:loggingTlsKey (pulumi config set --secret).
    certificate_pem: Optional[str] = None
    # The name users reach Kibana by (a SAN of the CA-signed certificate besides the address).
    server_name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")

    @model_validator(mode="after")
    def _pem(self) -> LoggingTls:
        if self.source == "config" and not (self.certificate_pem or "").lstrip().startswith("-----BEGIN CERTIFICATE"):
            raise _KeyedError(("certificatePem",), "a PEM certificate (BEGIN CERTIFICATE) for source 'config'")
        if self.source == "ca" and self.certificate_pem is not None:
            raise _KeyedError(("certificatePem",), "no certificate with source 'ca' (the stack's CA signs one)")
        return self


class NginxSettings(_Model):
    # Where nginx listens for Kibana users (HTTPS, only from adminCidrs).
    public_port: int = Field(default=443, ge=1, le=65535)
    user: str = Field(default="kibana", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    tls: LoggingTls = LoggingTls()


class LoggingImages(_Model):
    elasticsearch: str = ELASTICSEARCH_IMAGE
    logstash: str = LOGSTASH_IMAGE
    kibana: str = KIBANA_IMAGE
    filebeat: str = FILEBEAT_IMAGE
    redis: str = REDIS_IMAGE
    nginx: str = NGINX_IMAGE


class LoggingWorkload(_Workload):
    """The logging system: Elasticsearch tiers, Logstash collectors -> Redis -> indexers,
    Kibana behind nginx, and a Filebeat shipper on every host of the stack."""

    # Per host of the master (when they hold data), data and Redis tiers.
    data_volume_gb: int = Field(default=20, ge=1, le=16384)
    elasticsearch: ElasticsearchSettings = ElasticsearchSettings()
    collectors: PipelineTier = PipelineTier()
    indexers: PipelineTier = PipelineTier()
    redis: RedisSettings = RedisSettings()
    kibana: KibanaSettings = KibanaSettings()
    nginx: NginxSettings = NginxSettings()
    images: LoggingImages = LoggingImages()

    def jvm_tiers(self) -> list[tuple[tuple[str, ...], JvmTier]]:
        """Every JVM tier with its key below workloads.logging."""
        es = self.elasticsearch
        return [
            (("elasticsearch", "masters"), es.masters),
            (("elasticsearch", "data"), es.data),
            (("elasticsearch", "coordinating"), es.coordinating),
            (("collectors",), self.collectors),
            (("indexers",), self.indexers),
        ]


# The controller's plugins, pinned to the versions jenkinsci/bom's ``bom-2.568.x`` (commit d2cd31e0,
# 2026-08-21) tests together on the 2.568.x LTS line (bom-weekly/pom.xml for every one but
# workflow-job, which bom-2.568.x/pom.xml overrides). The BOM only lists released versions; the
# plugins' dependencies are resolved by jenkins-plugin-cli at build time.
CI_DEFAULT_PLUGINS: tuple[str, ...] = (
    "configuration-as-code:2117.vc05a_0b_e6b_f4e",
    "job-dsl:3732.v9a_c49a_61a_313",
    "matrix-auth:3.3",
    "git:5.10.1",
    "workflow-job:1571.1580.v18e46842c125",
    "workflow-cps:4370.v49a_6937566b_6",
    "workflow-durable-task-step:1479.v56e587f413a_7",
    "workflow-basic-steps:1098.v808b_fd7f8cf4",
    "workflow-scm-step:466.va_d69e602552b_",
)
# What the rendered configuration itself uses: JCasC, the global matrix; with the first pipeline
# also Job DSL (``jobs:``), Pipeline jobs (workflow-job, workflow-cps), ``node``/``sh``
# (workflow-durable-task-step) and the ``git`` step.
CI_REQUIRED_PLUGINS: tuple[str, ...] = ("configuration-as-code", "matrix-auth")
CI_PIPELINE_PLUGINS: tuple[str, ...] = ("job-dsl", "workflow-job", "workflow-cps", "workflow-durable-task-step", "git")


_CI_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_PLUGIN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# A release version: digits first, then what Jenkins' CD versions use (3732.v9a_c49a_61a_313).
_PLUGIN_VERSION = re.compile(r"^[0-9][0-9A-Za-z._+-]*$")


def check_label(label: str) -> str:
    """A Jenkins agent label usable in a label expression: one word, no spaces or operators."""
    if not _CI_LABEL.match(label):
        raise ValueError(
            f"a label of one word (letters, digits, '_', '.' or '-'); {label!r} would not be one label "
            "(Jenkins splits labels on spaces)"
        )
    return label


@dataclass(frozen=True)
class Plugin:
    """One Jenkins plugin pinned to a release."""

    name: str
    version: str

    def __post_init__(self) -> None:
        if not _PLUGIN_NAME.match(self.name):
            raise ValueError(f"a plugin name of letters, digits, '.', '_' or '-'; got {self.name!r}")
        if not _PLUGIN_VERSION.match(self.version):
            raise ValueError(f"a release version for plugin {self.name} (e.g. 5.10.1); got {self.version!r}")

    @property
    def spec(self) -> str:
        return f"{self.name}:{self.version}"


def parse_plugin(spec: str) -> Plugin:
    """``name:version`` -> :class:`Plugin`; a missing version, ``latest`` or a URL is refused."""
    name, sep, version = spec.strip().partition(":")
    if not sep or not version:
        raise ValueError(f"a plugin pinned as name:version (e.g. git:5.10.1); {spec!r} has no version")
    return Plugin(name, version)


class CiPipeline(_Model):
    """The first job: builds and tests apps/hitcounter from this project's Git repository."""

    # Where Jenkins clones the project from (the repository holding apps/hitcounter).
    repository: str = Field(pattern=r"^(https://|ssh://|git@)[A-Za-z0-9@:/._~+-]+$")
    branch: str = Field(default="main", pattern=r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$")
    # The agent label the job runs on; one of agentLabels.
    label: str = "docker"


class CiTls(_Model):
    """The front's certificate (PEM, chain first) and key; unset: the stack's own CA signs one."""

    certificate_pem: str = Field(pattern=r"^-----BEGIN CERTIFICATE-----")
    # Keep it a secret in the stack file (pulumi config set --secret).
    private_key_pem: SecretStr


class CiWorkload(_Workload):
    """Jenkins: a controller on a retained home volume, N Docker-in-Docker agents, an HTTPS front."""

    data_volume_gb: int = Field(default=20, ge=1, le=16384)
    # Agent hosts, one inbound agent and one dind daemon each (0: a controller without agents).
    agents: int = Field(default=2, ge=0, le=32)
    agent_size: Optional[str] = None
    agent_labels: list[str] = Field(default_factory=lambda: ["docker", "linux"], min_length=1)
    executors: int = Field(default=2, ge=1, le=16)
    # name:version, every one pinned.
    plugins: list[str] = Field(default_factory=lambda: list(CI_DEFAULT_PLUGINS))
    admin_user: str = Field(default="admin", pattern=r"^[a-z][a-z0-9_-]{0,31}$")
    # The host port the controller's UI publishes (the container's 8080): reached only by the
    # front and the agents, never from the world.
    http_port: int = Field(default=8080, ge=1024, le=65535)
    # The front (HAProxy, TLS): its port, and who reaches it. worldOpen false: adminCidrs only.
    public_port: int = Field(default=443, ge=1, le=65535)
    world_open: bool = False
    front_size: Optional[str] = None
    tls: Optional[CiTls] = None
    pipeline: Optional[CiPipeline] = None
    controller_image: str = JENKINS_IMAGE
    agent_image: str = JENKINS_AGENT_IMAGE
    dind_image: str = DIND_IMAGE

    @field_validator("agent_labels")
    @classmethod
    def _labels(cls, labels: list[str]) -> list[str]:
        for i, label in enumerate(labels):
            try:
                check_label(label)
            except ValueError as exc:
                raise _KeyedError((i,), str(exc)) from None
        return labels

    @field_validator("plugins")
    @classmethod
    def _plugins(cls, plugins: list[str]) -> list[str]:
        names: list[str] = []
        for i, spec in enumerate(plugins):
            try:
                names.append(parse_plugin(spec).name)
            except ValueError as exc:
                raise _KeyedError((i,), str(exc)) from None
        for i, name in enumerate(names):
            if name in names[:i]:
                raise _KeyedError((i,), f"each plugin once; {name} is listed twice")
        return plugins

    @model_validator(mode="after")
    def _consistent(self) -> CiWorkload:
        if never_public(self.public_port) or self.public_port == self.http_port:
            raise _KeyedError(
                ("publicPort",),
                f"a port that may face the internet (443, 8443, ...), not {self.public_port}: the "
                "controller's own port (8080) and other management or data ports stay behind the front",
            )
        names = {spec.partition(":")[0] for spec in self.plugins}
        needed = CI_REQUIRED_PLUGINS + (CI_PIPELINE_PLUGINS if self.pipeline is not None else ())
        missing = [name for name in needed if name not in names]
        if missing:
            raise _KeyedError(
                ("plugins",), f"the plugins the rendered configuration uses; missing {', '.join(missing)}"
            )
        if self.pipeline is not None:
            if self.agents == 0:
                raise _KeyedError(
                    ("agents",),
                    "at least 1 agent: the pipeline runs on agents only (the controller has 0 executors); "
                    "or remove workloads.ci.pipeline",
                )
            if self.pipeline.label not in self.agent_labels:
                raise _KeyedError(
                    ("pipeline", "label"),
                    f"one of agentLabels ({', '.join(self.agent_labels)}); got {self.pipeline.label!r}",
                )
        return self


class Workloads(_Model):
    storage: Optional[StorageWorkload] = None
    game: Optional[GameWorkload] = None
    database: Optional[DatabaseWorkload] = None
    webapp: Optional[WebAppWorkload] = None
    load_balancer: Optional[LoadBalancerWorkload] = None
    logging: Optional[LoggingWorkload] = None
    ci: Optional[CiWorkload] = None

    @model_validator(mode="after")
    def _dependencies(self) -> Workloads:
        if self.game is not None and self.storage is None:
            raise _KeyedError(("game",), "the game needs workloads.storage (its files live on Gluster)")
        if self.webapp is not None and self.database is None:
            raise _KeyedError(("webapp",), "the web app needs workloads.database")
        if self.load_balancer is not None and self.webapp is None:
            raise _KeyedError(("loadBalancer",), "the load balancer needs workloads.webapp")
        web = self.webapp
        if web is not None and web.on_cluster:
            if self.load_balancer is not None:
                raise _KeyedError(
                    ("loadBalancer",),
                    "no load balancer host when workloads.webapp.target is kubernetes (the cluster's Service "
                    "balances the pods)",
                )
            if web.cloud != "aws":
                raise _KeyedError(("webapp", "cloud"), f"aws, where the kubernetes cluster runs; got {web.cloud!r}")
            if web.registry.kind != "none":
                raise _KeyedError(
                    ("webapp", "registry", "kind"),
                    "none when target is kubernetes: the image is pushed to an ECR repository the nodes pull from",
                )
        if web is not None and web.autoscaling.max_replicas < web.replicas:
            raise _KeyedError(
                ("webapp", "autoscaling", "maxReplicas"),
                f"at least workloads.webapp.replicas ({web.replicas}); got {web.autoscaling.max_replicas}",
            )
        return self


# --------------------------------------------------------------------------- kubernetes

# The cluster-autoscaler expanders that work on AWS with what this program renders. Upstream has
# also ``price`` (GCE, GKE and Equinix Metal only), ``priority`` (needs a priorities ConfigMap
# this program does not render) and ``grpc`` (an external server): kubernetes/autoscaler
# cluster-autoscaler/FAQ.md, "What are Expanders?". Several may be chained with commas (CA >= 1.23).
EXPANDERS: tuple[str, ...] = ("least-waste", "random", "most-pods", "least-nodes")
TaintEffect = Literal["NoSchedule", "PreferNoSchedule", "NoExecute"]
_LABEL_KEY = r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$"
_LABEL_VALUE = r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$"


class NodeTaint(_Model):
    key: str = Field(pattern=_LABEL_KEY)
    value: str = Field(default="", pattern=_LABEL_VALUE)
    effect: TaintEffect = "NoSchedule"


class NodeGroup(_Model):
    """One EKS managed node group. ``minSize == maxSize``: a fixed size the autoscaler never changes."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    instance_type: str = Field(default="t3.medium", pattern=r"^[a-z][a-z0-9-]*\.[a-z0-9]+$")
    min_size: int = Field(default=2, ge=0, le=450)
    max_size: int = Field(default=6, ge=1, le=450)
    desired_size: Optional[int] = Field(default=None, ge=0, le=450)
    # A subset of kubernetes.zones (all of them when empty).
    zones: list[str] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    taints: list[NodeTaint] = Field(default_factory=list)
    disk_gb: int = Field(default=30, ge=20, le=16384)

    @model_validator(mode="after")
    def _bounds(self) -> NodeGroup:
        if self.min_size > self.max_size:
            raise _KeyedError(("minSize",), f"at most maxSize ({self.max_size}); got {self.min_size}")
        desired = self.desired
        if not self.min_size <= desired <= self.max_size:
            raise _KeyedError(
                ("desiredSize",), f"a size between minSize {self.min_size} and maxSize {self.max_size}; got {desired}"
            )
        for key, value in self.labels.items():
            if not re.match(_LABEL_KEY, key) or not re.match(_LABEL_VALUE, value):
                raise _KeyedError(("labels", key), "a Kubernetes label key and value (63 characters, [A-Za-z0-9-_.])")
        return self

    @property
    def desired(self) -> int:
        """The desired size: ``desiredSize``, or ``minSize`` when unset."""
        return self.min_size if self.desired_size is None else self.desired_size

    @property
    def autoscaled(self) -> bool:
        """Whether the cluster-autoscaler may change this group (``minSize < maxSize``)."""
        return self.min_size < self.max_size


class ClusterAutoscalerSettings(_Model):
    enabled: bool = True
    expander: str = "least-waste"

    @field_validator("expander")
    @classmethod
    def _known_expanders(cls, expander: str) -> str:
        names = [e.strip() for e in expander.split(",")]
        for e in names:
            if e not in EXPANDERS:
                raise ValueError(
                    f"an expander the cluster-autoscaler offers on AWS ({', '.join(EXPANDERS)}; "
                    f"several joined by commas); got {e!r}"
                )
        if len(set(names)) != len(names):
            raise ValueError(f"each expander at most once; got {expander!r}")
        return ",".join(names)


class EndpointAccess(_Model):
    """Where the cluster's API server answers: inside the VPC, and/or publicly for adminCidrs only."""

    private: bool = True
    public: bool = True


class KubernetesSettings(_Model):
    """An EKS cluster (on the AWS region of ``clouds.aws``) and what runs on it."""

    cloud: Literal["aws"] = "aws"
    version: str = "1.35"
    # The EKS cluster's name; default ``<project>-<stack>``.
    cluster_name: Optional[str] = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$")
    # The cluster's own VPC; zones default to clouds.aws.zones (EKS needs subnets in >= 2 zones).
    vpc_cidr: str = "10.60.0.0/16"
    zones: list[str] = Field(default_factory=list)
    endpoint: EndpointAccess = EndpointAccess()
    log_retention_days: int = Field(default=30, ge=1, le=3653)
    node_groups: list[NodeGroup] = Field(default_factory=lambda: [NodeGroup(name="general")], min_length=1)
    autoscaler: ClusterAutoscalerSettings = ClusterAutoscalerSettings()
    metrics_server: bool = True
    flow_scheduler: bool = False
    # A pinned image reference for the flow scheduler; unset: built from apps/flow-scheduler and
    # pushed to an ECR repository of the stack.
    flow_scheduler_image: Optional[str] = None

    @field_validator("version")
    @classmethod
    def _known_version(cls, version: str) -> str:
        if version not in EKS_VERSIONS:
            raise ValueError(
                f"a Kubernetes minor version EKS supports and this program has a tested table for "
                f"({', '.join(EKS_VERSIONS)}); got {version!r}"
            )
        return version

    @model_validator(mode="after")
    def _checks(self) -> KubernetesSettings:
        network = ipaddress.ip_network(self.vpc_cidr, strict=False)
        if network.version != 4 or not network.is_private or not 16 <= network.prefixlen <= 20:
            raise _KeyedError(
                ("vpcCidr",), f"a private IPv4 range from /16 to /20 such as 10.60.0.0/16; got {self.vpc_cidr!r}"
            )
        if not (self.endpoint.private or self.endpoint.public):
            raise _KeyedError(("endpoint",), "private or public access (or both): the API server needs an endpoint")
        names = [g.name for g in self.node_groups]
        for i, name in enumerate(names):
            if names.index(name) != i:
                raise _KeyedError(
                    ("nodeGroups", i, "name"), f"a name unique among the node groups; {name!r} repeats"
                )
        image = self.flow_scheduler_image
        pinned = re.compile(r"^[a-z0-9][a-z0-9./_:-]*[:@][A-Za-z0-9._:-]+$")
        if image is not None and (not pinned.match(image) or image.endswith(":latest")):
            raise _KeyedError(
                ("flowSchedulerImage",),
                f"a pinned image reference (a tag other than latest, or a digest); got {image!r}",
            )
        return self

    def cluster_zones(self, aws: AwsCloud) -> list[str]:
        """The zones the cluster spans (``zones``, else the AWS cloud's)."""
        return sorted(set(self.zones or aws.zones))


# --------------------------------------------------------------------------- backups

# When a snapshot may start, in UTC. Each cloud's scheduler takes a different set of times, and a
# stack's volumes can move between clouds, so only the times all of them accept are allowed:
# * AWS DLM: every 1, 2, 3, 4, 6, 8, 12 or 24 hours from an "hh:mm" UTC time
#   (https://docs.aws.amazon.com/dlm/latest/APIReference/API_CreateRule.html);
# * GCP snapshot schedules: an hourly cycle starts on the hour ("HH:00"), a daily one only at
#   00:00, 04:00, 08:00, 12:00, 16:00 or 20:00 UTC (terraform-provider-google,
#   services/compute/resource_compute_resource_policy.go, daily_schedule.start_time).
BACKUP_INTERVAL_HOURS: dict[str, int] = {"12h": 12, "24h": 24}
BACKUP_START_TIMES: tuple[str, ...] = ("00:00", "04:00", "08:00", "12:00", "16:00", "20:00")
# AWS DLM keeps a snapshot at most 100 years (36500 days; RetainRule.Interval,
# https://docs.aws.amazon.com/dlm/latest/APIReference/API_RetainRule.html). GCP documents no
# maximum for maxRetentionDays. Ten years is this project's own bound: a longer value is far more
# likely a typo (days for hours) than a retention policy.
MAX_RETAIN_DAYS = 3650


class BackupSchedule(_Model):
    """How often data volumes are snapshotted: every 12 or 24 hours from ``at`` (UTC)."""

    every: Literal["12h", "24h"] = "24h"
    at: str = "04:00"

    @field_validator("at")
    @classmethod
    def _start_every_cloud_accepts(cls, at: str) -> str:
        if at not in BACKUP_START_TIMES:
            raise ValueError(
                f"a UTC start time every cloud's scheduler accepts, one of {', '.join(BACKUP_START_TIMES)} "
                f"(GCP starts daily snapshot schedules only at these hours); got {at!r}"
            )
        return at

    @property
    def interval_hours(self) -> int:
        return BACKUP_INTERVAL_HOURS[self.every]


class Backups(_Model):
    """Scheduled snapshots of every data volume (on by default)."""

    enabled: bool = True
    schedule: BackupSchedule = BackupSchedule()
    retain_days: int = Field(default=7, ge=1, le=MAX_RETAIN_DAYS)


# --------------------------------------------------------------------------- host services


class LinuxDashSettings(_Model):
    """Linux Dash on every VM host (hosts/render_linux_dash.py); on unless switched off.

    It listens on the host's loopback (reach it with ``ssh -L``); ``exposeToAdmins`` makes it
    listen on the host's addresses and opens its port in the firewall to ``adminCidrs`` only.
    """

    # Unset: on wherever its image can run (every BurmillaOS stack); off on RancherOS 1.x, whose
    # runc cannot start threads in it (explicit true there is an error).
    enabled: Optional[bool] = None
    # The server runs as nobody without capabilities, so no port below 1024.
    port: int = Field(default=8081, ge=1024, le=65535)
    expose_to_admins: bool = False
    image: str = LINUX_DASH_IMAGE


class HostServices(_Model):
    """Services every VM host of the stack runs from its cloud-config, beside the workloads."""

    linux_dash: LinuxDashSettings = LinuxDashSettings()


# --------------------------------------------------------------------------- stack


def _check_cidr(cidr: str) -> str:
    try:
        ipaddress.ip_network(cidr, strict=True)
    except ValueError as exc:
        raise ValueError(f"an IPv4 or IPv6 network in CIDR form such as 203.0.113.0/24 ({exc})") from None
    return cidr


class HostOs(_Model):
    """The RancherOS-family OS every VM runs (see hostos.py for what each can do)."""

    name: HostOsName = "burmillaos"
    # The release; the OS's tested default when unset.
    version: Optional[str] = Field(default=None, pattern=r"^v\d+\.\d+\.\d+$")
    # BurmillaOS's rancher.docker.engine (e.g. docker-29.8.2); pinned to a tested one when unset.
    docker_engine: Optional[str] = Field(default=None, pattern=r"^docker-\d+\.\d+\.\d+$")

    @model_validator(mode="after")
    def _engine_only_for_burmilla(self) -> HostOs:
        if self.name == "rancheros" and self.docker_engine is not None:
            raise _KeyedError(("dockerEngine",), "no engine for rancheros (it keeps its built-in Docker 19.03.15)")
        return self

    def release(self) -> HostOsRelease:
        """The release with this config's overrides."""
        base = RELEASES[self.name]
        return HostOsRelease(
            name=base.name,
            title=base.title,
            version=self.version or base.version,
            docker_engine=self.docker_engine or base.docker_engine,
            docker_version=(self.docker_engine or "").removeprefix("docker-") or base.docker_version,
            runs_glibc_234=base.runs_glibc_234,
            reads_imdsv2=base.reads_imdsv2,
        )


SshKey = Annotated[str, Field(pattern=r"^(ssh-(ed25519|rsa)|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/=]+( .*)?$")]


class StackConfig(_Model):
    """Everything under ``rancher-stacks:`` in ``Pulumi.<stack>.yaml``."""

    ssh_public_key: Optional[SshKey] = None
    # Read by the program with require/get_secret so it stays a Pulumi secret; here only to be
    # accepted as a known key (SecretStr never prints its value).
    ssh_private_key: Optional[SecretStr] = None
    # The key of workloads.logging.nginx.tls.certificatePem (a secret, read with get_secret).
    logging_tls_key: Optional[SecretStr] = None
    # Ship every host's container logs to the logging system: unset means "when the stack has
    # one" (workloads.logging); true requires it; false runs no shipper.
    ship_logs: Optional[bool] = None
    admin_cidrs: list[str] = Field(default_factory=list)
    host_os: HostOs = HostOs()
    protect_stateful: bool = True
    backups: Backups = Backups()
    clouds: Clouds = Clouds()
    workloads: Workloads = Workloads()
    host_services: HostServices = HostServices()
    kubernetes: Optional[KubernetesSettings] = None

    @field_validator("ssh_public_key", mode="before")
    @classmethod
    def _empty_key_is_unset(cls, key: object) -> object:
        return None if key == "" else key

    @field_validator("admin_cidrs")
    @classmethod
    def _cidrs(cls, cidrs: list[str]) -> list[str]:
        for i, cidr in enumerate(cidrs):
            try:
                _check_cidr(cidr)
            except ValueError as exc:
                raise _KeyedError((i,), str(exc)) from None
            if ipaddress.ip_network(cidr).prefixlen == 0:
                raise _KeyedError((i,), "an admin network narrower than the whole internet (not /0)")
        return cidrs

    @model_validator(mode="after")
    def _cross_checks(self) -> StackConfig:
        for field_name, workload in self.workload_items():
            if getattr(self.clouds, workload.cloud) is None:
                raise _KeyedError(
                    ("workloads", to_camel(field_name), "cloud"),
                    f"a cloud configured under rancher-stacks:clouds; clouds.{workload.cloud} is not set",
                )
        for field_name, workload in self.workload_items():
            port = getattr(workload, "public_port", None)
            if workload.cloud != "local" and port is not None and never_public(port):
                raise _KeyedError(
                    ("workloads", to_camel(field_name), "publicPort"),
                    f"a port that may face the internet (80, 443, ...), not the management or data "
                    f"port {port} (the firewall keeps those to admin CIDRs and peers)",
                )
        uses_vms = any(w.cloud != "local" for _, w in self.workload_items())
        if uses_vms and self.ssh_public_key is None:
            raise _KeyedError(("sshPublicKey",), "an SSH public key (ssh-ed25519 ...) for the rancher user")
        if uses_vms and not self.admin_cidrs:
            raise _KeyedError(("adminCidrs",), "at least one admin CIDR that may reach SSH on the hosts")
        self._check_host_os()
        self._check_backups()
        self._check_linux_dash()
        self._check_kubernetes()
        self._check_logging()
        return self

    def _check_linux_dash(self) -> None:
        """Linux Dash's port is free on every host, and the host OS can run its image."""
        dash = self.host_services.linux_dash
        vm_workloads = [(name, w) for name, w in self.workload_items() if w.cloud != "local"]
        if not vm_workloads or not self.linux_dash_enabled():
            return
        loc = ("hostServices", "linuxDash")
        taken: dict[int, str] = {}
        for service in CATALOG.values():
            if service.name == LINUX_DASH_SERVICE:
                continue
            for ports in service.ports:
                if ports.protocol == "tcp":
                    for port in range(ports.first, ports.last + 1):
                        taken.setdefault(port, f"the {service.name} service")
        for name, workload in vm_workloads:
            for attribute in ("port", "public_port"):
                used = getattr(workload, attribute, None)
                if isinstance(used, int):
                    taken[used] = f"workloads.{to_camel(name)}.{to_camel(attribute)}"
        if dash.port in taken:
            raise _KeyedError(
                (*loc, "port"), f"a TCP port no workload or catalog service uses; {dash.port} is {taken[dash.port]}'s"
            )
        os = self.host_os.release()
        reason = glibc_234_reason(dash.image)
        if dash.enabled and not os.runs_glibc_234 and reason:
            raise _KeyedError(
                (*loc, "enabled"),
                f"false on {os.title} {os.version}: its runc cannot start threads in Linux Dash's image "
                f"{dash.image} ({reason}); use hostOs burmillaos",
            )

    def _check_kubernetes(self) -> None:
        """The cluster's region, zones and public endpoint fit the rest of the stack."""
        k8s = self.kubernetes
        web = self.workloads.webapp
        if k8s is None:
            if web is not None and web.on_cluster:
                raise _KeyedError(
                    ("workloads", "webapp", "target"),
                    "hosts, or a cluster configured under rancher-stacks:kubernetes to run the app on",
                )
            return
        aws = self.clouds.aws
        if aws is None:
            raise _KeyedError(
                ("kubernetes", "cloud"), "a cloud configured under rancher-stacks:clouds; clouds.aws is not set"
            )
        zones = k8s.cluster_zones(aws)
        for i, zone in enumerate(k8s.zones):
            if not (zone.startswith(aws.region) and len(zone) == len(aws.region) + 1):
                raise _KeyedError(("kubernetes", "zones", i), f"a zone of region {aws.region!r}; got {zone!r}")
        if len(zones) < 2:
            raise _KeyedError(
                ("kubernetes", "zones"),
                f"at least two zones (EKS needs subnets in two Availability Zones); got {zones}",
            )
        for i, group in enumerate(k8s.node_groups):
            for j, zone in enumerate(group.zones):
                if zone not in zones:
                    raise _KeyedError(
                        ("kubernetes", "nodeGroups", i, "zones", j), f"one of the cluster's zones {zones}; got {zone!r}"
                    )
        if k8s.endpoint.public and not self.admin_cidrs:
            raise _KeyedError(
                ("adminCidrs",), "at least one admin CIDR: the cluster's public endpoint answers only these networks"
            )

    def resolved_size(self, cloud: str, size: Optional[str]) -> Optional[str]:
        """``size``, or the cloud's default size (None on the local daemon)."""
        if size is not None:
            return size
        cloud_cfg = getattr(self.clouds, cloud, None)
        for attribute in ("instance_type", "machine_type", "size"):
            value = getattr(cloud_cfg, attribute, None)
            if isinstance(value, str):
                return value
        return None

    def heap_mb(self, tier: JvmTier) -> int:
        """The heap of a JVM tier of workloads.logging (validated by ``_check_logging``)."""
        logging = self.workloads.logging
        assert logging is not None
        if tier.heap_mb is not None:
            return tier.heap_mb
        if logging.cloud == "local":
            return LOCAL_HEAP_MB
        size = self.resolved_size(logging.cloud, tier.size or logging.size)
        memory = host_memory_mb(logging.cloud, size or "")
        assert memory is not None
        return max_heap_mb(memory)

    def ships_logs(self) -> bool:
        """Whether every host gets a log shipper."""
        return self.workloads.logging is not None and self.ship_logs is not False

    def _check_logging(self) -> None:
        """Shipping needs a logging system; every JVM heap fits its host; a given TLS key exists."""
        logging = self.workloads.logging
        if logging is None:
            if self.ship_logs:
                raise _KeyedError(
                    ("shipLogs",),
                    "workloads.logging to ship to: log shippers need a logging system in the stack "
                    "(add workloads.logging, or unset shipLogs)",
                )
            return
        tls = logging.nginx.tls
        if tls.source == "config" and self.logging_tls_key is None:
            raise _KeyedError(
                ("loggingTlsKey",),
                "the private key of workloads.logging.nginx.tls.certificatePem "
                "(pulumi config set --secret rancher-stacks:loggingTlsKey < key.pem)",
            )
        if logging.cloud == "local":
            return
        for path, tier in logging.jvm_tiers():
            if tier.count == 0:
                continue
            loc = ("workloads", "logging", *path)
            size = self.resolved_size(logging.cloud, tier.size or logging.size)
            memory = host_memory_mb(logging.cloud, size or "")
            if memory is None:
                key = loc + ("size",) if tier.size is not None else ("workloads", "logging", "size")
                raise _KeyedError(
                    key,
                    f"a size on {logging.cloud} whose memory rancher-stacks knows, to size the JVM heap "
                    f"(one of: {', '.join(known_sizes(logging.cloud))}); got {size!r}",
                )
            limit = max_heap_mb(memory)
            heap = tier.heap_mb if tier.heap_mb is not None else limit
            if heap > limit:
                raise _KeyedError(
                    loc + ("heapMb",),
                    f"a heap of at most {limit} MiB: half the memory of a {size} host ({memory} MiB), "
                    f"leaving the rest to the OS page cache; got {heap}",
                )
            if heap < 256:
                raise _KeyedError(
                    loc + ("size",) if tier.size is not None else ("workloads", "logging", "size"),
                    f"a host with at least 512 MiB of memory for a 256 MiB heap; {size} has {memory} MiB",
                )

    def _check_backups(self) -> None:
        """Every data volume can get scheduled snapshots on its cloud while backups are on.

        DigitalOcean snapshots block storage volumes only on demand: its automated backups cover a
        droplet's own disk, not attached volumes, and the API has no snapshot schedule for
        volumes (https://docs.digitalocean.com/products/images/backups/details/features/,
        https://docs.digitalocean.com/products/images/snapshots/details/limits/). Rather than
        leave such a volume silently without backups, the stack is refused.
        """
        if not self.backups.enabled:
            return
        for field_name, workload in self.workload_items():
            if workload.cloud == "digitalocean" and getattr(workload, "data_volume_gb", None) is not None:
                raise _KeyedError(
                    ("workloads", to_camel(field_name), "cloud"),
                    "a cloud with scheduled volume snapshots (aws or gcp) for a workload with data volumes: "
                    "DigitalOcean snapshots volumes only on demand and its droplet backups skip attached "
                    "volumes, so rancher-stacks:backups cannot be honoured there (set backups.enabled "
                    "false only if you back these volumes up another way)",
                )

    def _check_host_os(self) -> None:
        """The OS can boot on each cloud it is used on, and run every image it is given."""
        os = self.host_os.release()
        used = {w.cloud for _, w in self.workload_items()}
        need = (
            f"{os.title} publishes no image for this cloud: build one from its release "
            "(README, 'Host OS images') and set"
        )
        if os.name == "burmillaos":
            if "aws" in used and self.clouds.aws is not None and self.clouds.aws.ami_id is None:
                raise _KeyedError(("clouds", "aws", "amiId"), f"an AMI id; {need} its id")
            if "gcp" in used and self.clouds.gcp is not None and self.clouds.gcp.image_url is None:
                raise _KeyedError(("clouds", "gcp", "imageUrl"), f"a GCS URL of a GCE image tarball; {need} its URL")
            do = self.clouds.digitalocean
            if "digitalocean" in used and do is not None:
                if do.image == "rancheros":
                    raise _KeyedError(
                        ("clouds", "digitalocean", "image"), "'custom': the 'rancheros' slug is RancherOS"
                    )
                if do.custom_image_url is None:
                    raise _KeyedError(("clouds", "digitalocean", "customImageUrl"), f"an image URL; {need} its URL")
        aws = self.clouds.aws
        if "aws" in used and aws is not None and aws.imds_http_tokens == "required" and not os.reads_imdsv2:
            raise _KeyedError(
                ("clouds", "aws", "imdsHttpTokens"),
                f"'optional' (or unset): {os.title} reads its user data and SSH keys with IMDSv1 only, so with "
                "tokens required a host boots without its cloud-config",
            )
        if os.runs_glibc_234:
            return
        images = [("storage", "image"), ("game", "node_image"), ("database", "image"), ("load_balancer", "image")]
        logging = self.workloads.logging
        if logging is not None and logging.cloud != "local":
            for attribute in LoggingImages.model_fields:
                reason = glibc_234_reason(getattr(logging.images, attribute))
                if reason:
                    raise _KeyedError(
                        ("workloads", "logging", "images", attribute),
                        f"an image {os.title} {os.version} can run ({reason}); use hostOs burmillaos",
                    )
        for field_name, attribute in images:
            loc = ("workloads", to_camel(field_name), to_camel(attribute))
            workload = getattr(self.workloads, field_name)
            image = getattr(workload, attribute, None) if workload is not None else None
            reason = glibc_234_reason(image) if isinstance(image, str) else None
            if workload is not None and workload.cloud != "local" and reason:
                raise _KeyedError(
                    loc,
                    f"an image {os.title} {os.version} can run: its Docker {os.docker_version} (runc 1.0.0-rc10) "
                    f"answers clone3 with EPERM, so glibc >= 2.34 cannot start threads ({reason}); "
                    "use hostOs burmillaos or an image built on an older glibc",
                )
        webapp = self.workloads.webapp
        if webapp is not None and webapp.cloud != "local":
            raise _KeyedError(
                ("hostOs", "name"),
                f"burmillaos for the web app: its image is built FROM python:3.12.13-slim-bookworm (glibc 2.36), which "
                f"{os.title} {os.version}'s runc cannot start threads in",
            )

    def linux_dash_enabled(self) -> bool:
        """Whether VM hosts run Linux Dash: as set, or (unset) wherever its image can run."""
        dash = self.host_services.linux_dash
        if dash.enabled is not None:
            return dash.enabled
        return self.host_os.release().runs_glibc_234 or glibc_234_reason(dash.image) is None

    def workload_items(self) -> list[tuple[str, _Workload]]:
        """The configured workloads as (field name, settings), in declaration order."""
        return [
            (name, value) for name in Workloads.model_fields if (value := getattr(self.workloads, name)) is not None
        ]


class _KeyedError(ValueError):
    """A validation error raised inside a model that knows the sub-key it is about."""

    def __init__(self, loc: tuple[Union[str, int], ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.message = message


# --------------------------------------------------------------------------- loading


def _key_path(loc: tuple[Union[str, int], ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


def _message(err: Mapping[str, Any]) -> tuple[tuple[Union[str, int], ...], str]:
    loc: tuple[Union[str, int], ...] = tuple(err["loc"])
    ctx = err.get("ctx") or {}
    exc = ctx.get("error")
    if isinstance(exc, _KeyedError):
        return loc + exc.loc, exc.message
    kind = err["type"]
    if kind == "extra_forbidden":
        return loc, "no such key (unknown keys are rejected; check the spelling)"
    if kind == "missing":
        return loc, "a value (this key is required)"
    if kind == "literal_error":
        return loc, f"one of {ctx.get('expected')}; got {err.get('input')!r}"
    msg = str(err["msg"])
    for prefix, replacement in (("Value error, ", ""), ("Input should be ", "a value that is ")):
        if msg.startswith(prefix):
            msg = replacement + msg[len(prefix) :]
    return loc, f"{msg}; got {err.get('input')!r}" if kind != "value_error" else msg


def parse_stack_config(raw: Mapping[str, Any]) -> StackConfig:
    """Parse the ``rancher-stacks:`` keys (without the namespace) of one stack.

    Values may be already-decoded objects or the JSON strings Pulumi hands a program.
    Raises ``ConfigError`` naming the full key on the first problem found.
    """
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        if isinstance(value, str) and value[:1] in ("{", "["):
            try:
                value = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{NAMESPACE}:{key}: expected valid JSON/YAML structure ({exc})") from None
        decoded[key] = value
    try:
        return StackConfig.model_validate(decoded)
    except ValidationError as exc:
        errors = exc.errors()
        loc, message = _message(errors[0])
        more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
        raise ConfigError(f"{NAMESPACE}:{_key_path(loc)}: expected {message}{more}") from None
    except _KeyedError as exc:  # raised outside pydantic's wrapping (defensive)
        raise ConfigError(f"{NAMESPACE}:{_key_path(exc.loc)}: expected {exc.message}") from None


def load_stack_config() -> StackConfig:
    """Read this stack's ``rancher-stacks:*`` config from the Pulumi runtime and parse it."""
    import pulumi.runtime.config as runtime_config

    prefix = NAMESPACE + ":"
    merged = {**runtime_config.get_config_env(), **runtime_config.CONFIG.get()}
    raw = {key[len(prefix) :]: value for key, value in merged.items() if key.startswith(prefix)}
    return parse_stack_config(raw)
