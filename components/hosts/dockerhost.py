"""``DockerHost``: the handle the workload layer gets for one Docker daemon.

Pulumi reaches a RancherOS-family host's daemon over SSH (``ssh://rancher@<ip>``), never over
TCP: port 22 is the only management port, open to the admin CIDRs only, and no daemon
certificates have to be generated, rotated or kept. The login key comes from ssh-agent, or from
``sshPrivateKey`` (handed to pulumi-command as a string and to the docker provider's ``ssh`` as a
0600 file); both clients are pinned to the host key read once after first boot (``render_ssh``).
Stateful directories on the data volume are bound so that nothing starts on the root disk when
the volume is missing (``data_binds``).

For the ``local`` stack the handle points at the local daemon's socket and bootstrap commands
run on the local machine instead of over SSH.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Optional, Sequence

import pulumi
import pulumi_command as command
import pulumi_docker as docker

from ..clouds.base import FailureDomain, SshSettings
from ..clouds.disk import DataDisk
from ..naming import type_token
from .render_data_dirs import render_data_dirs, wait_for_mount
from .render_grow_data import grow_data_script
from .render_ssh import (
    DIAL_ERROR_LIMIT,
    PER_DIAL_TIMEOUT,
    docker_ssh_opts,
    known_hosts_line,
    parse_host_key,
    render_keyscan,
)
from .ssh_files import ssh_path, write_private

__all__ = ["LOCAL_DOCKER_HOST", "DataVolumeWatch", "DockerHost", "DockerHostArgs", "FailureDomain", "SshSettings"]

LOCAL_DOCKER_HOST = "unix:///var/run/docker.sock"


# The daemon can start a little after sshd; wait for it (bounded) before anything uses it.
WAIT_FOR_DOCKER = (
    "i=0; until docker info >/dev/null 2>&1; do "
    "i=$((i+1)); if [ \"$i\" -ge 60 ]; then echo 'docker did not start' >&2; exit 1; fi; "
    "sleep 5; done"
)


@dataclass
class DataBinds:
    """What ``DockerHost.data_binds`` gives a container: its binds and what they wait for."""

    volumes: list[docker.ContainerVolumeArgs]
    mounts: list[docker.ContainerMountArgs]
    ready: list[pulumi.Resource]


@dataclass
class DataVolumeWatch:
    """What a host checks (and grows) whenever its data volume changes."""

    volume_id: pulumi.Input[str]
    disk: pulumi.Input[DataDisk]
    size_gb: int


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
    # What identifies the machine (its instance id): a new machine has a new host key to read.
    host_identity: Sequence[pulumi.Input[str]] = field(default_factory=list)
    # Remote hosts with a data volume: which volume is attached, where it shows up, its size.
    data_volume: Optional[DataVolumeWatch] = None



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
        self.require_data_mount = args.ssh is not None and args.require_data_mount
        # The data volume's id: workloads re-run their bootstrap when it changes (a new, empty
        # volume), as the host re-creates the data directories on it.
        self.data_identity: list[pulumi.Input[str]] = []
        self.data_ready: list[pulumi.Resource] = []
        self.public_address = pulumi.Output.from_input(args.public_address)
        self.private_address = pulumi.Output.from_input(args.private_address)
        self.ssh = args.ssh
        self.connection: Optional[command.remote.ConnectionArgs] = None
        self.host_key: Optional[pulumi.Output[str]] = None
        self.ssh_opts: Optional[pulumi.Output[list[str]]] = None
        child = pulumi.ResourceOptions(parent=self, depends_on=list(args.depends_on))

        if args.ssh is None:
            self.provider = docker.Provider(f"{name}-docker", host=args.docker_host, opts=child)
            self.ready: pulumi.Resource = self.provider
        else:
            # The host key, read once after first boot and kept in state (render_ssh explains why
            # it is not generated here); re-read when the machine is replaced.
            self.host_key_scan = command.local.Command(
                f"{name}-host-key",
                create=self.public_address.apply(render_keyscan),
                interpreter=["/bin/sh", "-c"],
                triggers=[self.public_address, *args.host_identity],
                opts=child,
            )
            self.host_key = self.host_key_scan.stdout.apply(parse_host_key)
            self.connection = command.remote.ConnectionArgs(
                host=self.public_address,
                user=args.ssh.user,
                private_key=args.ssh.private_key,
                host_key=self.host_key,
                dial_error_limit=DIAL_ERROR_LIMIT,
                per_dial_timeout=PER_DIAL_TIMEOUT,
            )
            self.ssh_opts = self._ssh_opts(name, args.ssh)
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
                ssh_opts=self.ssh_opts,
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.ready]),
            )
            if args.data_volume is not None:
                self._watch_data_volume(name, args.data_volume)

        self.register_outputs(
            {"publicAddress": self.public_address, "privateAddress": self.private_address}
        )

    def _watch_data_volume(self, name: str, watch: DataVolumeWatch) -> None:
        """Check the mounted volume is the attached one and grow its filesystem, whenever the
        volume or its size changes (``render_grow_data``)."""
        size_gb = watch.size_gb
        self.data_identity = [watch.volume_id]
        self.data_ready = [
            command.remote.Command(
                f"{name}-data-check",
                connection=self.connection,
                create=pulumi.Output.from_input(watch.disk).apply(
                    lambda disk: "sudo sh -c " + shlex.quote(grow_data_script(disk, size_gb))
                ),
                triggers=[watch.volume_id, size_gb],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.ready]),
            )
        ]

    def _ssh_opts(self, name: str, ssh: SshSettings) -> pulumi.Output[list[str]]:
        """The docker provider's ssh options, once the files they name are written."""
        project, stack = pulumi.get_project(), pulumi.get_stack()
        known_hosts = pulumi.Output.all(self.public_address, self.host_key).apply(
            lambda values: write_private(
                ssh_path(project, stack, "known_hosts", name), known_hosts_line(values[0], values[1])
            )
        )
        if ssh.private_key is None:
            return known_hosts.apply(docker_ssh_opts)
        identity = pulumi.Output.secret(ssh.private_key).apply(
            lambda key: write_private(ssh_path(project, stack, "id"), key)
        )
        # The path is no secret; the file's content stays out of the state.
        return pulumi.Output.all(known_hosts, pulumi.Output.unsecret(identity)).apply(
            lambda paths: docker_ssh_opts(paths[0], paths[1])
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

    def data_binds(
        self,
        name: str,
        parent: pulumi.Resource,
        binds: Sequence[tuple[str, str]],
        depends_on: Sequence[pulumi.Resource] = (),
    ) -> DataBinds:
        """Bind ``(host path, container path)`` pairs of stateful data into a container.

        On a host whose data lives on a mounted volume the directories are created once, after
        the mount is confirmed, and bound with the mounts API (``type=bind``), which Docker never
        creates on the root disk: if the volume is not mounted at a reboot, the container stays
        down instead of writing state to the root disk. Elsewhere (the local daemon, hosts
        without a volume) they are plain ``-v`` binds that Docker creates.
        """
        if not self.require_data_mount:
            volumes = [docker.ContainerVolumeArgs(host_path=h, container_path=c) for h, c in binds]
            return DataBinds(volumes=volumes, mounts=[], ready=list(depends_on))
        created = self.run(
            name,
            render_data_dirs(self.data_dir, [h for h, _ in binds]),
            parent,
            # Again on a new volume: it comes up empty.
            triggers=self.data_identity,
            depends_on=[*self.data_ready, *depends_on],
        )
        mounts = [docker.ContainerMountArgs(type="bind", source=h, target=c) for h, c in binds]
        return DataBinds(volumes=[], mounts=mounts, ready=[created])

    def run(
        self,
        name: str,
        script: pulumi.Input[str],
        parent: pulumi.Resource,
        *,
        triggers: Optional[Sequence[pulumi.Input[object]]] = None,
        depends_on: Sequence[pulumi.Resource] = (),
        stdin: Optional[pulumi.Input[str]] = None,
        secret_stdout: bool = False,
    ) -> command.local.Command | command.remote.Command:
        """Run ``script`` (sh) where this daemon's ``docker`` CLI works: over SSH, or locally.

        ``triggers`` re-run the script when they change (e.g. the member set of a cluster).
        There is deliberately no ``environment``: RancherOS-family sshd accepts no client
        variables and pulumi-command fails a command whose ``Setenv`` is refused, and a secret
        must not travel that way anyway. A script that needs a secret reads it where it already
        is (a container's own environment, through ``docker exec``), or from ``stdin`` (a secret
        input of the command, written to the script's standard input). ``secret_stdout`` marks
        what the script prints as a secret (a credential it fetched), in state and in plans.
        """
        opts = pulumi.ResourceOptions(
            parent=parent,
            depends_on=[self.ready, *depends_on],
            additional_secret_outputs=["stdout"] if secret_stdout else None,
        )
        if self.connection is None:
            return command.local.Command(
                name,
                create=script,
                interpreter=["/bin/sh", "-c"],
                environment={"DOCKER_HOST": LOCAL_DOCKER_HOST},
                triggers=list(triggers or []),
                stdin=stdin,
                opts=opts,
            )
        return command.remote.Command(
            name,
            connection=self.connection,
            create=script,
            triggers=list(triggers or []),
            stdin=stdin,
            opts=opts,
        )
