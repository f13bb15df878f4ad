"""rancher-stacks: read the stack config, build the host groups and workloads, export outputs.

Host groups are created in dependency order so that a firewall only ever admits groups that
already exist: the load balancer before the web app, the web app before the database, the game
before the Gluster servers.
"""

from pathlib import Path

import pulumi

from components import asteroids, gluster, hitcounter, loadbalancer, mongo
from components.asteroids import AsteroidsGame, AsteroidsGameArgs
from components.clouds import make_cloud_bases
from components.config import load_stack_config
from components.dockerhost import SshSettings
from components.gluster import GlusterCluster, GlusterClusterArgs
from components.hitcounter import HitCounterApp, HitCounterAppArgs
from components.hostgroup import HostGroup, HostGroupArgs
from components.loadbalancer import Backend, LoadBalancer, LoadBalancerArgs
from components.mongo import MongoReplicaSet, MongoReplicaSetArgs

cfg = load_stack_config()
ssh = SshSettings(private_key=pulumi.Config().get_secret("sshPrivateKey"))
bases = make_cloud_bases(cfg, ssh)
w = cfg.workloads


def host_group(name, workload, count, *, data_volume_gb=None, ingress=(), sysctl=None):
    return HostGroup(
        name,
        HostGroupArgs(
            base=bases[workload.cloud],
            count=count,
            size=workload.size,
            data_volume_gb=data_volume_gb,
            ingress=list(ingress),
            sysctl=sysctl or {},
            admin_cidrs=cfg.admin_cidrs,
            protect_stateful=cfg.protect_stateful,
        ),
    )


# Seed 1: GlusterFS storage and the Asteroids game served from it.
if w.storage is not None:
    game_hosts = None
    if w.game is not None:
        game_hosts = host_group("game", w.game, w.game.replicas, ingress=asteroids.game_ingress(w.game.public_port))
    storage_hosts = host_group(
        "storage",
        w.storage,
        w.storage.servers,
        data_volume_gb=w.storage.data_volume_gb,
        ingress=gluster.server_ingress([game_hosts.peer] if game_hosts else []),
    )
    cluster = GlusterCluster(
        "storage",
        GlusterClusterArgs(hosts=storage_hosts.hosts, volume_name=w.storage.volume_name, image=w.storage.image),
    )
    pulumi.export("glusterVolume", cluster.volume_name)
    pulumi.export("glusterServers", cluster.server_addresses)
    if w.game is not None and game_hosts is not None:
        game = AsteroidsGame(
            "game",
            AsteroidsGameArgs(
                hosts=game_hosts.hosts,
                gluster=cluster,
                node_image=w.game.node_image,
                public_port=w.game.public_port,
            ),
        )
        pulumi.export("gameUrl", game.url)

# Seed 2: HAProxy -> hit-counter app containers -> MongoDB replica set, across clouds.
lb_hosts = app_hosts = None
if w.load_balancer is not None:
    lb_hosts = host_group("lb", w.load_balancer, 1, ingress=loadbalancer.lb_ingress(w.load_balancer.public_port))
if w.webapp is not None:
    app_hosts = host_group(
        "webapp",
        w.webapp,
        w.webapp.replicas,
        ingress=hitcounter.app_ingress(lb_hosts.peer, w.webapp.port) if lb_hosts else [],
    )
if w.database is not None:
    db_hosts = host_group(
        "database",
        w.database,
        w.database.members,
        data_volume_gb=w.database.data_volume_gb,
        ingress=mongo.member_ingress([app_hosts.peer] if app_hosts else []),
    )
    replica_set = MongoReplicaSet(
        "database",
        MongoReplicaSetArgs(
            hosts=db_hosts.hosts,
            replica_set_name=w.database.replica_set_name,
            image=w.database.image,
            advertise="private" if w.webapp is None or w.webapp.cloud == w.database.cloud else "public",
        ),
    )
    pulumi.export("mongoConnectionString", replica_set.connection_string)
    if w.webapp is not None and app_hosts is not None:
        app = HitCounterApp(
            "webapp",
            HitCounterAppArgs(
                hosts=app_hosts.hosts,
                mongo_url=replica_set.connection_string,
                mongo_ca_certificate=replica_set.ca_certificate,
                port=w.webapp.port,
                registry=w.webapp.registry,
                app_dir=Path("apps/hitcounter").resolve(),
            ),
        )
        if w.load_balancer is not None and lb_hosts is not None:
            lb = LoadBalancer(
                "lb",
                LoadBalancerArgs(
                    host=lb_hosts.hosts[0],
                    backends=[Backend(name, address, port) for name, address, port in app.backends],
                    algorithm=w.load_balancer.algorithm,
                    image=w.load_balancer.image,
                    public_port=w.load_balancer.public_port,
                ),
            )
            pulumi.export("webUrl", lb.url)
