"""Seed 1: the Asteroids game, its files on a replicated GlusterFS volume.

Enabled by ``workloads.storage``; ``workloads.game`` adds the game hosts, which the storage
hosts admit to Gluster's ports.
"""

from __future__ import annotations

from typing import Mapping

from ..config import StackConfig
from ..hosts.groups import GroupDecl, Peers
from ..hosts.hostgroup import HostGroup
from ..net.rules import Rule
from ..workloads.asteroids.game import AsteroidsGame, AsteroidsGameArgs, game_ingress
from ..workloads.gluster.cluster import GlusterCluster, GlusterClusterArgs, server_ingress
from .registry import Exports, System

STORAGE, GAME = "storage", "game"


def _storage_ingress(peers: Peers) -> list[Rule]:
    return server_ingress(peers.present(GAME))


def _groups(cfg: StackConfig) -> list[GroupDecl]:
    storage, game = cfg.workloads.storage, cfg.workloads.game
    assert storage is not None  # enabled() guarantees it
    decls = [
        GroupDecl(
            STORAGE,
            storage.cloud,
            storage.servers,
            size=storage.size,
            data_volume_gb=storage.data_volume_gb,
            ingress=_storage_ingress,
        )
    ]
    if game is not None:
        port = game.public_port
        decls.append(GroupDecl(GAME, game.cloud, game.replicas, size=game.size, ingress=lambda _: game_ingress(port)))
    return decls


def _deploy(cfg: StackConfig, groups: Mapping[str, HostGroup]) -> Exports:
    storage, game = cfg.workloads.storage, cfg.workloads.game
    assert storage is not None
    cluster = GlusterCluster(
        STORAGE,
        GlusterClusterArgs(hosts=groups[STORAGE].hosts, volume_name=storage.volume_name, image=storage.image),
    )
    exports: Exports = {"glusterVolume": cluster.volume_name, "glusterServers": cluster.server_addresses}
    if game is not None:
        asteroids = AsteroidsGame(
            GAME,
            AsteroidsGameArgs(
                hosts=groups[GAME].hosts, gluster=cluster, node_image=game.node_image, public_port=game.public_port
            ),
        )
        exports["gameUrl"] = asteroids.url
    return exports


SYSTEM = System(
    name="game",
    section="workloads.storage",
    enabled=lambda cfg: cfg.workloads.storage is not None,
    groups=_groups,
    deploy=_deploy,
)
