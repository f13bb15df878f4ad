"""``DockerHost``: the handle the workload layer gets for one Docker daemon.

Pulumi reaches a RancherOS host's daemon over SSH (``ssh://rancher@<ip>``), never over TCP:
port 22 is the only management port, open to the admin CIDRs only, and no daemon certificates
have to be generated, rotated or kept. The SSH key must be loadable by the machine running
``pulumi up`` (ssh-agent), because both the docker provider and the ``command`` provider use it.

For the ``local`` stack the handle points at the local daemon's socket and bootstrap commands
run on the local machine instead of over SSH.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal, Mapping, Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from components import type_token

LOCAL_DOCKER_HOST = "unix:///var/run/docker.sock"
# How the docker CLI behind a provider talks to a remote daemon over SSH.
SSH_OPTS = ["-o", "StrictHostKeyChecking=accept-new", "-o", "ServerAliveInterval=15"]

# Which address other hosts use to reach a host.
Advertise = Literal["public", "private"]
# Containers on the local daemon reach ports published on that machine through the daemon's
# gateway, never through 127.0.0.1 (inside a container that is the container itself). Every local
# container maps this name to the gateway (Docker 20.10+), and local hosts advertise it.
LOCAL_GATEWAY_NAME = "host.docker.internal"
LOCAL_GATEWAY = docker.ContainerHostArgs(host=LOCAL_GATEWAY_NAME, ip="host-gateway")

# The daemon can start a little after sshd; wait for it (bounded) before anything uses it.
WAIT_FOR_DOCKER = (
    "i=0; until docker info >/dev/null 2>&1; do "
    "i=$((i+1)); if [ \"$i\" -ge 60 ]; then echo 'docker did not start' >&2; exit 1; fi; "
    "sleep 5; done"
)


def wait_for_mount(path: str) -> str:
    """sh that waits (bounded) until ``path`` is a mount point."""
    pattern = shlex.quote(f" {path} ")
    return (
        f"i=0; until grep -qs {pattern} /proc/mounts; do "
        "i=$((i+1)); if [ \"$i\" -ge 120 ]; then "
        f"echo {shlex.quote(path + ' is not mounted')} >&2; exit 1; fi; sleep 5; done"
    )


@dataclass(frozen=True)
class FailureDomain:
    """Where a host can fail together with others: cloud, region, zone."""

    cloud: str
    region: str
    zone: str

    def __str__(self) -> str:
        return f"{self.cloud}/{self.region}/{self.zone}"


@dataclass
class SshSettings:
    """How Pulumi logs in to hosts. ``private_key`` None means: use the SSH agent."""

    user: str = "rancher"
    private_key: Optional[pulumi.Input[str]] = None


@dataclass
class DockerHostArgs:
    """Arguments of ``DockerHost``."""

    domain: FailureDomain
    public_address: pulumi.Input[str]
    private_address: pulumi.Input[str]
    # Where stateful data lives on the host (the mounted data volume, if any).
    data_dir: str = "/mnt/data"
    # None: the local daemon (``docker_host`` is used, commands run locally).
    ssh: Optional[SshSettings] = None
    docker_host: str = LOCAL_DOCKER_HOST
    # Resources the daemon is not usable before (the instance, the data volume attachment).
    depends_on: Sequence[pulumi.Resource] = field(default_factory=list)
    # Remote hosts only: also wait (bounded) until ``data_dir`` is a mount point, so nothing is
    # ever written to the root disk when the data volume failed to mount.
    require_data_mount: bool = False


class DockerHost(pulumi.ComponentResource):
    """One Docker daemon: a docker provider for it, and a way to run commands next to it."""

    public_address: pulumi.Output[str]
    private_address: pulumi.Output[str]

    def __init__(
        self, name: str, args: DockerHostArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        super().__init__(
            type_token("DockerHost"),
            name,
            {
                "cloud": args.domain.cloud,
                "region": args.domain.region,
                "zone": args.domain.zone,
                "remote": args.ssh is not None,
            },
            opts,
        )
        self.host_name = name
        self.domain = args.domain
        self.data_dir = args.data_dir
        self.public_address = pulumi.Output.from_input(args.public_address)
        self.private_address = pulumi.Output.from_input(args.private_address)
        self.ssh = args.ssh
        self.connection: Optional[command.remote.ConnectionArgs] = None
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))

        if args.ssh is None:
            self.provider = docker.Provider(f"{name}-docker", host=args.docker_host, opts=child)
            self.ready: pulumi.Resource = self.provider
        else:
            self.connection = command.remote.ConnectionArgs(
                host=self.public_address,
                user=args.ssh.user,
                private_key=args.ssh.private_key,
                dial_error_limit=30,
            )
            self.ready = command.remote.Command(
                f"{name}-wait-docker",
                connection=self.connection,
                create=(
                    f"{WAIT_FOR_DOCKER} && {wait_for_mount(args.data_dir)}"
                    if args.require_data_mount
                    else WAIT_FOR_DOCKER
                ),
                opts=child,
            )
            self.provider = docker.Provider(
                f"{name}-docker",
                host=pulumi.Output.concat("ssh://", args.ssh.user, "@", self.public_address, ":22"),
                ssh_opts=SSH_OPTS,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.ready]),
            )

        self.register_outputs(
            {"publicAddress": self.public_address, "privateAddress": self.private_address}
        )

    @property
    def is_local(self) -> bool:
        return self.ssh is None

    def docker_opts(
        self, parent: pulumi.Resource, depends_on: Sequence[pulumi.Resource] = ()
    ) -> pulumi.ResourceOptions:
        """Options for a docker resource on this daemon, parented to a workload component."""
        return pulumi.ResourceOptions(
            parent=parent, provider=self.provider, depends_on=[self.ready, *depends_on]
        )

    def run(
        self,
        name: str,
        script: pulumi.Input[str],
        parent: pulumi.Resource,
        *,
        environment: Optional[Mapping[str, pulumi.Input[str]]] = None,
        triggers: Optional[Sequence[pulumi.Input[object]]] = None,
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> pulumi.Resource:
        """Run ``script`` (sh) where this daemon's ``docker`` CLI works: over SSH, or locally.

        ``triggers`` re-run the script when they change (e.g. the member set of a cluster).
        """
        opts = pulumi.ResourceOptions(parent=parent, depends_on=[self.ready, *depends_on])
        if self.connection is None:
            return command.local.Command(
                name,
                create=script,
                interpreter=["/bin/sh", "-c"],
                environment={"DOCKER_HOST": LOCAL_DOCKER_HOST, **(environment or {})},
                triggers=list(triggers or []),
                opts=opts,
            )
        return command.remote.Command(
            name,
            connection=self.connection,
            create=script,
            environment=dict(environment or {}),
            triggers=list(triggers or []),
            opts=opts,
        )


# --------------------------------------------------------------------------- placement helpers


def published_ports(hosts: Sequence[DockerHost], port: int) -> list[int]:
    """The host port each host's container publishes ``port`` on.

    Remote hosts each have their own daemon and use ``port``; local hosts share one daemon, so
    the n-th local host uses ``port + n``.
    """
    ports, local = [], 0
    for host in hosts:
        if host.is_local:
            ports.append(port + local)
            local += 1
        else:
            ports.append(port)
    return ports


def check_distinct_hosts(hosts: Sequence[DockerHost], what: str) -> None:
    """``ValueError`` when a host appears twice in ``hosts`` (by object or by name)."""
    names = [h.host_name for h in hosts]
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"{what} must run on distinct hosts; repeated: {', '.join(repeated)}")


def host_address(host: DockerHost, advertise: str) -> pulumi.Output[str]:
    """The address of ``host`` that containers elsewhere use: its public or private address.

    A local host is always ``host.docker.internal``: the other containers run on the same daemon.
    """
    if advertise not in ("public", "private"):
        raise ValueError(f"advertise must be 'public' or 'private'; got {advertise!r}")
    if host.is_local:
        return pulumi.Output.from_input(LOCAL_GATEWAY_NAME)
    return host.public_address if advertise == "public" else host.private_address


def build_context(app_dir: Path) -> str:
    """``app_dir`` relative to the working directory when inside it (``pulumi up`` runs in the
    project directory), so that plans and state do not depend on where the checkout lives."""
    path = Path(app_dir).resolve()
    try:
        return path.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(path)
