"""``haproxy.cfg`` for the web tier: one HTTP frontend, one health-checked backend.

A pure function from plain values to text. The output is valid for HAProxy 2.2 and later
(the official ``haproxy:3.0.x`` images included): the health check uses the ``http-check send``
form, which replaced the ``option httpchk METHOD URI`` arguments.

* ``balance`` is one of :data:`ALGORITHMS`; ``source`` also gets ``hash-type consistent`` so
  that adding or removing a backend remaps as few clients as possible.
* Every server is checked every 2 s with ``GET <health_path>``; 2 good answers bring it in,
  3 failures take it out.
* The optional statistics page binds inside the container only; the component publishes it on
  the host's loopback, so it is reachable through an SSH tunnel and never from the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

ALGORITHMS: tuple[str, ...] = ("roundrobin", "leastconn", "source")
CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"

_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,62}$")
# A DNS name or an IPv4 literal: what DockerHost addresses are.
_ADDRESS = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$")
_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]*$")


@dataclass(frozen=True)
class Server:
    """One backend server: a unique name, and where HAProxy reaches it."""

    name: str
    address: str
    port: int

    def __post_init__(self) -> None:
        if not _SERVER_NAME.match(self.name):
            raise ValueError(
                f"server name {self.name!r}: use letters, digits, '_', '.', ':' or '-' (at most 63)"
            )
        if not _ADDRESS.match(self.address):
            raise ValueError(
                f"server {self.name}: address {self.address!r} is not a host name or IPv4 address"
            )
        _check_port(f"server {self.name} port", self.port)


def _check_port(what: str, port: int) -> None:
    if not (isinstance(port, int) and 1 <= port <= 65535):
        raise ValueError(f"{what} must be an integer from 1 to 65535; got {port!r}")


def check_settings(
    algorithm: str,
    health_path: str,
    public_port: int,
    server_names: Sequence[str],
    stats_port: Optional[int] = None,
) -> None:
    """Raise ``ValueError`` for settings :func:`render_haproxy_cfg` would reject.

    Callers that only learn the server addresses later (Pulumi outputs) call this up front, so
    a bad setting fails the program before anything is registered.
    """
    if algorithm not in ALGORITHMS:
        raise ValueError(
            f"load balancing algorithm {algorithm!r} is not supported; use one of "
            f"{', '.join(ALGORITHMS)}"
        )
    if not _PATH.match(health_path):
        raise ValueError(f"health check path {health_path!r} must start with '/' and hold no spaces")
    _check_port("public port", public_port)
    if stats_port is not None:
        _check_port("stats port", stats_port)
        if stats_port == public_port:
            raise ValueError(f"stats port {stats_port} collides with the public port")
    if not server_names:
        raise ValueError("the load balancer needs at least one backend server")
    for name in server_names:
        if not _SERVER_NAME.match(name):
            raise ValueError(
                f"server name {name!r}: use letters, digits, '_', '.', ':' or '-' (at most 63)"
            )
    repeated = sorted({n for n in server_names if list(server_names).count(n) > 1})
    if repeated:
        raise ValueError(f"server names must be unique; repeated: {', '.join(repeated)}")


def render_haproxy_cfg(
    servers: Sequence[Server],
    algorithm: str,
    health_path: str = "/healthcheck",
    public_port: int = 80,
    *,
    stats_port: Optional[int] = None,
    check_interval: str = "2s",
    rise: int = 2,
    fall: int = 3,
    max_connections: int = 4096,
) -> str:
    """The complete ``haproxy.cfg`` balancing HTTP on ``public_port`` over ``servers``."""
    check_settings(algorithm, health_path, public_port, [s.name for s in servers], stats_port)
    if not re.match(r"^[1-9][0-9]*(ms|s|m)?$", check_interval):
        raise ValueError(f"check interval {check_interval!r} must look like 2s or 500ms")
    if rise < 1 or fall < 1 or max_connections < 1:
        raise ValueError("rise, fall and max_connections must be positive")

    balance = [f"    balance {algorithm}"]
    if algorithm == "source":
        balance.append("    hash-type consistent")
    check = f"check inter {check_interval} rise {rise} fall {fall}"
    server_lines = [f"    server {s.name} {s.address}:{s.port} {check}" for s in servers]

    lines = [
        "# Rendered by rancher-stacks (components/render/haproxy.py); do not edit by hand.",
        "global",
        "    log stdout format raw local0 info",
        f"    maxconn {max_connections}",
        "",
        "defaults",
        "    mode http",
        "    log global",
        "    option httplog",
        "    option dontlognull",
        "    option forwardfor",
        "    option redispatch",
        "    retries 2",
        "    timeout connect 5s",
        "    timeout client 30s",
        "    timeout server 30s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 5s",
        # A backend name that does not resolve at start (the local stack's host.docker.internal
        # outside a container, a DNS hiccup) leaves that server down instead of failing start-up.
        "    default-server init-addr libc,none",
        "",
        "frontend public",
        f"    bind :{public_port}",
        "    default_backend app",
        "",
        "backend app",
        *balance,
        "    option httpchk",
        f"    http-check send meth GET uri {health_path}",
        "    http-check expect status 200",
        *server_lines,
    ]
    if stats_port is not None:
        lines += [
            "",
            "frontend stats",
            f"    bind :{stats_port}",
            "    stats enable",
            "    stats uri /",
            "    stats refresh 10s",
            "    stats show-legends",
        ]
    return "\n".join(lines) + "\n"
