"""``ElasticsearchCluster``: master-eligible, data and coordinating tiers, TLS everywhere, users set.

One container per host (``docker.elastic.co/elasticsearch/elasticsearch``), configured by an
uploaded ``elasticsearch.yml`` (``render_config``), its heap from the host size
(``ES_JAVA_OPTS``), memory locked (``bootstrap.memory_lock`` + memlock ulimit unlimited, as the
Docker production notes require:
https://www.elastic.co/guide/en/elasticsearch/reference/8.19/docker.html#docker-prod-prerequisites),
nofile 65535, and its data directory on the host's retained data volume
(``DockerHost.data_binds``). ``vm.max_map_count=262144`` is set on the hosts by cloud-config
(the system's ``GroupDecl.sysctl``), not here.

**TLS.** One :class:`PrivateCa` child (the logging CA, shared with Logstash, Filebeat and Kibana)
signs a certificate per node naming its published address; transport TLS verifies peers in full
and requires client certificates, HTTP TLS serves the same certificate.

**Passwords.** ``elastic`` is a ``RandomPassword``, handed to every node as the image's
``ELASTIC_PASSWORD`` (the bootstrap password, in the container's own secret env); the setup
command (``render_setup_script``) on the first HTTP node waits for the cluster and PUTs the
indexers' role and user and the ``kibana_system`` password, read from its stdin (secret input),
so re-running it is harmless and a new password is set again.

**Bootstrap.** ``cluster.initial_master_nodes`` is added by the entrypoint only until the marker
command (one per master, after the setup) has recorded that the cluster formed; see
``render_config``.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field
from typing import Any, Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, check_distinct_hosts, host_address, published_ports
from ...images import ELASTICSEARCH_IMAGE
from ...naming import type_token
from ..pki import PrivateCa
from .render_config import (
    CA_ENV,
    CERT_ENV,
    CONFIG_PATH,
    DATA_PATH,
    ENTRYPOINT_PATH,
    HOME,
    HTTP_PORT,
    IMAGE_ENTRYPOINT,
    KEY_ENV,
    TRANSPORT_PORT,
    NodeSettings,
    Tier,
    node_roles,
    render_elasticsearch_yml,
    render_entrypoint,
    render_mark_formed,
    render_max_map_count_check,
    render_setup_script,
)

WRITER_USER = "logstash_indexer"
WRITER_ROLE = "logstash_writer"


@dataclass
class TierHosts:
    """The hosts of one tier and the heap its nodes get."""

    hosts: list[DockerHost]
    heap_mb: int


@dataclass
class ElasticsearchClusterArgs:
    masters: TierHosts
    data: Optional[TierHosts] = None
    coordinating: Optional[TierHosts] = None
    cluster_name: str = "logs"
    image: str = ELASTICSEARCH_IMAGE
    ca: Optional[PrivateCa] = None
    # Extra settings for every node's elasticsearch.yml.
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class _Node:
    tier: Tier
    host: DockerHost
    heap_mb: int
    http_port: int
    transport_port: int


def _nodes(args: ElasticsearchClusterArgs) -> list[_Node]:
    tiers: list[tuple[Tier, Optional[TierHosts]]] = [
        ("master", args.masters),
        ("data", args.data),
        ("coordinating", args.coordinating),
    ]
    hosts = [h for _, t in tiers if t is not None for h in t.hosts]
    check_distinct_hosts(hosts, "Elasticsearch nodes")
    http = published_ports(hosts, HTTP_PORT)
    transport = published_ports(hosts, TRANSPORT_PORT)
    nodes, i = [], 0
    for tier, t in tiers:
        for host in t.hosts if t is not None else []:
            nodes.append(_Node(tier, host, t.heap_mb if t else 0, http[i], transport[i]))
            i += 1
    return nodes


class ElasticsearchCluster(pulumi.ComponentResource):
    """An Elasticsearch cluster in tiers, one node per host."""

    ca: PrivateCa
    http_endpoints: pulumi.Output[list[str]]
    """``https://address:port`` of the nodes clients use (coordinating, else data, else masters)."""
    elastic_password: pulumi.Output[str]
    kibana_system_password: pulumi.Output[str]
    writer_password: pulumi.Output[str]
    writer_user: str = WRITER_USER
    setup: pulumi.Resource

    def __init__(
        self, name: str, args: ElasticsearchClusterArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        masters = args.masters.hosts
        if len(masters) < 3 or len(masters) % 2 == 0:
            raise ValueError(f"an odd number of master-eligible nodes, at least 3; got {len(masters)}")
        nodes = _nodes(args)
        masters_hold_data = args.data is None or not args.data.hosts
        props = {
            "clusterName": args.cluster_name,
            "masters": [h.host_name for h in masters],
            "masterZones": [str(h.domain) for h in masters],
            "dataNodes": [h.host_name for h in (args.data.hosts if args.data else [])],
            "coordinatingNodes": [h.host_name for h in (args.coordinating.hosts if args.coordinating else [])],
            "roles": {n.host.host_name: node_roles(n.tier, masters_hold_data) for n in nodes},
            "httpTls": True,
            "transportTls": True,
            "monitoring": "kibana-stack-monitoring",
        }
        super().__init__(type_token("ElasticsearchCluster"), name, props, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.ca = args.ca or PrivateCa(f"{name}-ca", f"{args.cluster_name} logging CA", opts=child)

        def password(key: str) -> pulumi.Output[str]:
            # Letters and digits: safe in JSON bodies, YAML and URLs without escaping.
            return pulumi.Output.secret(
                random.RandomPassword(f"{name}-{key}", length=32, special=False, opts=child).result
            )

        self.elastic_password = password("elastic-password")
        self.kibana_system_password = password("kibana-system-password")
        self.writer_password = password("writer-password")

        # Every node of the cluster lives on one cloud: private addresses (the hosts' own).
        addresses = {n.host.host_name: host_address(n.host, "private") for n in nodes}
        master_nodes = [n for n in nodes if n.tier == "master"]
        seeds = pulumi.Output.all(
            *[pulumi.Output.concat(addresses[n.host.host_name], f":{n.transport_port}") for n in master_nodes]
        )
        entrypoint = render_entrypoint([n.host.host_name for n in master_nodes])
        containers: dict[str, docker.Container] = {}
        pulled: dict[str, docker.RemoteImage] = {}
        local_checks: list[pulumi.Resource] = []
        for node in nodes:
            host = node.host
            cname = f"{name}-{host.host_name}"
            cert = self.ca.issue(
                f"{cname}-tls",
                host.host_name,
                self,
                addresses=addresses[host.host_name].apply(lambda a: [a, "localhost", "127.0.0.1"]),
            )
            daemon = "local" if host.is_local else host.host_name
            if daemon not in pulled:
                pulled[daemon] = docker.RemoteImage(
                    f"{name}-{host.host_name}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self)
                )
                if host.is_local:
                    # The VMs get the sysctl from cloud-config; the local daemon's kernel is the
                    # user's: refuse to start nodes its bootstrap checks would stop.
                    local_checks.append(
                        host.run(
                            f"{name}-max-map-count",
                            render_max_map_count_check(args.image),
                            self,
                            depends_on=[pulled[daemon]],
                        )
                    )
            roles = node_roles(node.tier, masters_hold_data)

            def elasticsearch_yml(
                v: list[Any], host: DockerHost = host, node: _Node = node, roles: list[str] = roles
            ) -> str:
                return render_elasticsearch_yml(
                    NodeSettings(
                        cluster_name=args.cluster_name,
                        node_name=host.host_name,
                        roles=roles,
                        publish_host=v[0],
                        seed_hosts=list(v[1]),
                        http_port=node.http_port,
                        transport_port=node.transport_port,
                        extra=dict(args.extra),
                    )
                )

            node_settings = pulumi.Output.all(addresses[host.host_name], seeds).apply(elasticsearch_yml)
            holds_state = node.tier != "coordinating"
            data = (
                host.data_binds(
                    f"{cname}-dirs",
                    self,
                    [(posixpath.join(host.data_dir, "elasticsearch", cname), DATA_PATH)],
                )
                if holds_state
                else None
            )
            containers[host.host_name] = docker.Container(
                cname,
                name=cname,
                image=pulled[daemon].image_id,
                # The wrapper starts as root to write the keys and own the data directory, then
                # drops to uid 1000 (render_config.render_entrypoint).
                user="0:0",
                entrypoints=[ENTRYPOINT_PATH],
                command=IMAGE_ENTRYPOINT,
                envs=[
                    f"ES_JAVA_OPTS=-Xms{node.heap_mb}m -Xmx{node.heap_mb}m",
                    # The wrapper starts as root (HOME=/root); the node runs as uid 1000.
                    f"HOME={HOME}",
                    pulumi.Output.concat("ELASTIC_PASSWORD=", self.elastic_password),
                    pulumi.Output.concat(f"{CA_ENV}=", self.ca.ca_certificate),
                    pulumi.Output.concat(f"{CERT_ENV}=", cert.cert_pem),
                    pulumi.Output.concat(f"{KEY_ENV}=", cert.private_key_pem),
                ],
                uploads=[
                    docker.ContainerUploadArgs(file=ENTRYPOINT_PATH, content=entrypoint, permissions="0755"),
                    docker.ContainerUploadArgs(file=CONFIG_PATH, content=node_settings, permissions="0444"),
                ],
                ulimits=[
                    docker.ContainerUlimitArgs(name="memlock", soft=-1, hard=-1),
                    docker.ContainerUlimitArgs(name="nofile", soft=65535, hard=65535),
                ],
                volumes=(data.volumes or None) if data else None,
                mounts=(data.mounts or None) if data else None,
                ports=[
                    docker.ContainerPortArgs(internal=HTTP_PORT, external=node.http_port),
                    docker.ContainerPortArgs(internal=TRANSPORT_PORT, external=node.transport_port),
                ],
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                # A node hands its shards over and leaves the cluster cleanly given time.
                destroy_grace_seconds=120,
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self, depends_on=[*(data.ready if data else []), *local_checks]),
                    pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
                ),
            )

        http_nodes = (
            [n for n in nodes if n.tier == "coordinating"] or [n for n in nodes if n.tier == "data"] or master_nodes
        )
        self.http_endpoints = pulumi.Output.all(
            *[pulumi.Output.concat("https://", addresses[n.host.host_name], f":{n.http_port}") for n in http_nodes]
        )
        first = http_nodes[0].host
        self.setup = first.run(
            f"{name}-security-setup",
            render_setup_script(
                container=f"{name}-{first.host_name}", writer_user=WRITER_USER, writer_role_name=WRITER_ROLE
            ),
            self,
            stdin=pulumi.Output.all(self.kibana_system_password, self.writer_password).apply(
                lambda p: f"{p[0]}\n{p[1]}\n"
            ),
            triggers=[*[v for n in nodes for v in n.host.data_identity]],
            depends_on=list(containers.values()),
        )
        for node in master_nodes:
            node.host.run(
                f"{name}-{node.host.host_name}-formed",
                render_mark_formed(f"{name}-{node.host.host_name}"),
                self,
                # Again when the node gets a new (empty) data volume.
                triggers=[*node.host.data_identity],
                depends_on=[self.setup, containers[node.host.host_name]],
            )
        self.register_outputs({**props, "httpEndpoints": self.http_endpoints, "caCertificate": self.ca.ca_certificate})


def tier_hosts(hosts: Sequence[DockerHost], heap_mb: int) -> TierHosts:
    return TierHosts(list(hosts), heap_mb)
