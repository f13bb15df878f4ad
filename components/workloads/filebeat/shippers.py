"""``LogShippers``: one Filebeat container on every host of every system in the stack.

Each reads its daemon's container logs read-only (``/var/lib/docker/containers``, bound ``:ro``),
and ships them to the collectors over mutual TLS with its own client certificate from the
logging CA. It runs as root because Docker writes those files 0640 root (Elastic's Filebeat
Docker docs run it with ``--user=root`` for the same reason:
https://www.elastic.co/guide/en/beats/filebeat/8.19/running-on-docker.html), but unprivileged,
with no added capability and no Docker socket. Its registry (read offsets) is a named Docker
volume, so a re-created container resumes where the old one stopped.

Shippers on the collectors' cloud send to their private addresses; shippers elsewhere send to
the public ones, always TLS: log traffic crossing a cloud boundary is never in clear text.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import pulumi
import pulumi_docker as docker

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY, host_address
from ...images import FILEBEAT_IMAGE
from ...naming import type_token
from ..pki import PrivateCa
from ..render_tls_files import SecretFile, render_tls_entrypoint
from .render_config import (
    CA_FILE,
    CERT_FILE,
    CONFIG_PATH,
    CONTAINERS_DIR,
    IMAGE_ENTRYPOINT,
    KEY_FILE,
    render_filebeat_yml,
)

ENTRYPOINT_PATH = "/usr/local/bin/rancher-stacks-entrypoint.sh"
CA_ENV, CERT_ENV, KEY_ENV = "RS_TLS_CA", "RS_TLS_CERT", "RS_TLS_KEY"


@dataclass
class ShippedHost:
    """A host to ship from, and which system and group it belongs to."""

    host: DockerHost
    system: str
    group: str
    cloud: str


@dataclass
class LogShippersArgs:
    hosts: list[ShippedHost]
    # (collector host, published Beats port).
    collectors: list[tuple[DockerHost, int]]
    collectors_cloud: str
    ca: PrivateCa
    image: str = FILEBEAT_IMAGE


class LogShippers(pulumi.ComponentResource):
    def __init__(self, name: str, args: LogShippersArgs, opts: Optional[pulumi.ResourceOptions] = None) -> None:
        if not args.collectors:
            raise ValueError("log shippers need collectors")
        props = {
            "hosts": [s.host.host_name for s in args.hosts],
            "systems": sorted({s.system for s in args.hosts}),
            "tls": "mutual",
        }
        super().__init__(type_token("LogShippers"), name, props, opts)
        entrypoint = render_tls_entrypoint(
            [
                SecretFile(CA_ENV, CA_FILE, "0400"),
                SecretFile(CERT_ENV, CERT_FILE, "0400"),
                SecretFile(KEY_ENV, KEY_FILE, "0400"),
            ]
        )

        def endpoints(advertise: str) -> pulumi.Output[list[str]]:
            return pulumi.Output.all(
                *[pulumi.Output.concat(host_address(h, advertise), f":{p}") for h, p in args.collectors]
            )

        private, public = endpoints("private"), endpoints("public")
        pulled: dict[str, docker.RemoteImage] = {}
        for shipped in args.hosts:
            host = shipped.host
            key = host.host_name
            cname = f"{name}-{key}"
            daemon = "local" if host.is_local else key
            if host.is_local and pulled.get(daemon) is not None:
                # One daemon, one set of log files: a single shipper reads them all.
                continue
            pulled[daemon] = docker.RemoteImage(
                f"{name}-{key}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self)
            )
            cert = args.ca.issue(
                f"{cname}-tls",
                host.host_name,
                self,
                addresses=pulumi.Output.all(host.public_address, host.private_address).apply(list),
                uses=["digital_signature", "client_auth"],
            )
            collectors = private if shipped.cloud == args.collectors_cloud else public

            def filebeat_yml(c: list[str], s: ShippedHost = shipped) -> str:
                system = s.system if not s.host.is_local else "local"
                return render_filebeat_yml(host=s.host.host_name, system=system, cloud=s.cloud, collectors=c)

            config = collectors.apply(filebeat_yml)
            registry = docker.Volume(f"{cname}-registry", name=f"{cname}-registry", opts=host.docker_opts(self))
            docker.Container(
                cname,
                name=cname,
                image=pulled[daemon].image_id,
                user="root",
                entrypoints=[ENTRYPOINT_PATH],
                command=IMAGE_ENTRYPOINT,
                envs=[
                    pulumi.Output.concat(f"{CA_ENV}=", args.ca.ca_certificate),
                    pulumi.Output.concat(f"{CERT_ENV}=", cert.cert_pem),
                    pulumi.Output.concat(f"{KEY_ENV}=", cert.private_key_pem),
                ],
                uploads=[
                    docker.ContainerUploadArgs(file=ENTRYPOINT_PATH, content=entrypoint, permissions="0755"),
                    # Filebeat refuses a config others may write (strict.perms): 0644, root.
                    docker.ContainerUploadArgs(file=CONFIG_PATH, content=config, permissions="0644"),
                ],
                volumes=[
                    docker.ContainerVolumeArgs(host_path=CONTAINERS_DIR, container_path=CONTAINERS_DIR, read_only=True),
                    docker.ContainerVolumeArgs(volume_name=registry.name, container_path="/usr/share/filebeat/data"),
                ],
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self), pulumi.ResourceOptions(additional_secret_outputs=["envs"])
                ),
            )
        self.register_outputs(props)
