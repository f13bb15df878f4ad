"""nginx in front of Kibana (pure renderers): TLS, basic auth, and the htpasswd entry.

nginx terminates TLS (the logging CA's certificate, or one given in config) and asks for basic
auth against a one-user htpasswd file, then proxies to Kibana on the host's private Docker
network. The ``Authorization`` header is NOT passed on: Kibana would take those credentials for
an Elasticsearch user; users log in to Kibana itself afterwards (the ``elastic`` user).

The htpasswd entry is the ``bcryptHash`` output of the ``RandomPassword`` (pulumi-random:
"a bcrypt hash of the generated random string", made once with its own random salt and kept in
state, so it is stable across runs: https://www.pulumi.com/registry/packages/random/api-docs/randompassword/),
``$2a$`` at cost 10 (golang.org/x/crypto/bcrypt's DefaultCost). nginx checks it with the C
library's ``crypt`` (musl in the alpine image implements ``$2a$``/``$2b$``:
https://nginx.org/en/docs/http/ngx_http_auth_basic_module.html#auth_basic_user_file) and Apache's
``htpasswd -v`` verifies the same entry (the test does).
"""

from __future__ import annotations

import re

CERT_DIR = "/etc/nginx/certs"
CERT_FILE = f"{CERT_DIR}/server.crt"
KEY_FILE = f"{CERT_DIR}/server.key"
HTPASSWD_FILE = f"{CERT_DIR}/htpasswd"
CONFIG_PATH = "/etc/nginx/nginx.conf"
# Docker's embedded DNS server, which answers container names and aliases on user-defined
# networks (https://docs.docker.com/engine/network/#dns-services).
DOCKER_DNS = "127.0.0.11"
_USER = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")
_UPSTREAM = re.compile(r"^[A-Za-z0-9.-]+:\d{1,5}$")
_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")
_HASH = re.compile(r"^\$2[aby]\$\d{2}\$[./A-Za-z0-9]{53}$")


def render_htpasswd(user: str, bcrypt_hash: str) -> str:
    """``user:$2a$10$...`` (one line) from a bcrypt hash of the password."""
    if not _USER.match(user):
        raise ValueError(f"bad user name {user!r}")
    if not _HASH.match(bcrypt_hash):
        raise ValueError("expected a bcrypt hash ($2a$/$2b$/$2y$, cost, 53 characters)")
    return f"{user}:{bcrypt_hash}\n"


def render_nginx_conf(
    *,
    listen_port: int,
    upstream: str,
    cert_file: str = CERT_FILE,
    key_file: str = KEY_FILE,
    htpasswd_file: str = HTPASSWD_FILE,
    pid_file: str = "/var/run/nginx.pid",
    resolver: str | None = DOCKER_DNS,
) -> str:
    """nginx.conf: HTTPS on ``listen_port`` with basic auth, proxied to Kibana at ``upstream``."""
    if not 1 <= listen_port <= 65535:
        raise ValueError(f"bad port {listen_port}")
    if not _UPSTREAM.match(upstream):
        raise ValueError(f"upstream must be host:port; got {upstream!r}")
    for path in (cert_file, key_file, htpasswd_file, pid_file):
        if not _PATH.match(path):
            raise ValueError(f"bad path {path!r}")
    resolve = f"  resolver {resolver} valid=30s;\n" if resolver else ""
    # With a resolver, the upstream is a variable: nginx looks it up per request instead of once
    # at start, so it starts (and ``nginx -t`` passes) before Kibana's name exists.
    target = f"set $kibana http://{upstream};\n      proxy_pass $kibana;" if resolver else f"proxy_pass http://{upstream};"
    return f"""# rancher-stacks: Kibana behind TLS and basic auth
worker_processes 1;
pid {pid_file};
error_log stderr warn;
events {{
  worker_connections 512;
}}
http {{
  server_tokens off;
  access_log /dev/stdout;
{resolve}  client_max_body_size 20m;
  map $http_upgrade $connection_upgrade {{
    default upgrade;
    '' close;
  }}
  server {{
    listen {listen_port} ssl;
    server_name _;
    ssl_certificate {cert_file};
    ssl_certificate_key {key_file};
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_session_cache shared:SSL:1m;
    add_header Strict-Transport-Security "max-age=31536000" always;
    auth_basic "Kibana";
    auth_basic_user_file {htpasswd_file};
    location / {{
      {target}
      proxy_http_version 1.1;
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header Upgrade $http_upgrade;
      proxy_set_header Connection $connection_upgrade;
      # Kibana would take the basic-auth credentials for an Elasticsearch user.
      proxy_set_header Authorization "";
      proxy_read_timeout 120s;
    }}
  }}
}}
"""
