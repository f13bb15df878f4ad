"""``MongoReplicaSet``: one mongod per host, keyfile-authenticated, TLS-only, initiated once.

Each member is the official ``mongo`` image started with ``--replSet <name> --bind_ip_all
--keyFile`` and ``--tlsMode requireTLS``, root credentials from ``MONGO_INITDB_ROOT_USERNAME``/
``PASSWORD`` (the image then adds ``--auth``), data bind-mounted from
``<host.data_dir>/mongodb/<container>`` to ``/data/db`` and 27017 published. Both passwords come
from ``pulumi_random.RandomPassword`` and stay secret: the container ``envs`` are marked as
secret outputs.

**Encryption in transit.** Every connection, between members and from clients, is TLS: a
``ReplicaSetPki`` child (``pki``) makes the replica set's own CA and one
certificate per member naming the member's advertised address (an IP SAN for an IP, a DNS SAN
for ``host.docker.internal``) plus ``localhost``/``127.0.0.1``. mongod runs with
``--tlsCertificateKeyFile`` (that certificate and its key) and ``--tlsCAFile`` (the CA): members
verify each other's certificates in both directions. Clients must verify the members against
the CA (``ca_certificate``, public) but need no certificate of their own
(``--tlsAllowConnectionsWithoutCertificates``): they authenticate with SCRAM as before, and a
client that does present a certificate must present a valid one. Internal authentication stays
the keyfile. The connection string says ``tls=true``.

**Secret files.** mongod accepts a keyfile only when its owner runs mongod and nobody else can
read it. The image starts as root and drops to ``mongodb`` in its own entrypoint, so the
container starts with a small wrapper entrypoint (uploaded into the container, see
``render_scripts``) that writes the keyfile, the member's certificate with its
private key and the CA certificate from the secret environment variables
``MONGO_KEYFILE_CONTENT``, ``MONGO_TLS_CERTIFICATE_KEY`` and ``MONGO_TLS_CA`` to files under
``/etc`` with mode 0400, owner ``mongodb``, unsets the variables and ``exec``\\ s the image's
entrypoint. This works on any daemon version (no reliance on upload ownership: an upload would
be owned by root, unreadable for mongod at 0400), keeps keys off the host's disk and out of the
data volume, and needs no second command after the container starts. Anyone who can
``docker inspect`` the container sees these variables, as they see the root password: the
daemon is reached over SSH by admins only.

**Initiation.** After every member container exists, one command on ``hosts[0]`` runs the
idempotent reconciler of ``render_scripts``: it waits (bounded) for every
member, initiates the set with all of them (``_id`` 0..N-1) if no member belongs to a set yet,
and otherwise adds and removes members one at a time to match ``hosts``. Its mongosh connects
with TLS, verifying the members against the CA and presenting the first member's certificate.
The command is replaced, and so re-run, when the replica set name or the member list changes.
The root password reaches it through the command's ``environment`` (secret), never through the
script text.

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

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, Advertise, check_distinct_hosts, host_address, published_ports
from ...images import MONGO_IMAGE
from ...naming import type_token
from ...net.peer import PeerGroup
from ...net.rules import FromGroup, FromSelf, Rule
from .pki import PkiMember, ReplicaSetPki, ReplicaSetPkiArgs
from .render_scripts import (
    ENTRYPOINT_PATH,
    KEYFILE_ENV,
    KEYFILE_PATH,
    ROOT_PASSWORD_ENV,
    ROOT_USERNAME,
    TLS_CA_ENV,
    TLS_CA_PATH,
    TLS_CERTIFICATE_KEY_ENV,
    TLS_CERTIFICATE_KEY_PATH,
    AppUser,
    render_member_entrypoint,
    render_replica_set_script,
    replica_set_config,
)

MONGO_PORT = 27017
# Every port of every member; also a prop, so the policy pack can hold the stack to it.
TLS_MODE = "requireTLS"


def mongod_command(replica_set_name: str) -> list[str]:
    """The member's mongod command line: replica set, keyfile auth, TLS required on every port."""
    return [
        "mongod",
        "--replSet",
        replica_set_name,
        "--bind_ip_all",
        "--keyFile",
        KEYFILE_PATH,
        "--tlsMode",
        TLS_MODE,
        "--tlsCertificateKeyFile",
        TLS_CERTIFICATE_KEY_PATH,
        "--tlsCAFile",
        TLS_CA_PATH,
        # Clients prove who they are with SCRAM; a certificate they do present is still verified.
        "--tlsAllowConnectionsWithoutCertificates",
    ]

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
    image: str = MONGO_IMAGE
    # The application's own user (readWrite on its database only); the connection string is
    # then that user's. None: the root user's (for tools that administer the set).
    app_user: Optional[AppUser] = None
    # Which address members advertise (and clients connect to). "private" only works when
    # every member and client shares a network with the members.
    advertise: Advertise = "public"


class MongoReplicaSet(pulumi.ComponentResource):
    """A MongoDB replica set with one keyfile-authenticated member per Docker host."""

    connection_string: pulumi.Output[str]
    """``mongodb://root:<pw>@h1:27017,.../?replicaSet=<name>&authSource=admin&tls=true`` (secret)."""
    ca_certificate: pulumi.Output[str]
    """The replica set's CA certificate (PEM, public): what clients verify the members with."""
    containers: list[docker.Container]
    """The member containers, in the order of ``hosts``."""
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
            "tlsMode": TLS_MODE,
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
        app_password: Optional[pulumi.Output[str]] = None
        if args.app_user is not None:
            app_password = pulumi.Output.secret(
                random.RandomPassword(
                    f"{name}-app-password",
                    length=32,
                    special=False,  # safe in a connection string without URL encoding
                    opts=pulumi.ResourceOptions(parent=self),
                ).result
            )
        key: pulumi.Output[str] = pulumi.Output.secret(keyfile.result)
        pki = ReplicaSetPki(
            f"{name}-pki",
            ReplicaSetPkiArgs(
                replica_set_name=args.replica_set_name,
                members=[PkiMember(h.host_name, a) for h, a in zip(hosts, addresses, strict=True)],
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.ca_certificate = pki.ca_certificate
        entrypoint = render_member_entrypoint()
        ports = published_ports(hosts, MONGO_PORT)
        self.member_addresses = pulumi.Output.all(
            *[pulumi.Output.concat(a, f":{p}") for a, p in zip(addresses, ports, strict=True)]
        )

        self.containers = []
        container_names: list[str] = []
        pulled: dict[str, docker.RemoteImage] = {}
        for host, port, certificate_key in zip(
            hosts, ports, pki.certificate_key_files, strict=True
        ):
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
            # Bound so that the member cannot start when the data volume is not mounted.
            data = host.data_binds(
                f"{container_name}-dirs",
                self,
                [(posixpath.join(host.data_dir, "mongodb", container_name), "/data/db")],
            )
            container = docker.Container(
                container_name,
                name=container_name,
                image=image.image_id,
                entrypoints=[ENTRYPOINT_PATH],
                command=mongod_command(args.replica_set_name),
                # Secret as a whole (additional_secret_outputs below): password, keyfile, TLS key.
                envs=[
                    f"MONGO_INITDB_ROOT_USERNAME={ROOT_USERNAME}",
                    pulumi.Output.concat(f"{ROOT_PASSWORD_ENV}=", password),
                    pulumi.Output.concat(f"{KEYFILE_ENV}=", key),
                    pulumi.Output.concat(f"{TLS_CERTIFICATE_KEY_ENV}=", certificate_key),
                    pulumi.Output.concat(f"{TLS_CA_ENV}=", pki.ca_certificate),
                ],
                uploads=[
                    docker.ContainerUploadArgs(
                        file=ENTRYPOINT_PATH, content=entrypoint, permissions="0755"
                    )
                ],
                volumes=data.volumes or None,
                mounts=data.mounts or None,
                ports=[docker.ContainerPortArgs(internal=MONGO_PORT, external=port)],
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                # mongod flushes and steps down cleanly when given time to stop.
                destroy_grace_seconds=60,
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self, depends_on=data.ready),
                    pulumi.ResourceOptions(
                        additional_secret_outputs=["envs"],
                        # Fixed name and published port: the old container must go first.
                        delete_before_replace=True,
                    ),
                ),
            )
            self.containers.append(container)

        script = self.member_addresses.apply(
            lambda members: render_replica_set_script(
                container=container_names[0],
                replica_set_name=args.replica_set_name,
                members=members,
                app_user=args.app_user,
            )
        )
        self.initiation = hosts[0].run(
            f"{name}-rs-init",
            script,
            self,
            # The application user's password: a secret input, read by the script from stdin; a
            # new password is a changed input, which runs the script again (pulumi-command runs
            # ``create`` again on an update when no ``update`` command is given).
            stdin=app_password.apply(lambda p: p + "\n") if app_password is not None else None,
            # Again when a member gets a new (empty) data volume, so the reconciler re-checks it.
            triggers=[args.replica_set_name, self.member_addresses, *[v for h in hosts for v in h.data_identity]],
            depends_on=list(self.containers),
        )

        user = args.app_user.user if args.app_user is not None else ROOT_USERNAME
        self.connection_string = pulumi.Output.secret(
            pulumi.Output.all(app_password if app_password is not None else password, self.member_addresses).apply(
                lambda values: connection_string(user, values[0], values[1], args.replica_set_name)
            )
        )
        # The props again: a live stack policy sees a component's outputs, not its inputs.
        self.register_outputs(
            {
                **props,
                "connectionString": self.connection_string,
                "memberAddresses": self.member_addresses,
                "caCertificate": self.ca_certificate,
            }
        )


def connection_string(
    user: str, password: str, members: Sequence[str], replica_set: str, *, tls: bool = True
) -> str:
    """A replica-set connection string that authenticates against ``admin`` (over TLS)."""
    return (
        f"mongodb://{user}:{password}@{','.join(members)}/"
        f"?replicaSet={replica_set}&authSource=admin" + ("&tls=true" if tls else "")
    )
