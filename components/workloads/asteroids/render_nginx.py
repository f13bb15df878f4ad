"""The nginx.conf of an Asteroids game container. A pure function from settings to text.

nginx serves the game's ``client/`` directory from the host's local copy of the game (kept by
the volume container, mounted read-only) and hands WebSocket upgrades to the Node game server on
localhost. The game client opens ``ws://HOST:PORT`` (path
``/``, see ``client/nodegame.client.js``), so both share one origin and one path: a request that
asks for ``Upgrade: websocket`` is sent to the named location ``@game_server`` (``return`` plus
``error_page``, the safe use of ``if`` in a location), every other request is a static file.

``/config.js`` is served from a file the container writes at start (its own public address and
port) into its own run directory, so game hosts never share a client configuration.
"""

from __future__ import annotations

import re
from typing import Optional

_PATH = re.compile(r"^/[A-Za-z0-9_./-]*$")


def _path(kind: str, value: str) -> str:
    if not _PATH.match(value):
        raise ValueError(f"{kind} {value!r} must be an absolute path of plain characters")
    return value


def _port(kind: str, value: int) -> int:
    if not 1 <= value <= 65535:
        raise ValueError(f"{kind} {value} is not a TCP port")
    return value


def render_nginx_conf(
    *,
    document_root: str,
    config_js: str,
    listen_port: int = 8080,
    game_port: int = 28785,
    user: Optional[str] = "www-data",
    pid_file: str = "/run/nginx.pid",
    error_log: str = "/dev/stderr",
    access_log: str = "/dev/stdout",
    mime_types: str = "/etc/nginx/mime.types",
    temp_dir: Optional[str] = None,
) -> str:
    """A complete nginx.conf (``nginx -t -c`` checks it as is).

    ``temp_dir`` None keeps nginx's compiled-in temp paths (the container); a directory puts
    them there (so the file can be checked by an unprivileged user).
    """
    _port("listen_port", listen_port)
    _port("game_port", game_port)
    for kind, value in (
        ("document_root", document_root),
        ("config_js", config_js),
        ("pid_file", pid_file),
        ("error_log", error_log),
        ("access_log", access_log),
        ("mime_types", mime_types),
    ):
        _path(kind, value)
    if user is not None and not re.match(r"^[a-z_][a-z0-9_-]*$", user):
        raise ValueError(f"user {user!r} is not a user name")
    user_line = f"user {user};\n" if user else ""
    temp_lines = ""
    if temp_dir is not None:
        _path("temp_dir", temp_dir)
        temp_lines = "".join(
            f"    {kind}_temp_path {temp_dir}/{kind};\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        )
    return f"""# nginx.conf of an Asteroids game container (rendered by rancher-stacks).
{user_line}worker_processes auto;
pid {pid_file};
error_log {error_log} warn;

events {{
    worker_connections 1024;
}}

http {{
    include {mime_types};
    default_type application/octet-stream;
    access_log {access_log};
    server_tokens off;
    # The document root is reached through a link that start.sh swaps to a new copy; files are
    # small and read with plain read(2), as before.
    sendfile off;
    keepalive_timeout 65;
{temp_lines}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}

    upstream asteroids_game_server {{
        server 127.0.0.1:{game_port};
    }}

    server {{
        listen {listen_port};
        root {document_root};
        index index.html;

        # WebSocket upgrades on any path go to the game server; the rest are static files.
        error_page 418 = @game_server;

        location / {{
            if ($http_upgrade ~* "^websocket$") {{
                return 418;
            }}
            try_files $uri $uri/ =404;
        }}

        # This container's client configuration: its public address and port.
        location = /config.js {{
            alias {config_js};
            default_type application/javascript;
            add_header Cache-Control "no-store";
        }}

        location @game_server {{
            proxy_pass http://asteroids_game_server;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_buffering off;
            proxy_read_timeout 1h;
            proxy_send_timeout 1h;
        }}
    }}
}}
"""
