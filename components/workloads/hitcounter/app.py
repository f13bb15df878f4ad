"""``HitCounterApp``: the hit-counter web app (``apps/hitcounter``), one container per host.

**Image.** The tag is a content hash of the build context, so an edit of the app is a new image
and a new container, and an unchanged app is no change at all.

* ``registry.kind: digitalocean``: a ``DigitalOceanRegistry`` child (any registry kind the
  clouds offer, through ``clouds.registry.make_image_registry``), and one
  ``docker.Image`` built for ``linux/amd64`` and pushed as
  ``registry.digitalocean.com/<registry>/hitcounter:<hash>``. The build runs on the daemon of
  the machine running ``pulumi up`` (Pulumi's default docker provider: ``DOCKER_HOST`` or the
  local socket), which needs Docker there. Each host then pulls the pushed digest with a
  ``docker.RemoteImage``.
* ``registry.kind: none`` (the local stack): the image is built with ``skip_push`` on each
  daemon that runs the app (once for all local hosts, which share one daemon).

**Registry authentication on the hosts.** The docker provider authenticates pulls with its own
``registry_auth``; images and containers have no credentials of their own, and a host's
``DockerHost.provider`` exists before the registry does. So, per host, the app gets a second
docker provider for the same daemon (same ``host`` and SSH options) whose ``registry_auth``
carries the registry's Docker config document (secret). Only the ``RemoteImage`` uses it; the
container runs on the host's own provider from the pulled image id. The credentials travel with
each pull request and are never written to a host's disk.

**Containers.** Environment ``MONGO_URL`` (secret: the container's ``envs`` are secret outputs)
and ``PORT``; with ``mongo_ca_certificate`` (the replica set's CA, a public certificate) it is
uploaded to :data:`MONGO_CA_PATH` (mode 0444: the app runs as an unprivileged user) and
``MONGO_TLS_CA_FILE`` names it, so the app verifies the members' TLS certificates (the
connection string carries ``tls=true``); ``restart: unless-stopped``; the app port published; a
health check on ``/healthcheck`` that ``pulumi up`` waits for; the container's hostname is its
name, so the page tells which host answered. On local hosts (one shared daemon) the n-th host
publishes ``port + n``, ``host.docker.internal`` maps to the daemon's gateway, and the backends
are ``host.docker.internal:<port>`` (what the balancer's container can reach).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import pulumi
import pulumi_docker as docker

from ...apps import app_dir
from ...clouds.registry import make_image_registry
from ...config import RegistrySettings
from ...hosts.dockerhost import DockerHost
from ...hosts.placement import (
    BUILD_PLATFORM,
    LOCAL_GATEWAY,
    Advertise,
    build_context,
    check_distinct_hosts,
    context_digest,
    host_address,
    published_ports,
)
from ...naming import type_token
from ...net.peer import PeerGroup
from ...net.rules import FromGroup, Rule
from ..haproxy.loadbalancer import Backend

APP_DIR = app_dir("hitcounter")
REPOSITORY = "hitcounter"
# Where the MongoDB CA certificate goes in each app container, and the variable naming it.
MONGO_CA_PATH = "/etc/hitcounter/mongo-ca.pem"
MONGO_CA_ENV = "MONGO_TLS_CA_FILE"
# The database the app keeps its counters in (MONGO_DB; apps/hitcounter's own default), and the
# MongoDB user it connects as: readWrite on that database only.
DATABASE = "hitcounter"
# gunicorn sync workers per container: gunicorn.conf.py's WEB_CONCURRENCY default (the containers
# leave it unset). Each serves one request at a time; the load balancer sends no more at once.
WORKERS = 2
APP_USER = "hitcounter"


def app_content_hash(app_dir: Path) -> str:
    """A sha256 over what a build of ``app_dir`` sends: its Dockerfile and what its .dockerignore
    admits (``context_digest``), so editing the README or compose.yaml beside it is no new image."""
    root = Path(app_dir)
    if not (root / "Dockerfile").is_file():
        raise ValueError(f"{root} has no Dockerfile; app_dir must be the hit counter's build context")
    return context_digest(root)


def app_ingress(lb: PeerGroup, port: int = 5000) -> list[Rule]:
    """Firewall rules of the web group: the app port, from the load balancer group only."""
    return [Rule("hitcounter", FromGroup(lb), f"the hit counter, from {lb.name} only", tcp_port=port)]


@dataclass
class HitCounterAppArgs:
    """Arguments of ``HitCounterApp``."""

    # One container per host; 2 or more distinct hosts.
    hosts: list[DockerHost]
    # The MongoDB connection string (secret), e.g. MongoReplicaSet.connection_string.
    mongo_url: pulumi.Input[str]
    port: int = 5000
    registry: RegistrySettings = field(default_factory=RegistrySettings)
    app_dir: Path = APP_DIR
    # DigitalOcean region of the registry (one that hosts registries); None: DO's default.
    registry_region: Optional[str] = None
    # The host address the backends list for the load balancer.
    advertise: Advertise = "public"
    # The CA certificate (PEM) the MongoDB members' TLS certificates are signed by, e.g.
    # MongoReplicaSet.ca_certificate. None: no CA file, the driver's defaults apply.
    mongo_ca_certificate: Optional[pulumi.Input[str]] = None


class HitCounterApp(pulumi.ComponentResource):
    """The hit-counter app on several Docker hosts, ready to sit behind a load balancer."""

    backends: list[Backend]
    """(host name, address, published port) of each container, in the order of ``hosts``."""
    image_name: pulumi.Output[str]
    """The image the containers run (a registry digest, or the local ``hitcounter:<hash>``)."""

    def __init__(
        self, name: str, args: HitCounterAppArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        hosts = list(args.hosts)
        check_distinct_hosts(hosts, "app replicas")
        if len(hosts) < 2:
            raise ValueError(
                f"the app needs at least 2 replicas on distinct hosts behind the load balancer; "
                f"got {len(hosts)}"
            )
        if not 1 <= args.port <= 65535:
            raise ValueError(f"app port must be from 1 to 65535; got {args.port}")
        tag = app_content_hash(args.app_dir)[:16]
        context = build_context(args.app_dir)
        addresses = [host_address(h, args.advertise) for h in hosts]
        super().__init__(
            type_token("HitCounterApp"),
            name,
            {
                "replicas": len(hosts),
                "hosts": [h.host_name for h in hosts],
                "port": args.port,
                "registry": args.registry.kind,
            },
            opts,
        )

        images: dict[str, pulumi.Output[str]] = {}
        if args.registry.kind != "none":
            # The registry's cloud SDK is an optional extra, imported only for that kind.
            registry = make_image_registry(
                f"{name}-registry", args.registry, args.registry_region, pulumi.ResourceOptions(parent=self)
            )
            pushed = docker.Image(
                f"{name}-image",
                image_name=pulumi.Output.concat(registry.endpoint, f"/{REPOSITORY}:{tag}"),
                build=docker.DockerBuildArgs(context=context, platform=BUILD_PLATFORM),
                registry=docker.RegistryArgs(
                    server=registry.server,
                    username=registry.username,
                    password=registry.password,
                ),
                opts=pulumi.ResourceOptions(parent=self),
            )
            self.image_name = pushed.repo_digest
            for host in hosts:
                puller = docker.Provider(
                    f"{name}-{host.host_name}-pull",
                    host=host.provider.host,
                    ssh_opts=host.ssh_opts,
                    registry_auth=[
                        docker.ProviderRegistryAuthArgs(
                            address=registry.server, config_file_content=registry.docker_config
                        )
                    ],
                    opts=pulumi.ResourceOptions(parent=self, depends_on=[host.ready]),
                )
                pulled = docker.RemoteImage(
                    f"{name}-{host.host_name}-image",
                    name=pushed.repo_digest,
                    opts=pulumi.ResourceOptions(parent=self, provider=puller),
                )
                images[host.host_name] = pulled.image_id
        else:
            built: dict[str, pulumi.Output[str]] = {}
            for host in hosts:
                daemon = "local" if host.is_local else host.host_name
                if daemon not in built:
                    image = docker.Image(
                        f"{name}-{host.host_name}-image",
                        image_name=f"{REPOSITORY}:{tag}",
                        build=docker.DockerBuildArgs(context=context),
                        skip_push=True,
                        opts=host.docker_opts(self),
                    )
                    built[daemon] = image.image_name
                images[host.host_name] = built[daemon]
            self.image_name = pulumi.Output.from_input(f"{REPOSITORY}:{tag}")

        mongo_url = pulumi.Output.secret(args.mongo_url)
        health = (
            "import urllib.request; "
            f"urllib.request.urlopen('http://127.0.0.1:{args.port}/healthcheck', timeout=3)"
        )
        envs: list[pulumi.Input[str]] = [
            pulumi.Output.concat("MONGO_URL=", mongo_url),
            f"MONGO_DB={DATABASE}",
            f"PORT={args.port}",
        ]
        uploads: Optional[list[docker.ContainerUploadArgs]] = None
        if args.mongo_ca_certificate is not None:
            envs.append(f"{MONGO_CA_ENV}={MONGO_CA_PATH}")
            uploads = [
                docker.ContainerUploadArgs(
                    file=MONGO_CA_PATH, content=args.mongo_ca_certificate, permissions="0444"
                )
            ]
        self.backends = []
        self.containers: list[docker.Container] = []
        ports = published_ports(hosts, args.port)
        for host, address, external in zip(hosts, addresses, ports, strict=True):
            container_name = f"{name}-{host.host_name}"
            container = docker.Container(
                container_name,
                name=container_name,
                # The page and /healthcheck name the container that answered: make it the host.
                hostname=container_name,
                image=images[host.host_name],
                envs=envs,
                uploads=uploads,
                ports=[docker.ContainerPortArgs(internal=args.port, external=external)],
                healthcheck=docker.ContainerHealthcheckArgs(
                    tests=["CMD", "python", "-c", health],
                    interval="10s",
                    timeout="5s",
                    start_period="10s",
                    retries=3,
                ),
                wait=True,
                wait_timeout=120,
                hosts=[LOCAL_GATEWAY] if host.is_local else None,
                restart="unless-stopped",
                opts=pulumi.ResourceOptions.merge(
                    host.docker_opts(self),
                    pulumi.ResourceOptions(
                        additional_secret_outputs=["envs"], delete_before_replace=True
                    ),
                ),
            )
            self.containers.append(container)
            self.backends.append(Backend(host.host_name, address, external))

        self.register_outputs(
            {
                "imageName": self.image_name,
                "backends": [
                    {"name": b.name, "address": b.address, "port": b.port} for b in self.backends
                ],
            }
        )
