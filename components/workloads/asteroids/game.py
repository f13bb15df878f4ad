"""``AsteroidsGame``: the HTML5 Asteroids game served from the GlusterFS volume, one container per host.

Each game container (image built from ``apps/asteroids`` on its host's own daemon, no registry):

* mounts the volume with the FUSE client through any live server: ``mount -t glusterfs -o
  backup-volfile-servers=<s2>:<s3> <s1>:/<vol> /mnt/<vol>``, the primary rotated per game host;
* copies the game (BonsaiDen/NodeGame-Shooter at a pinned commit, patched for current Node when
  the image was built) onto the volume at the first start of any game container, under a lock;
* serves ``client/`` from the volume with nginx on the public port, and proxies WebSocket
  upgrades to the Node game server, which runs from the volume, on localhost.

FUSE inside the container needs ``/dev/fuse`` and ``CAP_SYS_ADMIN`` (for ``mount(2)``), and the
docker AppArmor profile must not deny the mount; nothing else. The container is therefore not
privileged: no other device or capability of the host is handed to a container that faces the
internet.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_docker as docker

from ...apps import app_dir
from ...hosts.dockerhost import DockerHost
from ...hosts.placement import build_context, check_distinct_hosts, published_ports
from ...naming import type_token
from ...net.rules import WORLD, Rule
from ..gluster.cluster import GlusterCluster
from .render_nginx import render_nginx_conf
from .render_start import (
    CONFIG_JS,
    CONTAINER_PORT,
    GAME_PORT,
    game_client_dir,
    gluster_mount,
    start_environment,
)

APP_DIR = app_dir("asteroids")
GAME_COMMIT = "913aa7c80e0af3109cba41e40023b893ce6e79f6"
IMAGE_NAME = f"rancher-stacks/asteroids:{GAME_COMMIT[:7]}"


def game_ingress(public_port: int = 80) -> list[Rule]:
    """Firewall rules of the game hosts: the game's HTTP port from anywhere (no TLS is served)."""
    return [Rule("http", WORLD, "Asteroids game (HTTP and WebSocket)", tcp_port=public_port)]


@dataclass
class AsteroidsGameArgs:
    """Arguments of ``AsteroidsGame``."""

    # One game container per host.
    hosts: list[DockerHost]
    gluster: GlusterCluster
    node_image: str = "node:22-bookworm-slim"
    public_port: int = 80
    app_dir: Path = APP_DIR


class AsteroidsGame(pulumi.ComponentResource):
    """The Asteroids game on every host, its files on the Gluster volume."""

    url: pulumi.Output[str]
    """Where to play: the first game host's public address and the public port."""
    urls: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: AsteroidsGameArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        hosts = list(args.hosts)
        if not hosts:
            raise ValueError(f"AsteroidsGame {name!r}: needs at least one host")
        check_distinct_hosts(hosts, f"the containers of AsteroidsGame {name!r}")
        if not 1 <= args.public_port <= 65535:
            raise ValueError(f"AsteroidsGame {name!r}: public port {args.public_port} is not a TCP port")
        gluster = args.gluster
        super().__init__(
            type_token("AsteroidsGame"),
            name,
            {
                "replicas": len(hosts),
                "hosts": [h.host_name for h in hosts],
                "volumeName": gluster.volume,
                "publicPort": args.public_port,
            },
            opts,
        )
        nginx_conf = render_nginx_conf(
            document_root=game_client_dir(gluster.volume),
            config_js=CONFIG_JS,
            listen_port=CONTAINER_PORT,
            game_port=GAME_PORT,
        )

        # Local hosts share one daemon: the n-th publishes public_port + n.
        ports = published_ports(hosts, args.public_port)
        self.containers: list[docker.Container] = []
        for index, (host, port) in enumerate(zip(hosts, ports, strict=True)):
            image = docker.Image(
                f"{name}-image-{host.host_name}",
                build=docker.DockerBuildArgs(
                    context=build_context(args.app_dir),
                    platform="linux/amd64",
                    args={"NODE_IMAGE": args.node_image, "GAME_COMMIT": GAME_COMMIT},
                ),
                image_name=IMAGE_NAME,
                skip_push=True,
                opts=host.docker_opts(self),
            )
            mount = gluster_mount(gluster.volume, gluster.server_names, index)
            environment = host.public_address.apply(
                functools.partial(start_environment, mount, public_port=port)
            )
            self.containers.append(
                docker.Container(
                    f"{name}-{host.host_name}",
                    name=f"{name}-{host.host_name}",
                    image=image.repo_digest,
                    restart="unless-stopped",
                    devices=[docker.ContainerDeviceArgs(host_path="/dev/fuse", container_path="/dev/fuse")],
                    capabilities=docker.ContainerCapabilitiesArgs(adds=["SYS_ADMIN"]),
                    security_opts=["apparmor=unconfined"],
                    ports=[docker.ContainerPortArgs(internal=CONTAINER_PORT, external=port)],
                    hosts=gluster.resolver_entries(host),
                    networks_advanced=gluster.client_networks() or None,
                    envs=environment,
                    uploads=[docker.ContainerUploadArgs(file="/etc/nginx/nginx.conf", content=nginx_conf)],
                    opts=host.docker_opts(self, depends_on=[gluster.ready]),
                )
            )

        self.urls = [
            pulumi.Output.concat("http://", h.public_address, "" if port == 80 else f":{port}", "/")
            for h, port in zip(hosts, ports, strict=True)
        ]
        self.url = self.urls[0]
        self.register_outputs({"url": self.url, "urls": self.urls})
