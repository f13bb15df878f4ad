"""``RedisBroker``: the Redis list between the Logstash collectors and indexers.

One ``redis`` container on the broker host: its config (``render_config``, secret: it holds the
``requirepass``) is written 0400 for the redis user (uid 999 in the image) by the entrypoint
wrapper from the container's own secret environment; data (AOF and RDB) on the host's retained
data volume at ``/data``, which the image's entrypoint hands to the redis user before dropping
root (docker-library/redis ``7.2/debian/docker-entrypoint.sh``). The password is a
``RandomPassword`` (letters and digits).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, host_address
from ...images import REDIS_IMAGE
from ...naming import type_token
from ...net.peer import PeerGroup
from ...net.rules import FromGroup, Rule
from ..render_tls_files import SecretFile, render_tls_entrypoint
from .render_config import render_redis_conf

REDIS_PORT = 6379
CONF_PATH = "/usr/local/etc/redis/redis.conf"
CONF_ENV = "RS_REDIS_CONF"
ENTRYPOINT_PATH = "/usr/local/bin/rancher-stacks-entrypoint.sh"
# redis uid/gid in the image (docker-library/redis 7.2/debian/Dockerfile: useradd -u 999).
REDIS_UID_GID = "999:999"


def broker_ingress(clients: Sequence[PeerGroup]) -> list[Rule]:
    """6379 from the collectors and the indexers only."""
    return [Rule("redis", FromGroup(c), f"Redis log broker: {c.name}") for c in clients]


@dataclass
class RedisBrokerArgs:
    host: DockerHost
    image: str = REDIS_IMAGE
    max_memory_mb: int = 256


class RedisBroker(pulumi.ComponentResource):
    password: pulumi.Output[str]
    address: pulumi.Output[str]
    port: int

    def __init__(self, name: str, args: RedisBrokerArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        host = args.host
        props = {"host": host.host_name, "persistence": "aof+rdb", "auth": True}
        super().__init__(type_token("RedisBroker"), name, props, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.password = pulumi.Output.secret(
            random.RandomPassword(f"{name}-password", length=40, special=False, opts=child).result
        )
        self.port = REDIS_PORT
        # The broker and its clients share the logging cloud: its private address.
        self.address = host_address(host, "private")
        conf = self.password.apply(lambda p: render_redis_conf(password=p, max_memory_mb=args.max_memory_mb))
        image = docker.RemoteImage(f"{name}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self))
        cname = f"{name}-{host.host_name}"
        data = host.data_binds(f"{cname}-dirs", self, [(posixpath.join(host.data_dir, "redis", cname), "/data")])
        self.container = docker.Container(
            cname,
            name=cname,
            image=image.image_id,
            user="0:0",
            entrypoints=[ENTRYPOINT_PATH],
            command=["docker-entrypoint.sh", "redis-server", CONF_PATH],
            envs=[pulumi.Output.concat(f"{CONF_ENV}=", conf)],
            uploads=[
                docker.ContainerUploadArgs(
                    file=ENTRYPOINT_PATH,
                    content=render_tls_entrypoint([SecretFile(CONF_ENV, CONF_PATH, "0400")], owner=REDIS_UID_GID),
                    permissions="0755",
                )
            ],
            volumes=data.volumes or None,
            mounts=data.mounts or None,
            ports=[docker.ContainerPortArgs(internal=REDIS_PORT, external=REDIS_PORT)],
            hosts=[LOCAL_GATEWAY] if host.is_local else None,
            restart="unless-stopped",
            destroy_grace_seconds=30,
            opts=pulumi.ResourceOptions.merge(
                host.docker_opts(self, depends_on=data.ready),
                pulumi.ResourceOptions(additional_secret_outputs=["envs"], delete_before_replace=True),
            ),
        )
        self.register_outputs({**props, "address": self.address})
