"""``GlusterCluster``: one GlusterFS server container and one brick per host, one replicated volume.

Every server keeps its state on its host's data volume, under ``<data_dir>/gluster/<peer>/``:
``etc`` (/etc/glusterfs), ``glusterd`` (/var/lib/glusterd), ``log`` (/var/log/glusterfs) and
``bricks`` (mounted at the same path inside the container), which holds the brick directory
``bricks/<brick_subdir>``. A replaced container or a re-run keeps the peer identity, the volume
definition and the data.

Servers are named, never addressed by IP: each one has a peer name, ``gluster-<host name>``,
and peers, bricks and the clients' volfile servers all use these names. Every container that
talks to the volume resolves the names itself through docker's ``hosts`` entries (its
``/etc/hosts``): a server reaches its own name at its private address (an address on one of its
interfaces, which is how glusterd recognises its own bricks), and any container reaches a server
at its private address when both sit on the same cloud and region, else at its public address.
That is what lets one volume span clouds behind NAT (AWS and GCP public addresses are not on the
instance's interface). On the local daemon all servers share one bridge network instead, and the
names are network aliases.

The volume is created, grown and started by a bootstrap command on the first server
(``render_bootstrap``), which re-runs when the server address list changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from ...hosts.dockerhost import DockerHost, FailureDomain
from ...hosts.placement import check_distinct_hosts
from ...images import GLUSTER_IMAGE
from ...naming import type_token
from ...net.peer import PeerGroup
from ...net.rules import FromGroup, FromSelf, Rule
from .render_bootstrap import Brick, render_bootstrap

PEER_LABEL = "rancher-stacks.gluster.peer"
VOLUME_LABEL = "rancher-stacks.gluster.volume"

_VOLUME = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_SUBDIR = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def peer_name(host: DockerHost) -> str:
    """The stable name the cluster and its clients use for the server on ``host``."""
    return "gluster-" + re.sub(r"[^a-z0-9-]+", "-", host.host_name.lower()).strip("-")


def same_network(a: FailureDomain, b: FailureDomain) -> bool:
    """Whether hosts in these domains reach each other at their private addresses."""
    return a.cloud == b.cloud and a.region == b.region


def server_ingress(clients: list[PeerGroup]) -> list[Rule]:
    """Firewall rules of the storage hosts: Gluster between the servers and from every client group."""
    return [
        Rule("gluster", FromSelf(), "GlusterFS between the servers of the volume"),
        *(Rule("gluster", FromGroup(group), f"GlusterFS clients: {group.name}") for group in clients),
    ]


@dataclass
class GlusterClusterArgs:
    """Arguments of ``GlusterCluster``."""

    # One server per host; at least two distinct hosts. The first one runs the bootstrap.
    hosts: list[DockerHost]
    volume_name: str = "ranchervol"
    image: str = GLUSTER_IMAGE
    # The brick directory under each server's state directory on the data volume.
    brick_subdir: str = "brick"


def _validate(name: str, args: GlusterClusterArgs) -> list[DockerHost]:
    hosts = list(args.hosts)
    host_names = [h.host_name for h in hosts]
    if len(hosts) < 2:
        raise ValueError(
            f"GlusterCluster {name!r}: a replicated volume needs at least 2 servers on distinct "
            f"hosts; got {len(hosts)} host(s) {host_names}"
        )
    check_distinct_hosts(hosts, f"the servers of GlusterCluster {name!r}")
    peers = [peer_name(h) for h in hosts]
    if len(set(peers)) != len(peers):
        raise ValueError(f"GlusterCluster {name!r}: host names {host_names} give colliding peer names {peers}")
    if len({h.is_local for h in hosts}) != 1:
        raise ValueError(f"GlusterCluster {name!r}: mixes the local daemon with remote hosts")
    if not _VOLUME.match(args.volume_name):
        raise ValueError(
            f"GlusterCluster {name!r}: volume name {args.volume_name!r} must match {_VOLUME.pattern}"
        )
    if not _SUBDIR.match(args.brick_subdir):
        raise ValueError(
            f"GlusterCluster {name!r}: brick_subdir {args.brick_subdir!r} must be one plain directory name"
        )
    return hosts


class GlusterCluster(pulumi.ComponentResource):
    """A GlusterFS volume replicated on every host, one brick each."""

    volume_name: pulumi.Output[str]
    """The volume's name (what clients mount as ``<server>:/<volume>``)."""
    server_addresses: pulumi.Output[list[str]]
    """The servers' addresses: private when all are on one cloud and region, else public."""

    def __init__(
        self, name: str, args: GlusterClusterArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        hosts = _validate(name, args)
        props = {
            "volumeName": args.volume_name,
            "replicas": len(hosts),
            "servers": [h.host_name for h in hosts],
            "zones": [str(h.domain) for h in hosts],
        }
        super().__init__(type_token("GlusterCluster"), name, props, opts)
        self.volume = args.volume_name
        self.hosts = hosts
        self.server_names = [peer_name(h) for h in hosts]

        # The local daemon runs every server: they share a bridge network and find each other by
        # alias. Remote servers use the host network (glusterd's ports, brick ports 49152+).
        self.network: Optional[docker.Network] = None
        if hosts[0].is_local:
            self.network = docker.Network(
                f"{name}-net",
                name=f"{name}-gluster",
                driver="bridge",
                opts=hosts[0].docker_opts(self),
            )

        self.bricks: list[Brick] = []
        self.containers: list[docker.Container] = []
        for host, peer in zip(hosts, self.server_names, strict=True):
            state = f"{host.data_dir.rstrip('/')}/gluster/{peer}"
            brick = Brick(peer, f"{state}/bricks/{args.brick_subdir}")
            self.bricks.append(brick)
            image = docker.RemoteImage(
                f"{name}-image-{host.host_name}",
                name=args.image,
                keep_locally=True,
                opts=host.docker_opts(self),
            )
            self.containers.append(self._server(name, host, peer, state, image))

        one_network = all(same_network(hosts[0].domain, h.domain) for h in hosts)
        addresses = [h.private_address if one_network else h.public_address for h in hosts]
        self.ready: pulumi.Resource = hosts[0].run(
            f"{name}-bootstrap",
            render_bootstrap(
                container=self._container_name(name, hosts[0]), volume=self.volume, bricks=self.bricks
            ),
            parent=self,
            # Again when a server gets a new (empty) data volume: its brick must be rebuilt.
            triggers=[*addresses, *[v for h in hosts for v in h.data_identity]],
            depends_on=self.containers,
        )

        self.volume_name = pulumi.Output.from_input(args.volume_name)
        self.server_addresses = pulumi.Output.all(*addresses)
        # The props again: a live stack policy sees a component's outputs, not its inputs.
        self.register_outputs({**props, "volumeName": self.volume_name, "serverAddresses": self.server_addresses})

    @staticmethod
    def _container_name(name: str, host: DockerHost) -> str:
        return f"{name}-{host.host_name}"

    def _server(
        self,
        name: str,
        host: DockerHost,
        peer: str,
        state: str,
        image: docker.RemoteImage,
    ) -> docker.Container:
        """The privileged server container of ``host``: glusterd under systemd, as the image expects.

        Its state directories are bound so that it cannot start when the data volume is not
        mounted (``DockerHost.data_binds``).
        """
        data = host.data_binds(
            f"{name}-{host.host_name}-dirs",
            self,
            [
                (f"{state}/etc", "/etc/glusterfs"),
                (f"{state}/glusterd", "/var/lib/glusterd"),
                (f"{state}/log", "/var/log/glusterfs"),
                # The brick's parent is the mount point: glusterd refuses a brick that is one itself.
                (f"{state}/bricks", f"{state}/bricks"),
            ],
        )
        volumes = [
            *data.volumes,
            docker.ContainerVolumeArgs(
                host_path="/sys/fs/cgroup", container_path="/sys/fs/cgroup", read_only=True
            ),
            docker.ContainerVolumeArgs(host_path="/dev", container_path="/dev"),
        ]
        network = self.network
        return docker.Container(
            f"{name}-{host.host_name}",
            name=self._container_name(name, host),
            image=image.image_id,
            privileged=True,
            restart="unless-stopped",
            network_mode="host" if network is None else None,
            hosts=self.resolver_entries(host),
            hostname=None if network is None else peer,
            networks_advanced=(
                None
                if network is None
                else [docker.ContainerNetworksAdvancedArgs(name=network.name, aliases=[peer])]
            ),
            volumes=volumes,
            mounts=data.mounts or None,
            labels=[
                docker.ContainerLabelArgs(label=PEER_LABEL, value=peer),
                docker.ContainerLabelArgs(label=VOLUME_LABEL, value=self.volume),
            ],
            opts=host.docker_opts(self, depends_on=data.ready),
        )

    def resolver_entries(self, viewer: DockerHost) -> list[docker.ContainerHostArgs]:
        """``/etc/hosts`` entries for a container on ``viewer`` that talks to the volume.

        Empty on the local daemon, where the names are aliases on the cluster's network.
        """
        if self.network is not None:
            return []
        return [
            docker.ContainerHostArgs(host=peer, ip=self._address(server, viewer))
            for server, peer in zip(self.hosts, self.server_names, strict=True)
        ]

    @staticmethod
    def _address(server: DockerHost, viewer: DockerHost) -> pulumi.Output[str]:
        """Where ``viewer`` reaches ``server``: its private address on the same network, else public."""
        return server.private_address if same_network(server.domain, viewer.domain) else server.public_address

    def client_networks(self) -> list[docker.ContainerNetworksAdvancedArgs]:
        """The networks a client container joins (the cluster's network on the local daemon)."""
        if self.network is None:
            return []
        return [docker.ContainerNetworksAdvancedArgs(name=self.network.name)]
