"""Linux Dash on every VM host: a RancherOS-family service from cloud-config (pure renderers).

Linux Dash (https://github.com/tariqbuilds/linux-dash, formerly afaqurk/linux-dash) is a web page
of a host's CPU, memory, disks, network and processes. Its upstream has no release image, so the
host runs it from a **pinned upstream commit**:

* ``UPSTREAM_COMMIT`` is master's head, 186a802e (2020-03-22, "Merge pull request #486"), the
  last commit of the repository (read in a clone of tariqbuilds/linux-dash and of its old name
  afaqurk/linux-dash: both heads are that commit).
* At every start the service downloads GitHub's archive of exactly that commit and keeps only
  the four files it needs (``UPSTREAM_FILES``), each checked against a SHA-256 taken from the git
  objects of that commit (``git show 186a802e:<path> | sha256sum``; the git blob ids are listed
  too, so anyone can re-derive them with ``git ls-tree 186a802e app``). The archive's own
  checksum is NOT used: GitHub builds archives on the fly and does not promise byte-identical
  gzip output, while the files inside are the commit's content. A file that does not match, a
  missing file, or an archive whose top folder is not ``linux-dash-<commit>`` stops the service
  before it listens; nothing else from the archive is ever served or run.

Which server: upstream ships four (Node, Go, PHP, Python). The Python one is Python 2 only and
runs ``shell=True`` with the module name cut from the URL (a command injection for anyone who
can reach the port); the Node one needs npm packages at boot without a lock file; the Go one
needs a toolchain. So the host runs :func:`server_script`, a small Python 3 standard-library
server written here that does what upstream's ``app/server/index.js`` does (serve the page, answer
``/server/?module=<name>`` with the output of upstream's ``linux_json_api.sh <name>``), but runs
only modules on an allow-list (``MODULES``), passes the name as an argument (no shell parses
it), answers ``/websocket`` with 404 so the page polls over HTTP (as it does when upstream's
server has no websocket support), and keeps everything in memory (read-only root filesystem).

Where it runs (``linux_dash_service``): ``rancher.services`` in **User Docker** scope (no
``io.rancher.os.scope: system`` label). BurmillaOS documents a system service as "a container that
can be run in either System Docker or Docker" and starts cloud-config services at boot in both
(burmilla/burmilla.github.io, content/docs/system-services/). System Docker would be the natural
home, but it cannot pull today's official images: BurmillaOS v2.0.5 ships System Docker
17.06.107 (burmilla/os Dockerfile.dapper, ``SYSTEM_DOCKER_VERSION``), built from
burmilla/docker ``release-v17.06-ros*``, whose ``distribution/`` registers no OCI media type
(upstream Docker learnt them in 18.06: moby commit 126b5bce "Register OCI image media types"),
while Docker Hub's official images are published as OCI indexes
(docker-library/official-images#14025). User Docker is the pinned modern engine
(``rancher.docker.engine``), which pulls them. Only a registry we do not have (one serving Docker
schema 2 manifests) would make System Docker work. ``ros`` creates User Docker services through
libcompose pinned to API v1.31 (burmilla/os v2.0.5, vendor/github.com/docker/libcompose/docker/
client/client.go, ``DefaultAPIVersion``) and picks the daemon by that very label
(pkg/docker/client_factory.go); Docker 29 refuses APIs below 1.40 unless told otherwise, and
BurmillaOS's engine service tells it: burmilla/os-services@3613d553 d/docker-29.8.2.yml sets
``DOCKER_MIN_API_VERSION=1.24``. The container is named after the service, ``linux-dash``
(config/disk.go, ``amendContainerNames``).

Least privilege: ``net: host`` (to listen on the host's loopback and read the host's interfaces
in ``/proc/net/dev`` and ``/sys/class/net``) and ``pid: host`` (so ``ps`` and ``/proc`` show the
host's processes; no ``/proc`` bind mount is needed), not privileged, every capability dropped,
``no-new-privileges``, user ``nobody`` (65534), read-only root filesystem, one read-only bind
mount (the server script). The image is the official ``python`` one in its full Debian variant,
because the slim one lacks ``ps`` (procps), which the process tables need.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping, Optional

from ..images import LINUX_DASH_IMAGE

UPSTREAM_REPO = "tariqbuilds/linux-dash"
UPSTREAM_COMMIT = "186a802ea76e8bfcab7e8e7ebc533b74f80306fc"
UPSTREAM_ARCHIVE_URL = f"https://github.com/{UPSTREAM_REPO}/archive/{UPSTREAM_COMMIT}.tar.gz"

# path in the commit -> SHA-256 of its content at UPSTREAM_COMMIT (git blob id in the comment).
UPSTREAM_FILES: Mapping[str, str] = {
    # e186d792d3ce95fee894a5d1bf90a9eebb6d7393, 1161 bytes
    "app/index.html": "fd5478c644ac8830db2014dfbce730938ecbeef3dcc6183bf07501323ff33a66",
    # 48132949eadab50d7daae1bf1a2c1fe9b1186552, 5193 bytes
    "app/linuxDash.min.css": "8e301ed7e246da02b5c0a4fa1076d64168f50f7ee4b771d07fef7e03f58a3883",
    # fbe0206f02caf7410581c5e2aa9dc9b075769b08, 225864 bytes
    "app/linuxDash.min.js": "ee6ece1ea1c2c49a4957f5f75c32fd587f52e467ce06cb588ca27b0885f5eade",
    # 16f573e5f370fbec607d8256f8b7476e1883c0d1, 18530 bytes
    "app/server/linux_json_api.sh": "1b472574213d3943ae628e63c82ba942d30c50020506eb55821bbbb761b14dc2",
}
UPSTREAM_SCRIPT = "app/server/linux_json_api.sh"

# The modules of linux_json_api.sh the page may run. Left out, on purpose: ip_addresses (asks an
# outside DNS resolver for the host's public address), docker_processes (needs the Docker
# socket), ping (reads a config file next to the script), memcached and redis (probe local
# services), and what would describe the container instead of the host (user_accounts,
# logged_in_users, recent_account_logins, common_applications, cron_history, scheduled_crons).
MODULES: frozenset[str] = frozenset(
    {
        "arp_cache", "bandwidth", "cpu_info", "cpu_intensive_processes", "cpu_temp",
        "cpu_utilization", "current_ram", "disk_partitions", "download_transfer_rate",
        "general_info", "io_stats", "load_avg", "memory_info", "network_connections",
        "ram_intensive_processes", "swap", "upload_transfer_rate",
    }
)

SERVICE_NAME = "linux-dash"
# Written by cloud-config on the host; /opt persists on RancherOS and User Docker can bind it.
HOST_DIR = "/opt/rancher-stacks/linux-dash"
SERVER_PATH = f"{HOST_DIR}/serve.py"
CONTAINER_DIR = "/opt/linux-dash"
NOBODY = "65534:65534"
MEMORY_LIMIT_BYTES = 256 * 1024 * 1024
DEFAULT_PORT = 8081
LOOPBACK = "127.0.0.1"
ALL_ADDRESSES = "0.0.0.0"

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_COMMIT = re.compile(r"^[0-9a-f]{40}$")


@dataclass(frozen=True)
class LinuxDash:
    """Linux Dash on a host: its port, and whether it listens beyond the loopback.

    ``exposed`` binds all the host's addresses; the host group's firewall then admits the port
    from the admin CIDRs only. Otherwise it binds 127.0.0.1 and is reached through SSH.
    """

    port: int = DEFAULT_PORT
    exposed: bool = False
    image: str = LINUX_DASH_IMAGE

    def __post_init__(self) -> None:
        if not 1024 <= self.port <= 65535:
            # The server runs as nobody without capabilities: no port below 1024.
            raise ValueError(f"linux-dash port {self.port} is not in 1024-65535")

    @property
    def bind(self) -> str:
        return ALL_ADDRESSES if self.exposed else LOOPBACK


def server_script(
    *,
    commit: str = UPSTREAM_COMMIT,
    files: Optional[Mapping[str, str]] = None,
    archive_url: Optional[str] = None,
) -> str:
    """The Python 3 server the service runs (standard library only).

    ``commit``, ``files`` and ``archive_url`` are the pinned upstream ones unless a test gives
    others (an archive it built, with its own checksums).
    """
    files = dict(UPSTREAM_FILES if files is None else files)
    if not _COMMIT.match(commit):
        raise ValueError(f"commit {commit!r} is not a full 40-hex git commit id")
    if UPSTREAM_SCRIPT not in files or "app/index.html" not in files:
        raise ValueError(f"the file list needs {UPSTREAM_SCRIPT} and app/index.html")
    for path, digest in files.items():
        if not path.startswith("app/") or ".." in path.split("/") or not _SHA256.match(digest):
            raise ValueError(f"bad pinned file {path!r}: {digest!r}")
    url = archive_url or f"https://github.com/{UPSTREAM_REPO}/archive/{commit}.tar.gz"
    file_lines = "".join(f"    {path!r}: {digest!r},\n" for path, digest in sorted(files.items()))
    modules = ", ".join(repr(m) for m in sorted(MODULES))
    return f'''"""Linux Dash for rancher-stacks: serves upstream commit {commit[:12]}, checked file by file."""

import argparse
import hashlib
import http.server
import io
import sys
import tarfile
import urllib.parse
import urllib.request
import subprocess

COMMIT = {commit!r}
ARCHIVE_URL = {url!r}
FILES = {{
{file_lines}}}
SCRIPT = {UPSTREAM_SCRIPT!r}
MODULES = frozenset({{{modules}}})
MAX_ARCHIVE_BYTES = 32 * 1024 * 1024
MODULE_TIMEOUT_SECONDS = 30
MODULE_ENV = {{"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}}
STATIC = {{
    "/": ("app/index.html", "text/html; charset=utf-8"),
    "/index.html": ("app/index.html", "text/html; charset=utf-8"),
    "/linuxDash.min.css": ("app/linuxDash.min.css", "text/css; charset=utf-8"),
    "/linuxDash.min.js": ("app/linuxDash.min.js", "application/javascript; charset=utf-8"),
}}


def fetch(url):
    with urllib.request.urlopen(url, timeout=120) as response:
        data = response.read(MAX_ARCHIVE_BYTES + 1)
    if len(data) > MAX_ARCHIVE_BYTES:
        raise SystemExit(f"linux-dash: {{url}} is larger than {{MAX_ARCHIVE_BYTES}} bytes")
    return data


def verified_files(archive):
    """The pinned files of the archive, each matching its SHA-256, or SystemExit."""
    top = "linux-dash-" + COMMIT
    found = {{}}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for member in tar:
            folder, _, path = member.name.partition("/")
            if path not in FILES:
                continue
            if folder != top or not member.isfile() or path in found:
                raise SystemExit(f"linux-dash: unexpected archive entry {{member.name}}")
            found[path] = tar.extractfile(member).read()
    for path, expected in sorted(FILES.items()):
        if path not in found:
            raise SystemExit(f"linux-dash: {{path}} is not in the archive of {{COMMIT}}")
        actual = hashlib.sha256(found[path]).hexdigest()
        if actual != expected:
            raise SystemExit(f"linux-dash: {{path}} has sha256 {{actual}}, expected {{expected}}; refusing to serve")
    return found


class Handler(http.server.BaseHTTPRequestHandler):
    files = {{}}
    server_version = "linux-dash"
    sys_version = ""

    def do_HEAD(self):
        self.do_GET(body=False)

    def do_GET(self, body=True):
        url = urllib.parse.urlsplit(self.path)
        if url.path in STATIC:
            name, content_type = STATIC[url.path]
            self.reply(200, content_type, self.files[name], body)
            return
        if url.path == "/server/":
            module = urllib.parse.parse_qs(url.query).get("module", [""])[0]
            if module not in MODULES:
                self.reply(404, "text/plain; charset=utf-8", b"unknown module\\n", body)
                return
            self.reply(*self.run_module(module), body)
            return
        self.reply(404, "text/plain; charset=utf-8", b"not found\\n", body)

    def run_module(self, module):
        script = self.files[SCRIPT].decode("utf-8")
        try:
            done = subprocess.run(
                ["bash", "-c", script, "linux_json_api.sh", module],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=MODULE_TIMEOUT_SECONDS,
                env=MODULE_ENV,
                cwd="/",
                check=False,
            )
        except subprocess.TimeoutExpired:
            return 504, "text/plain; charset=utf-8", b"module timed out\\n"
        if done.returncode != 0:
            return 500, "text/plain; charset=utf-8", b"module failed\\n"
        return 200, "application/json", done.stdout

    def reply(self, status, content_type, payload, body):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if body:
            self.wfile.write(payload)


def main(argv=None):
    parser = argparse.ArgumentParser(description="Linux Dash, pinned upstream commit")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--archive-url", default=ARCHIVE_URL)
    args = parser.parse_args(argv)
    Handler.files = verified_files(fetch(args.archive_url))
    server = http.server.ThreadingHTTPServer((args.bind, args.port), Handler)
    server.daemon_threads = True
    where = f"{{args.bind}}:{{args.port}}"
    print(f"linux-dash: commit {{COMMIT}} verified; listening on {{where}}", file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
'''


def service_command(dash: LinuxDash) -> list[str]:
    """The container's command: the server on the chosen address and port."""
    return ["python3", f"{CONTAINER_DIR}/serve.py", "--bind", dash.bind, "--port", str(dash.port)]


def linux_dash_service(dash: LinuxDash) -> dict[str, Any]:
    """The ``rancher.services`` entry (a docker-compose v1 service, libcompose ``ServiceConfigV1``).

    No ``io.rancher.os.scope`` label: the service runs in User Docker (see the module docstring).
    """
    return {
        "image": dash.image,
        "command": service_command(dash),
        "restart": "always",
        "net": "host",
        "pid": "host",
        "user": NOBODY,
        "read_only": True,
        "cap_drop": ["ALL"],
        "security_opt": ["no-new-privileges"],
        "mem_limit": MEMORY_LIMIT_BYTES,
        "environment": {"PYTHONDONTWRITEBYTECODE": "1"},
        "volumes": [f"{HOST_DIR}:{CONTAINER_DIR}:ro"],
        "labels": {"io.rancher-stacks.upstream-commit": UPSTREAM_COMMIT},
    }


def linux_dash_write_file() -> dict[str, str]:
    """The ``write_files`` entry that puts the server script on the host."""
    return {"path": SERVER_PATH, "permissions": "0644", "owner": "root", "content": server_script()}
