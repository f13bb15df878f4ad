"""``LoadBalancer``: HAProxy in front of the web tier, with HTTP health checks.

The official ``haproxy`` image runs with ``render_config``'s configuration uploaded
to ``/usr/local/etc/haproxy/haproxy.cfg`` before the container starts. The configuration is
rendered once the backend addresses are known (``Output.all(...).apply(render)``); a docker
``upload`` forces a new container, so any change of the backends, algorithm or health path
replaces the balancer (the old container is removed first: name and port are fixed).

**Port 80.** Since 2.4 the image runs HAProxy as the unprivileged ``haproxy`` user, which may not
bind ports below 1024. The container gets the namespaced sysctl
``net.ipv4.ip_unprivileged_port_start=0`` instead of running as root: HAProxy keeps its
unprivileged user and only the container's own network namespace is affected (kernel 4.11+,
which RancherOS 1.5's 4.14 kernel is).

**Statistics.** The stats page (``stats_port``, default 8404) is published on the host's
loopback only: reach it with ``ssh -L 8404:127.0.0.1:8404 rancher@<lb>`` and open
``http://127.0.0.1:8404/``. ``stats_port=None`` leaves it out.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Optional, Sequence

import pulumi
import pulumi_docker as docker

from ...hosts.dockerhost import DockerHost
from ...hosts.placement import LOCAL_GATEWAY
from ...images import HAPROXY_IMAGE
from ...naming import type_token
from ...net.rules import WORLD, Rule
from .render_config import CONFIG_PATH, TLS_PEM_PATH, Server, check_settings, render_haproxy_cfg


class Backend(NamedTuple):
    """One backend: a server name (its host name), the address the balancer uses, the port."""

    name: str
    address: pulumi.Input[str]
    port: int


def lb_ingress(public_port: int = 80) -> list[Rule]:
    """Firewall rules of the load balancer's group: HTTP from anywhere."""
    return [Rule("http", WORLD, "the web site, through the load balancer", tcp_port=public_port)]


@dataclass
class LoadBalancerArgs:
    """Arguments of ``LoadBalancer``."""

    host: DockerHost
    backends: list[Backend]
    algorithm: str = "roundrobin"
    image: str = HAPROXY_IMAGE
    public_port: int = 80
    health_path: str = "/healthcheck"
    # Published on the host's 127.0.0.1 only; None: no statistics page.
    stats_port: Optional[int] = 8404
    # Requests in flight per backend at most (its worker count); None: unlimited.
    server_maxconn: Optional[int] = None
    # HTTPS on the public port: the certificate chain and key in one PEM (a secret); None: HTTP.
    tls_pem: Optional[pulumi.Input[str]] = None


def balancer_config(
    backends: Sequence[Backend],
    addresses: Sequence[str],
    *,
    algorithm: str,
    health_path: str,
    public_port: int,
    stats_port: Optional[int],
    server_maxconn: Optional[int] = None,
    tls: bool = False,
) -> str:
    """The ``haproxy.cfg`` the component uploads, once the backends' addresses are known.

    The one place that maps the component's arguments onto ``render_haproxy_cfg``: the
    load-balancer drill (tools/drills/lb.py) renders its file through this function too, so the
    file under test is the shipped one with only the addresses (and the bind lines) changed.
    """
    servers = [Server(b.name, a, b.port) for b, a in zip(backends, addresses, strict=True)]
    return render_haproxy_cfg(
        servers,
        algorithm,
        health_path,
        public_port,
        stats_port=stats_port,
        server_maxconn=server_maxconn,
        tls_pem_path=TLS_PEM_PATH if tls else None,
    )


class LoadBalancer(pulumi.ComponentResource):
    """An HAProxy container balancing HTTP over health-checked backends."""

    url: pulumi.Output[str]
    """``http://<public address>/`` (the port is added when it is not 80), or ``https://`` with
    ``tls_pem`` (the port added when it is not 443)."""
    config: pulumi.Output[str]
    """The rendered ``haproxy.cfg``."""

    def __init__(
        self, name: str, args: LoadBalancerArgs, opts: Optional[pulumi.ResourceOptions] = None
    ) -> None:
        names = [b.name for b in args.backends]
        check_settings(args.algorithm, args.health_path, args.public_port, names, args.stats_port)
        for backend in args.backends:
            Server(backend.name, "placeholder", backend.port)  # validates name and port now
        props = {
            "algorithm": args.algorithm,
            "backends": names,
            "healthCheckPath": args.health_path,
            "publicPort": args.public_port,
        }
        if args.server_maxconn is not None:
            props["serverMaxconn"] = args.server_maxconn
        tls = args.tls_pem is not None
        if tls:
            props["tls"] = True
        super().__init__(type_token("LoadBalancer"), name, props, opts)
        host = args.host
        backends = list(args.backends)

        def render(addresses: list[str]) -> str:
            return balancer_config(
                backends,
                addresses,
                algorithm=args.algorithm,
                health_path=args.health_path,
                public_port=args.public_port,
                stats_port=args.stats_port,
                server_maxconn=args.server_maxconn,
                tls=tls,
            )

        self.config = pulumi.Output.all(*[b.address for b in backends]).apply(render)

        image = docker.RemoteImage(
            f"{name}-image", name=args.image, keep_locally=True, opts=host.docker_opts(self)
        )
        ports = [docker.ContainerPortArgs(internal=args.public_port, external=args.public_port)]
        if args.stats_port is not None:
            ports.append(
                docker.ContainerPortArgs(
                    internal=args.stats_port, external=args.stats_port, ip="127.0.0.1"
                )
            )
        uploads = [docker.ContainerUploadArgs(file=CONFIG_PATH, content=self.config)]
        if args.tls_pem is not None:
            # Readable by the image's unprivileged haproxy user; the container runs nothing else.
            # A secret input: the engine keeps the same-named output secret too.
            uploads.append(
                docker.ContainerUploadArgs(
                    file=TLS_PEM_PATH, content=pulumi.Output.secret(args.tls_pem), permissions="0444"
                )
            )
        self.container = docker.Container(
            f"{name}-haproxy",
            name=f"{name}-haproxy",
            image=image.image_id,
            uploads=uploads,
            ports=ports,
            sysctls={"net.ipv4.ip_unprivileged_port_start": "0"},
            hosts=[LOCAL_GATEWAY] if host.is_local else None,
            restart="unless-stopped",
            opts=pulumi.ResourceOptions.merge(
                host.docker_opts(self),
                pulumi.ResourceOptions(delete_before_replace=True),
            ),
        )
        scheme, default_port = ("https", 443) if tls else ("http", 80)
        suffix = "/" if args.public_port == default_port else f":{args.public_port}/"
        self.url = pulumi.Output.concat(f"{scheme}://", host.public_address, suffix)
        # The props again: a live stack policy sees a component's outputs, not its inputs.
        self.register_outputs({**props, "url": self.url, "config": self.config})
