"""Seed 4: the logging system (ELK with a Redis broker), and a log shipper on every host.

Enabled by ``workloads.logging``. Its hosts (all on ``workloads.logging.cloud``):

* ``es-master`` (odd, >= 3), ``es-data`` (0 or >= 2) and ``es-coord`` (>= 0): Elasticsearch
  tiers, ``vm.max_map_count=262144`` by cloud-config sysctl (Elasticsearch's Docker production
  prerequisite, https://www.elastic.co/guide/en/elasticsearch/reference/8.19/docker.html#_set_vm_max_map_count_to_at_least_262144),
  data volumes on the masters (their cluster state, and the data when there is no data tier)
  and the data nodes;
* ``log-collector`` (>= 2): Logstash, Beats input on 5044 (mutual TLS) -> Redis;
* ``log-redis`` (1, data volume): the broker's list;
* ``log-indexer`` (>= 2): Logstash, Redis -> Elasticsearch as the ``logstash_indexer`` user;
* ``kibana`` (>= 1): Kibana behind nginx (TLS, basic auth), HTTPS from the admin CIDRs only.

With shipping on (``shipLogs`` unset or true), every host of every group of the stack, whatever
system declared it, runs Filebeat sending to the collectors; the collectors admit 5044 from every
declared group (``Peers.names``). Firewalls: 9300 only among the cluster's groups; 9200 only
from the cluster and, on the nodes that serve clients, from Kibana and the indexers; 6379 only
from the collectors and indexers; 5601 never published.
"""

from __future__ import annotations

from typing import Mapping

import pulumi

from ..config import StackConfig
from ..hosts.groups import GroupDecl, Peers
from ..hosts.hostgroup import HostGroup
from ..net.rules import FromGroup, FromSelf, Rule
from ..workloads.elasticsearch.cluster import ElasticsearchCluster, ElasticsearchClusterArgs, TierHosts
from ..workloads.elasticsearch.render_config import INDEX_PREFIX
from ..workloads.filebeat.shippers import LogShippers, LogShippersArgs, ShippedHost
from ..workloads.kibana.kibana import Kibana, KibanaArgs, kibana_ingress
from ..workloads.logstash.render_pipelines import (
    ES_PASSWORD_ENV,
    REDIS_PASSWORD_ENV,
    render_collector_pipeline,
    render_indexer_pipeline,
)
from ..workloads.logstash.tier import LogstashTier, LogstashTierArgs
from ..workloads.pki import PrivateCa
from ..workloads.redis.broker import RedisBroker, RedisBrokerArgs, broker_ingress
from .registry import Exports, System, enabled_systems

ES_MASTER, ES_DATA, ES_COORD = "es-master", "es-data", "es-coord"
COLLECTOR, REDIS, INDEXER, KIBANA = "log-collector", "log-redis", "log-indexer", "kibana"
ES_SYSCTL = {"vm.max_map_count": "262144"}


def _es_tiers(cfg: StackConfig) -> list[str]:
    logging = cfg.workloads.logging
    assert logging is not None
    es = logging.elasticsearch
    return [ES_MASTER] + ([ES_DATA] if es.data.count else []) + ([ES_COORD] if es.coordinating.count else [])


def _http_tier(cfg: StackConfig) -> str:
    """The tier clients (Kibana, the indexers) talk HTTP to."""
    tiers = _es_tiers(cfg)
    return ES_COORD if ES_COORD in tiers else ES_DATA if ES_DATA in tiers else ES_MASTER


def es_ingress(cfg: StackConfig, tier: str, peers: Peers) -> list[Rule]:
    """Transport among the cluster; HTTP within it and, on the client-facing tier, from Kibana
    and the indexers."""
    cluster = _es_tiers(cfg)
    rules: list[Rule] = []
    for service in ("elasticsearch-transport", "elasticsearch-http"):
        for name in cluster:
            source = FromSelf() if name == tier else FromGroup(peers[name])
            rules.append(Rule(service, source, f"Elasticsearch cluster: {name}"))
    if tier == _http_tier(cfg):
        rules += [
            Rule("elasticsearch-http", FromGroup(p), f"Elasticsearch clients: {p.name}")
            for p in peers.present(KIBANA, INDEXER)
        ]
    return rules


def collector_ingress(cfg: StackConfig, peers: Peers) -> list[Rule]:
    """5044 from every host group of the stack (each runs a shipper), the collectors included."""
    if not cfg.ships_logs():
        return []
    return [
        Rule("beats", FromSelf() if name == COLLECTOR else FromGroup(peers[name]), f"log shippers: {name}")
        for name in peers.names()
    ]


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    logging = cfg.workloads.logging
    assert logging is not None  # enabled() guarantees it
    es = logging.elasticsearch
    cloud, size, volume = logging.cloud, logging.size, logging.data_volume_gb

    def es_decl(name: str, count: int, tier_size: str | None, data_volume: int | None) -> GroupDecl:
        return GroupDecl(
            name,
            cloud,
            count,
            size=tier_size or size,
            data_volume_gb=data_volume,
            sysctl=ES_SYSCTL,
            ingress=lambda peers: es_ingress(cfg, name, peers),
        )

    decls = [es_decl(ES_MASTER, es.masters.count, es.masters.size, volume)]
    if es.data.count:
        decls.append(es_decl(ES_DATA, es.data.count, es.data.size, volume))
    if es.coordinating.count:
        decls.append(es_decl(ES_COORD, es.coordinating.count, es.coordinating.size, None))
    public_port = logging.nginx.public_port
    admin = list(cfg.admin_cidrs)
    decls += [
        GroupDecl(
            COLLECTOR,
            cloud,
            logging.collectors.count,
            size=logging.collectors.size or size,
            ingress=lambda peers: collector_ingress(cfg, peers),
        ),
        GroupDecl(
            REDIS,
            cloud,
            1,
            size=logging.redis.size or size,
            data_volume_gb=volume,
            ingress=lambda peers: broker_ingress(peers.present(COLLECTOR, INDEXER)),
        ),
        GroupDecl(INDEXER, cloud, logging.indexers.count, size=logging.indexers.size or size),
        GroupDecl(
            KIBANA,
            cloud,
            logging.kibana.count,
            size=logging.kibana.size or size,
            ingress=lambda _: kibana_ingress(admin, public_port),
        ),
    ]
    return decls


def _group_systems(cfg: StackConfig) -> dict[str, str]:
    """Which system declared each host group."""
    return {decl.name: system.name for system in enabled_systems(cfg) for decl in system.groups(cfg)}


def _deploy(cfg: StackConfig, groups: Mapping[str, HostGroup]) -> Exports:
    logging = cfg.workloads.logging
    assert logging is not None
    es = logging.elasticsearch
    images = logging.images
    ca = PrivateCa("logging-ca", f"rancher-stacks {pulumi.get_stack()} logging CA")
    cluster = ElasticsearchCluster(
        "es",
        ElasticsearchClusterArgs(
            masters=TierHosts(groups[ES_MASTER].hosts, cfg.heap_mb(es.masters)),
            data=TierHosts(groups[ES_DATA].hosts, cfg.heap_mb(es.data)) if es.data.count else None,
            coordinating=TierHosts(groups[ES_COORD].hosts, cfg.heap_mb(es.coordinating))
            if es.coordinating.count
            else None,
            cluster_name=es.cluster_name,
            image=images.elasticsearch,
            ca=ca,
        ),
    )
    broker = RedisBroker(
        "log-broker",
        RedisBrokerArgs(host=groups[REDIS].hosts[0], image=images.redis, max_memory_mb=logging.redis.max_memory_mb),
    )
    redis_password = pulumi.Output.concat(f"{REDIS_PASSWORD_ENV}=", broker.password)
    collectors = LogstashTier(
        "collectors",
        LogstashTierArgs(
            role="collector",
            hosts=groups[COLLECTOR].hosts,
            pipeline=broker.address.apply(lambda a: render_collector_pipeline(redis_host=a, redis_port=broker.port)),
            ca=ca,
            heap_mb=cfg.heap_mb(logging.collectors),
            secret_envs=[redis_password],
            image=images.logstash,
            publish_beats=True,
        ),
        opts=pulumi.ResourceOptions(depends_on=[broker]),
    )
    LogstashTier(
        "indexers",
        LogstashTierArgs(
            role="indexer",
            hosts=groups[INDEXER].hosts,
            pipeline=pulumi.Output.all(broker.address, cluster.http_endpoints).apply(
                lambda v: render_indexer_pipeline(
                    redis_host=v[0],
                    redis_port=broker.port,
                    es_hosts=v[1],
                    user=cluster.writer_user,
                    index_prefix=INDEX_PREFIX,
                )
            ),
            ca=ca,
            heap_mb=cfg.heap_mb(logging.indexers),
            secret_envs=[redis_password, pulumi.Output.concat(f"{ES_PASSWORD_ENV}=", cluster.writer_password)],
            image=images.logstash,
        ),
        opts=pulumi.ResourceOptions(depends_on=[broker, cluster.setup]),
    )
    tls = logging.nginx.tls
    kibana = Kibana(
        "kibana",
        KibanaArgs(
            hosts=groups[KIBANA].hosts,
            es_hosts=cluster.http_endpoints,
            kibana_system_password=cluster.kibana_system_password,
            ca=ca,
            public_port=logging.nginx.public_port,
            user=logging.nginx.user,
            server_name=tls.server_name,
            certificate_pem=tls.certificate_pem,
            certificate_key=pulumi.Config().require_secret("loggingTlsKey") if tls.source == "config" else None,
            image=images.kibana,
            nginx_image=images.nginx,
            depends_on=[cluster.setup],
        ),
    )
    exports: Exports = {
        "kibanaUrls": kibana.urls,
        "kibanaBasicAuthUser": kibana.basic_auth_user,
        "kibanaBasicAuthPassword": kibana.basic_auth_password,
        "elasticPassword": cluster.elastic_password,
        "loggingCaCertificate": ca.ca_certificate,
    }
    if cfg.ships_logs():
        owners = _group_systems(cfg)
        LogShippers(
            "shippers",
            LogShippersArgs(
                hosts=[
                    ShippedHost(host, owners.get(name, "unknown"), name, group.cloud)
                    for name, group in sorted(groups.items())
                    for host in group.hosts
                ],
                collectors=collectors.beats_endpoints,
                collectors_cloud=logging.cloud,
                ca=ca,
                image=images.filebeat,
            ),
        )
        exports["logShippers"] = sum(len(g.hosts) for g in groups.values())
    return exports


SYSTEM = System(
    name="logging",
    section="workloads.logging",
    enabled=lambda cfg: cfg.workloads.logging is not None,
    groups=_groups,
    deploy=_deploy,
)
