"""``haproxy.cfg`` for the web tier: one HTTP frontend, one health-checked backend.

A pure function from plain values to text. The output is valid for HAProxy 2.2 and later
(the official ``haproxy:3.0.x`` images included): the health check uses the ``http-check send``
form, which replaced the ``option httpchk METHOD URI`` arguments.

* ``balance`` is one of :data:`ALGORITHMS`; ``source`` also gets ``hash-type consistent`` so
  that adding or removing a backend remaps as few clients as possible.
* Every server is checked every second with ``GET <health_path>`` (1 s to answer); 2 good
  answers bring it in, 2 failures take it out, and so do 5 failed answers in a row to real
  requests. A server holds at most ``server_maxconn`` requests (its worker count), so a hung one
  traps only those. Connection failures are retried on another server; nothing that reached an
  application is retried (the hit counter's GET is not idempotent).
* Connections to the servers stay HAProxy's default (keep-alive): the hit counter's gunicorn sync
  workers close every connection after one answer themselves (gunicorn/workers/sync.py,
  ``resp.force_close()``), so ``option http-server-close`` would change nothing.
* The load-balancer drill (``python -m tools.drills lb``) measures what these settings save.

"Manual" below is the HAProxy 3.0 Configuration Manual
(https://docs.haproxy.org/3.0/configuration.html); every keyword used is also in 2.6's (Debian's
``/usr/share/doc/haproxy/configuration.txt.gz``), which the tests' ``haproxy -c`` runs.
* The optional statistics page binds inside the container only; the component publishes it on
  the host's loopback, so it is reachable through an SSH tunnel and never from the network.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional, Sequence

ALGORITHMS: tuple[str, ...] = ("roundrobin", "leastconn", "source")
CONFIG_PATH = "/usr/local/etc/haproxy/haproxy.cfg"
# The PEM (certificate chain, then private key) a TLS frontend serves (Manual, 5.1 "crt": one
# file may hold the certificate, its chain and the key).
TLS_PEM_PATH = "/usr/local/etc/haproxy/tls/site.pem"

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
    check_interval: str = "1s",
    rise: int = 2,
    fall: int = 2,
    max_connections: int = 4096,
    server_maxconn: Optional[int] = None,
    tls_pem_path: Optional[str] = None,
) -> str:
    """The complete ``haproxy.cfg`` balancing HTTP on ``public_port`` over ``servers``.

    With ``tls_pem_path`` the public side speaks HTTPS only (``bind ... ssl crt``) and tells the
    backends so (``X-Forwarded-Proto: https``, ``X-Forwarded-Port``), which applications behind a
    reverse proxy, Jenkins included, use to build their own absolute URLs. Without it the file is
    exactly what it was before TLS existed.
    """
    if tls_pem_path is not None and not re.match(r"^/[A-Za-z0-9_./-]+\.pem$", tls_pem_path):
        raise ValueError(f"TLS PEM path {tls_pem_path!r} must be an absolute path ending in .pem")
    check_settings(algorithm, health_path, public_port, [s.name for s in servers], stats_port)
    if not re.match(r"^[1-9][0-9]*(ms|s|m)?$", check_interval):
        raise ValueError(f"check interval {check_interval!r} must look like 2s or 500ms")
    if rise < 1 or fall < 1 or max_connections < 1 or (server_maxconn is not None and server_maxconn < 1):
        raise ValueError("rise, fall, max_connections and server_maxconn must be positive")

    balance = [f"    balance {algorithm}"]
    if algorithm == "source":
        balance.append("    hash-type consistent")
    # Passive checks on top of the active ones: "observe layer7" counts every answer the server
    # gives to real traffic (5xx other than 501/505, invalid answers and timeouts are errors), and
    # 5 errors in a row take the server out at once ("on-error mark-down"); the active check then
    # brings it back. It catches an instance whose /healthcheck says OK while every page fails
    # (this app's database unreachable from one instance: /healthcheck never reads it). Manual,
    # section 5.2, "observe", "error-limit", "on-error".
    check = f"check inter {check_interval} rise {rise} fall {fall} observe layer7 error-limit 5 on-error mark-down"
    if server_maxconn is not None:
        # At most as many requests in flight on a server as it has workers: the rest wait in
        # HAProxy's queue, not in the server's listen backlog, so a hung or slow server holds
        # only these few (Manual, section 5.2, "maxconn"). That the other requests then go to the
        # other servers is measured, not quoted: the drill's hung instance cost 74 requests with
        # no cap and 2 s checks, 0 with these settings (tools/drills/lb.py).
        check += f" maxconn {server_maxconn}"
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
        # A connection that fails (refused: the process is gone; timed out: the host is) is
        # retried up to twice, each retry on another server ("option redispatch 1": every retry;
        # without the 1 only the last one), so a dead backend costs no request that never reached
        # it. Manual, section 4.2, "retries", "option redispatch".
        "    option redispatch 1",
        "    retries 2",
        # Retry only what never reached the application (the default, written out on purpose):
        # GET / increments the counter, so a request that a server received may have counted
        # already; empty-response, response-timeout and 5xx retries could count a view twice.
        # Manual, section 4.2, "retry-on" ("very dangerous to use any retry-on value beside
        # conn-failure and none" without replay protection).
        "    retry-on conn-failure",
        # Backends are on the LAN (or another cloud's public address): 2 s covers a lost SYN's
        # first retransmission; past that the retry goes elsewhere. Manual, 4.2 "timeout connect".
        "    timeout connect 2s",
        # The time a request may wait for a free server slot (server maxconn); it would default
        # to "timeout connect". Manual, section 4.2, "timeout queue".
        "    timeout queue 10s",
        "    timeout client 30s",
        # The app's slowest legitimate answer is a 503 after pymongo's 10 s socket timeout;
        # gunicorn kills a worker after 30 s. Manual, section 4.2, "timeout server".
        "    timeout server 30s",
        # A health check answers in milliseconds; 1 s after connecting it has failed (without
        # this, "inter" is the whole check's timeout). Manual, section 4.2, "timeout check".
        "    timeout check 1s",
        "    timeout http-request 10s",
        "    timeout http-keep-alive 5s",
        # A backend name that does not resolve at start (the local stack's host.docker.internal
        # outside a container, a DNS hiccup) leaves that server down instead of failing start-up.
        "    default-server init-addr libc,none",
        "",
        "frontend public",
        *(
            [f"    bind :{public_port}"]
            if tls_pem_path is None
            else [
                f"    bind :{public_port} ssl crt {tls_pem_path}",
                "    http-request set-header X-Forwarded-Proto https",
                f"    http-request set-header X-Forwarded-Port {public_port}",
            ]
        ),
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
