"""``MongoReplicaSet``: one mongod per host, keyfile-authenticated, initiated once.

Each member is the official ``mongo`` image started with ``--replSet <name> --bind_ip_all
--keyFile``, root credentials from ``MONGO_INITDB_ROOT_USERNAME``/``PASSWORD`` (the image then
adds ``--auth``), data bind-mounted from ``<host.data_dir>/mongodb/<container>`` to ``/data/db``
and 27017 published. Both secrets come from ``pulumi_random.RandomPassword`` and stay secret:
the container ``envs`` are marked as secret outputs.

**Keyfile delivery.** mongod accepts a keyfile only when its owner runs mongod and nobody else
can read it. The image starts as root and drops to ``mongodb`` in its own entrypoint, so the
container starts with a small wrapper entrypoint (uploaded into the container, see
``components.render.mongo_scripts``) that writes the key from the secret ``MONGO_KEYFILE_CONTENT``
variable to ``/etc/mongo-keyfile`` with mode 0400, owner ``mongodb``, unsets the variable and
``exec``\\ s the image's entrypoint. This works on any daemon version (no reliance on upload
ownership), keeps the key off the host's disk and out of the data volume, and needs no second
command after the container starts.

**Initiation.** After every member container exists, one command on ``hosts[0]`` runs the
idempotent reconciler of ``components.render.mongo_scripts``: it waits (bounded) for every
member, initiates the set with all of them (``_id`` 0..N-1) if no member belongs to a set yet,
and otherwise adds and removes members one at a time to match ``hosts``. The command is replaced,
and so re-run, when the replica set name or the member list changes. The root password reaches
it through the command's ``environment`` (secret), never through the script text.

**One daemon, several hosts.** Local hosts (``DockerHost.is_local``) share the machine's daemon:
there each member publishes 27017 + its index among the local hosts, every container maps
``host.docker.internal`` to the daemon's gateway, and members and clients reach each other at
``host.docker.internal:<port>`` whatever the hosts' addresses (``127.0.0.1`` would be the
container itself).
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Optional, Sequence

import pulumi
import pulumi_docker as docker
import pulumi_random as random

from components import type_token
from components.dockerhost import (
    LOCAL_GATEWAY,
    Advertise,
    DockerHost,
    check_distinct_hosts,
    host_address,
    published_ports,
)
from components.peer import PeerGroup
from components.render.mongo_scripts import (
    ENTRYPOINT_PATH,
    KEYFILE_ENV,
    KEYFILE_PATH,
    ROOT_PASSWORD_ENV,
    ROOT_USERNAME,
    render_keyfile_entrypoint,
    render_replica_set_script,
    replica_set_config,
)
from components.rules import FromGroup, FromSelf, Rule

MONGO_PORT = 27017
def member_ingress(clients: Sequence[PeerGroup]) -> list[Rule]:
    """Firewall rules of the database group: MongoDB from the members and from each client group."""
    rules = [Rule("mongodb", FromSelf(), "MongoDB replication between the members")]
    rules += [Rule("mongodb", FromGroup(c), f"MongoDB clients: {c.name}") for c in clients]
    return rules


@dataclass
class MongoReplicaSetArgs:
    """Arguments of ``MongoReplicaSet``."""

    # One member per host, in this order; hosts[0] runs the initiation. Odd count, 3 or more.
    hosts: list[DockerHost]
    replica_set_name: str = "rs0"
    image: str = "mongo:7.0"
    # Which address members advertise (and clients connect to). "private" only works when
    # every member and client shares a network with the members.
    advertise: Advertise = "public"


class MongoReplicaSet(pulumi.ComponentResource):
    """A MongoDB replica set with one keyfile-authenticated member per Docker host."""

    connection_string: pulumi.Output[str]
    """``mongodb://root:<pw>@h1:27017,.../?replicaSet=<name>&authSource=admin`` (secret)."""
    member_addresses: pulumi.Output[list[str]]
    """The members as ``host:port``, in the order of ``hosts``."""

    def __init__(
        self, name: str, args: MongoReplicaSetArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        hosts = list(args.hosts)
        if len(hosts) < 3 or len(hosts) % 2 == 0:
            raise ValueError(
                f"a replica set needs an odd number of members, at least 3, so that a majority "
                f"survives a failure; got {len(hosts)}"
            )
        check_distinct_hosts(hosts, "replica set members")
        addresses = [host_address(h, args.advertise) for h in hosts]
        # Checks the set name before anything is registered; the script itself is rendered
        # once the addresses are known.
        replica_set_config(args.replica_set_name, [f"member-{i}:{MONGO_PORT}" for i in range(len(hosts))])
        props = {
            "replicaSetName": args.replica_set_name,
            "members": len(hosts),
            "hosts": [h.host_name for h in hosts],
            "zones": [str(h.domain) for h in hosts],
        }
        super().__init__(type_token("MongoReplicaSet"), name, props, opts)

        root_password = random.RandomPassword(
            f"{name}-root-password",
            length=32,
            special=False,  # safe in a connection string without URL encoding
            opts=pulumi.ResourceOptions(parent=self),
        )
        keyfile = random.RandomPassword(
            f"{name}-keyfile",
            length=756,
            special=True,
            override_special="+/",  # the base64 alphabet mongod expects in a keyfile
            opts=pulumi.ResourceOptions(parent=self),
        )
        password: pulumi.Output[str] = pulumi.Output.secret(root_password.result)
        key: pulumi.Output[str] = pulumi.Output.secret(keyfile.result)
        entrypoint = render_keyfile_entrypoint()
        ports = published_ports(hosts, MONGO_PORT)
        self.member_addresses = pulumi.Output.all(
            *[pulumi.Output.concat(a, f":{p}") for a, p in zip(addresses, ports, strict=True)]
        )

        containers: list[pulumi.Resource] = []
        container_names: list[str] = []
        pulled: dict[str, docker.RemoteImage] = {}
        for host, port in zip(hosts, ports, strict=True):
            container_name = f"{name}-{host.host_name}"
            container_names.append(container_name)
            daemon = "local" if host.is_local else host.host_name
            if daemon not in pulled:
                pulled[daemon] = docker.RemoteImage(
                    f"{name}-{host.host_name}-image",
                    name=args.image,
                    keep_locally=True,
                    opts=host.docker_opts(self),
                )
            image = pulled[daemon]
            container = docker.Container(
                container_name,
                name=container_name,
                image=image.image_id,
                entrypoints=[ENTRYPOINT_PATH],
                command=[
                    "mongod",
                    "--replSet",
                    args.replica_set_name,
                    "--bind_ip_all",
                    "--keyFile",
                    KEYFILE_PATH,
                ],
                envs=[
                    f"MONGO_INITDB_ROOT_USERNAME={ROOT_USERNAME}",
                    pulumi.Output.concat("MONGO_INITDB_ROOT_PASSWORD=", password),
                    pulumi.Output.concat(f"{KEYFILE_ENV}=", key),
                ],
                uploads=[
                    docker.ContainerUploadArgs(
                        file=ENTRYPOINT_PATH, content=entrypoint, permissions="0755"
                    )
                ],
                volumes=[
                    docker.ContainerVolumeArgs(
                        host_path=posixpath.join(host.data_dir, "mongodb", container_name),
                        container_path="/data/db",
                    )
                ],
                ports=[docker.ContainerPortArgs(internal=MONGO_PORT, external=port)],
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                # mongod flushes and steps down cleanly when given time to stop.
                destroy_grace_seconds=60,
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self),
                    pulumi.ResourceOptions(
                        additional_secret_outputs=["envs"],
                        # Fixed name and published port: the old container must go first.
                        delete_before_replace=True,
                    ),
                ),
            )
            containers.append(container)

        script = self.member_addresses.apply(
            lambda members: render_replica_set_script(
                container=container_names[0],
                replica_set_name=args.replica_set_name,
                members=members,
            )
        )
        self.initiation = hosts[0].run(
            f"{name}-rs-init",
            script,
            self,
            environment={ROOT_PASSWORD_ENV: password},
            triggers=[args.replica_set_name, self.member_addresses],
            depends_on=containers,
        )

        self.connection_string = pulumi.Output.secret(
            pulumi.Output.all(password, self.member_addresses).apply(
                lambda values: connection_string(
                    ROOT_USERNAME, values[0], values[1], args.replica_set_name
                )
            )
        )
        # The props again: a live stack policy sees a component's outputs, not its inputs.
        self.register_outputs(
            {**props, "connectionString": self.connection_string, "memberAddresses": self.member_addresses}
        )


def connection_string(user: str, password: str, members: Sequence[str], replica_set: str) -> str:
    """A replica-set connection string that authenticates against ``admin``."""
    return (
        f"mongodb://{user}:{password}@{','.join(members)}/"
        f"?replicaSet={replica_set}&authSource=admin"
    )
