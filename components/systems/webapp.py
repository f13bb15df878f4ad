"""Seed 2: the hit-counter web app behind HAProxy, its counter in a MongoDB replica set.

Enabled by ``workloads.database``; ``workloads.webapp`` adds the app hosts (admitted by the
database) and ``workloads.loadBalancer`` the balancer (admitted by the app hosts). The members
advertise public addresses when the app runs on another cloud.

With ``workloads.webapp.target: kubernetes`` the app runs on the Kubernetes system's cluster
instead (deployed after it: ``after``), translated from its compose file, and the database admits
the cluster's egress address (its NAT gateway), the way it admits app hosts on another cloud.
"""

from __future__ import annotations

from ..config import StackConfig
from ..hosts.groups import GroupDecl, Peers
from ..net.rules import Rule
from ..workloads.haproxy.loadbalancer import Backend, LoadBalancer, LoadBalancerArgs, lb_ingress
from ..workloads.hitcounter.app import APP_USER, WORKERS, HitCounterApp, HitCounterAppArgs, app_ingress
from ..workloads.hitcounter.app import DATABASE as APP_DATABASE
from ..workloads.mongo.render_scripts import AppUser
from ..workloads.mongo.replicaset import MongoReplicaSet, MongoReplicaSetArgs, member_ingress
from . import kubernetes as k8s_system
from .registry import Built, Exports, System

DATABASE, WEBAPP, LB = "database", "webapp", "lb"


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    w = cfg.workloads
    database, webapp, balancer = w.database, w.webapp, w.load_balancer
    assert database is not None  # enabled() guarantees it

    def database_ingress(peers: Peers) -> list[Rule]:
        return member_ingress(peers.present(WEBAPP, k8s_system.EGRESS))

    on_cluster = webapp is not None and webapp.on_cluster

    decls = [
        GroupDecl(
            DATABASE,
            database.cloud,
            database.members,
            size=database.size,
            data_volume_gb=database.data_volume_gb,
            ingress=database_ingress,
        )
    ]
    if webapp is not None and not on_cluster:
        port = webapp.port

        def webapp_ingress(peers: Peers) -> list[Rule]:
            lb = peers.get(LB)
            return app_ingress(lb, port) if lb is not None else []

        decls.append(GroupDecl(WEBAPP, webapp.cloud, webapp.replicas, size=webapp.size, ingress=webapp_ingress))
    if balancer is not None:
        public_port = balancer.public_port
        decls.append(GroupDecl(LB, balancer.cloud, 1, size=balancer.size, ingress=lambda _: lb_ingress(public_port)))
    return decls


def _deploy(cfg: StackConfig, groups: Built) -> Exports:
    w = cfg.workloads
    database, webapp, balancer = w.database, w.webapp, w.load_balancer
    assert database is not None
    on_cluster = webapp is not None and webapp.on_cluster
    replica_set = MongoReplicaSet(
        DATABASE,
        MongoReplicaSetArgs(
            hosts=groups[DATABASE].hosts,
            replica_set_name=database.replica_set_name,
            image=database.image,
            # The cluster lives in its own VPC: its pods reach the members' public addresses.
            advertise="private" if webapp is None or (webapp.cloud == database.cloud and not on_cluster) else "public",
            # The hit counter connects as its own user, with readWrite on its database only.
            app_user=AppUser(APP_USER, APP_DATABASE) if webapp is not None else None,
        ),
    )
    exports: Exports = {"mongoConnectionString": replica_set.connection_string}
    if webapp is None:
        return exports
    if on_cluster:
        # Imported here: the AWS, Kubernetes and Docker SDKs load only for a stack with a cluster.
        from ..workloads.hitcounter.cluster import HitCounterOnCluster, HitCounterOnClusterArgs

        on = HitCounterOnCluster(
            WEBAPP,
            HitCounterOnClusterArgs(
                cluster=groups.shared[k8s_system.CLUSTER],
                mongo_url=replica_set.connection_string,
                mongo_ca_certificate=replica_set.ca_certificate,
                replicas=webapp.replicas,
                max_replicas=webapp.autoscaling.max_replicas,
                cpu_percent=webapp.autoscaling.cpu_percent,
            ),
        )
        exports["webService"] = on.service
        return exports
    app = HitCounterApp(
        WEBAPP,
        HitCounterAppArgs(
            hosts=groups[WEBAPP].hosts,
            mongo_url=replica_set.connection_string,
            mongo_ca_certificate=replica_set.ca_certificate,
            port=webapp.port,
            registry=webapp.registry,
        ),
    )
    if balancer is not None:
        lb = LoadBalancer(
            LB,
            LoadBalancerArgs(
                host=groups[LB].hosts[0],
                backends=[Backend(name, address, port) for name, address, port in app.backends],
                algorithm=balancer.algorithm,
                image=balancer.image,
                public_port=balancer.public_port,
                server_maxconn=WORKERS,
            ),
        )
        exports["webUrl"] = lb.url
    return exports


SYSTEM = System(
    name="webapp",
    section="workloads.database",
    enabled=lambda cfg: cfg.workloads.database is not None,
    groups=_groups,
    deploy=_deploy,
    after=("kubernetes",),
)
