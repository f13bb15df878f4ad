"""``AsteroidsGame``: the HTML5 Asteroids game served from the GlusterFS volume, two containers per host.

The game faces the internet and runs 2012-era Node code, so the process players talk to gets no
FUSE privilege. Each game host runs (one image, built from ``apps/asteroids`` on the host's own
daemon, no registry):

* a **volume container** ``<name>-<host>-volume``, never published, the only one with FUSE
  privileges (``/dev/fuse``, ``CAP_SYS_ADMIN`` for ``mount(2)``, ``apparmor=unconfined`` because
  Docker's default AppArmor profile denies the mount; never ``privileged``). It mounts the volume
  through any live server (``mount -t glusterfs -o backup-volfile-servers=<s2>:<s3> <s1>:/<vol>``,
  the primary rotated per game host), copies the game (BonsaiDen/NodeGame-Shooter at a pinned
  commit, patched for current Node when the image was built) onto the volume at the first start
  of any game host, under a lock, then copies it from the volume into the host's Docker volume
  ``<name>-<host>-copy`` and re-copies it whenever it changes on Gluster, switching the served
  tree atomically;
* the **game container** ``<name>-<host>``, published on the public port, with that Docker volume
  mounted read-only, no device, the default AppArmor and seccomp profiles, ``no-new-privileges``,
  and every capability dropped but ``CHOWN``, ``SETGID`` and ``SETUID``, which nginx's master
  (root) needs to hand its temp directories and workers to ``www-data``. It serves ``client/``
  from the copy with nginx on the public port and proxies WebSocket upgrades to the Node game
  server, which runs from the copy, on localhost.

The copy lives in a Docker volume, not in a mount shared through the host: on RancherOS and
BurmillaOS the user Docker daemon runs inside a system container, where propagating a FUSE mount
from one container to another through the host is not something to rely on, while a named volume
is an ordinary directory the daemon gives both containers.
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
from ...hosts.placement import BUILD_PLATFORM, build_context, check_distinct_hosts, published_ports
from ...images import NODE_IMAGE
from ...naming import type_token
from ...net.rules import WORLD, Rule
from ..gluster.cluster import GlusterCluster
from .render_nginx import render_nginx_conf
from .render_start import (
    CONFIG_JS,
    CONTAINER_PORT,
    COPY_ROOT,
    GAME_PORT,
    RUN_DIR,
    SERVE_COMMAND,
    VOLUME_COMMAND,
    VOLUME_HEALTH_COMMAND,
    game_client_dir,
    gluster_mount,
    serve_environment,
    volume_environment,
)

APP_DIR = app_dir("asteroids")
GAME_COMMIT = "913aa7c80e0af3109cba41e40023b893ce6e79f6"
IMAGE_NAME = f"rancher-stacks/asteroids:{GAME_COMMIT[:7]}"

# Capabilities of the game container: Docker drops every capability in ``drops`` ("ALL" included)
# before adding those in ``adds`` (Docker run reference, "Runtime privilege and Linux
# capabilities"; all three are in Docker's default set, so nothing beyond the default is granted).
# nginx's master runs as root and needs SETUID and SETGID to start its workers as ``www-data``
# (the ``user`` directive), and CHOWN because at start it chowns its temp directories to that
# user (ngx_create_paths in nginx's src/core/ngx_file.c; without CHOWN nginx 1.22 stops with
# "chown(.../client_body, 33) failed (1: Operation not permitted)", tried under setpriv with only
# SETUID and SETGID). Workers are stopped through nginx's channel, not kill(2), so KILL is not
# needed; nginx listens on 8080, so NET_BIND_SERVICE is not either. SETUID and SETGID also let
# start.sh run the Node game server as the unprivileged ``node`` user.
GAME_CAPABILITIES_DROP = ("ALL",)
GAME_CAPABILITIES_ADD = ("CHOWN", "SETGID", "SETUID")
# no_new_privs: no process of the game container gains privileges through exec of a setuid or
# file-capability binary (Docker run reference, "--security-opt no-new-privileges").
GAME_SECURITY_OPTS = ("no-new-privileges:true",)
# The volume container's FUSE privileges: the device, mount(2) and an AppArmor profile that
# lets it mount.
FUSE_DEVICE = "/dev/fuse"
VOLUME_CAPABILITIES_ADD = ("SYS_ADMIN",)
VOLUME_SECURITY_OPTS = ("apparmor=unconfined",)


def game_ingress(public_port: int = 80) -> list[Rule]:
    """Firewall rules of the game hosts: the game's HTTP port from anywhere (no TLS is served)."""
    return [Rule("http", WORLD, "Asteroids game (HTTP and WebSocket)", tcp_port=public_port)]


@dataclass
class AsteroidsGameArgs:
    """Arguments of ``AsteroidsGame``."""

    # One game container per host.
    hosts: list[DockerHost]
    gluster: GlusterCluster
    node_image: str = NODE_IMAGE
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
            document_root=game_client_dir(),
            config_js=CONFIG_JS,
            listen_port=CONTAINER_PORT,
            game_port=GAME_PORT,
        )

        # Local hosts share one daemon: the n-th publishes public_port + n.
        ports = published_ports(hosts, args.public_port)
        self.containers: list[docker.Container] = []
        self.volume_containers: list[docker.Container] = []
        for index, (host, port) in enumerate(zip(hosts, ports, strict=True)):
            image = docker.Image(
                f"{name}-image-{host.host_name}",
                build=docker.DockerBuildArgs(
                    context=build_context(args.app_dir),
                    platform=BUILD_PLATFORM,
                    args={"NODE_IMAGE": args.node_image, "GAME_COMMIT": GAME_COMMIT},
                ),
                image_name=IMAGE_NAME,
                skip_push=True,
                opts=host.docker_opts(self),
            )
            copy = docker.Volume(
                f"{name}-{host.host_name}-copy",
                name=f"{name}-{host.host_name}-copy",
                opts=host.docker_opts(self),
            )
            mount = gluster_mount(gluster.volume, gluster.server_names, index)
            volume_container = docker.Container(
                f"{name}-{host.host_name}-volume",
                name=f"{name}-{host.host_name}-volume",
                image=image.repo_digest,
                command=list(VOLUME_COMMAND),
                restart="unless-stopped",
                devices=[docker.ContainerDeviceArgs(host_path=FUSE_DEVICE, container_path=FUSE_DEVICE)],
                capabilities=docker.ContainerCapabilitiesArgs(adds=list(VOLUME_CAPABILITIES_ADD)),
                security_opts=list(VOLUME_SECURITY_OPTS),
                hosts=gluster.resolver_entries(host),
                networks_advanced=gluster.client_networks() or None,
                envs=volume_environment(mount),
                mounts=[docker.ContainerMountArgs(type="volume", source=copy.name, target=COPY_ROOT)],
                # The image's health check asks nginx, which runs in the game container only.
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=["CMD", *VOLUME_HEALTH_COMMAND],
                    interval="15s",
                    timeout="5s",
                    start_period="60s",
                    retries=3,
                ),
                opts=host.docker_opts(self, depends_on=[gluster.ready, copy]),
            )
            self.volume_containers.append(volume_container)
            environment = host.public_address.apply(functools.partial(serve_environment, public_port=port))
            self.containers.append(
                docker.Container(
                    f"{name}-{host.host_name}",
                    name=f"{name}-{host.host_name}",
                    image=image.repo_digest,
                    command=list(SERVE_COMMAND),
                    restart="unless-stopped",
                    capabilities=docker.ContainerCapabilitiesArgs(
                        drops=list(GAME_CAPABILITIES_DROP), adds=list(GAME_CAPABILITIES_ADD)
                    ),
                    security_opts=list(GAME_SECURITY_OPTS),
                    mounts=[
                        docker.ContainerMountArgs(type="volume", source=copy.name, target=COPY_ROOT, read_only=True)
                    ],
                    tmpfs={RUN_DIR: "rw,noexec,nosuid,size=1m"},
                    ports=[docker.ContainerPortArgs(internal=CONTAINER_PORT, external=port)],
                    envs=environment,
                    uploads=[docker.ContainerUploadArgs(file="/etc/nginx/nginx.conf", content=nginx_conf)],
                    opts=host.docker_opts(self, depends_on=[volume_container, copy]),
                )
            )

        self.urls = [
            pulumi.Output.concat("http://", h.public_address, "" if port == 80 else f":{port}", "/")
            for h, port in zip(hosts, ports, strict=True)
        ]
        self.url = self.urls[0]
        self.register_outputs({"url": self.url, "urls": self.urls})
