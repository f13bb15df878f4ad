"""The game image's files: nginx.conf (real ``nginx -t`` and a live run, also with capabilities
dropped as in the game container), the shell scripts (shellcheck and behaviour with stand-ins for
mount and node, the copy kept in sync for real in temporary directories), the two containers'
environments and the Dockerfile."""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from rancher_stacks.workloads.asteroids.game import APP_DIR, GAME_CAPABILITIES_ADD, GAME_COMMIT
from rancher_stacks.workloads.asteroids.render_nginx import render_nginx_conf
from rancher_stacks.workloads.asteroids.render_start import (
    CONFIG_JS,
    COPY_ROOT,
    game_client_dir,
    gluster_mount,
    serve_environment,
    volume_environment,
)

SCRIPTS = ["start.sh", "fetch-game.sh", "patch-game.sh"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_the_container_config_passes_nginx_t(tmp_path, validator):
    """The container's config, its pid, log and temp paths moved so that any user can check it."""
    nginx = validator("nginx", "nginx")
    (tmp_path / "tmp").mkdir()
    text = render_nginx_conf(
        document_root=game_client_dir(),
        config_js=CONFIG_JS,
        user=None,
        pid_file=f"{tmp_path}/nginx.pid",
        error_log=f"{tmp_path}/error.log",
        access_log=f"{tmp_path}/access.log",
        temp_dir=f"{tmp_path}/tmp",
    )
    conf = tmp_path / "nginx.conf"
    conf.write_text(text)
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-e", f"{tmp_path}/error.log"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


class FakeGameServer(threading.Thread):
    """Accepts one connection, answers a WebSocket upgrade with 101 and echoes what follows."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(1)
        self.sock.settimeout(10)
        self.request = b""

    def run(self) -> None:
        try:
            conn, _ = self.sock.accept()
        except OSError:
            return
        with conn:
            while b"\r\n\r\n" not in self.request:
                self.request += conn.recv(4096)
            conn.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            conn.sendall(conn.recv(4096))


@pytest.fixture
def live_nginx(tmp_path, validator):
    """The rendered config running for real on spare ports, with a stand-in game server."""
    nginx = validator("nginx", "nginx")
    root = tmp_path / "volume" / "asteroids" / "client"
    root.mkdir(parents=True)
    (root / "index.html").write_text("<title>NodeGame: Shooter</title>\n")
    (root / "config.js").write_text("var HOST = '127.0.0.1', PORT = 28785;\n")
    run = tmp_path / "run"
    run.mkdir()
    (run / "config.js").write_text("var HOST = '203.0.113.7', PORT = 80;\n")
    (tmp_path / "tmp").mkdir()
    listen, game = free_port(), free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            document_root=str(root),
            config_js=str(run / "config.js"),
            listen_port=listen,
            game_port=game,
            user=pwd.getpwuid(os.getuid()).pw_name,
            pid_file=f"{tmp_path}/nginx.pid",
            error_log=f"{tmp_path}/error.log",
            access_log=f"{tmp_path}/access.log",
            temp_dir=f"{tmp_path}/tmp",
        )
    )
    upstream = FakeGameServer(game)
    upstream.start()
    proc = subprocess.Popen(
        [nginx, "-c", str(conf), "-e", f"{tmp_path}/error.log", "-g", "daemon off;"],
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", listen), timeout=1).close()
            break
        except OSError:
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else "nginx exited"
            assert time.monotonic() < deadline, "nginx did not start listening"
            time.sleep(0.05)
    yield listen, upstream
    proc.terminate()
    proc.wait(timeout=10)
    upstream.sock.close()


def test_nginx_serves_files_from_the_volume_and_this_hosts_config_js(live_nginx):
    port, upstream = live_nginx
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/") as resp:
        assert resp.status == 200 and b"NodeGame: Shooter" in resp.read()
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/config.js") as resp:
        assert resp.read() == b"var HOST = '203.0.113.7', PORT = 80;\n", "the per-container file, not the volume's"
        assert resp.headers["Cache-Control"] == "no-store"
        assert resp.headers["Content-Type"] == "application/javascript"
    with pytest.raises(urllib.error.HTTPError) as missing:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/nope.js")
    assert missing.value.code == 404
    assert upstream.request == b"", "plain requests never reach the game server"


def test_nginx_tunnels_websocket_upgrades_on_the_same_origin_to_the_game_server(live_nginx):
    port, upstream = live_nginx
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(
            b"GET / HTTP/1.1\r\nHost: 203.0.113.7\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Origin: http://203.0.113.7\r\n\r\n"
        )
        head = b""
        while b"\r\n\r\n" not in head:
            head += s.recv(4096)
        assert head.startswith(b"HTTP/1.1 101"), head
        s.sendall(b"frame-bytes")
        assert s.recv(4096) == b"frame-bytes", "the connection is a tunnel after the upgrade"
    request = upstream.request.decode().lower()
    assert request.startswith("get / http/1.1")
    assert "upgrade: websocket" in request and "connection: upgrade" in request
    assert "sec-websocket-key: dghlihnhbxbszsbub25jzq==" in request
    assert "origin: http://203.0.113.7" in request


# --------------------------------------------------------------------------- scripts


@pytest.mark.parametrize("name", SCRIPTS)
def test_scripts_pass_shellcheck(name, validator):
    shellcheck = validator("shellcheck", "shellcheck")
    result = subprocess.run([shellcheck, "-s", "sh", str(APP_DIR / name)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def stand_in(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)


def start_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """start.sh's environment, with stand-ins from tmp_path/bin first on PATH."""
    return {
        "PATH": f"{tmp_path}/bin:/usr/bin:/bin",
        "GLUSTER_VOLUME": "ranchervol",
        "GLUSTER_MOUNT_SOURCE": "gluster-s0:/ranchervol",
        "GLUSTER_MOUNT_OPTIONS": "backup-volfile-servers=gluster-s1:gluster-s2",
        "PUBLIC_HOST": "203.0.113.7",
        "PUBLIC_PORT": "80",
        "MOUNT_ROOT": f"{tmp_path}/mnt",
        "COPY_ROOT": f"{tmp_path}/copy",
        "RUN_DIR": f"{tmp_path}/run",
        "GAME_SOURCE": f"{tmp_path}/src",
        "RETRY_SECONDS": "0.1",
        **env,
    }


def start_sh(tmp_path: Path, step: str, **env: str) -> subprocess.CompletedProcess:
    """Run one step of start.sh."""
    return subprocess.run(
        ["/bin/sh", str(APP_DIR / "start.sh"), step],
        env=start_env(tmp_path, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def bin_dir(tmp_path) -> Path:
    (tmp_path / "bin").mkdir()
    return tmp_path / "bin"


def test_config_points_players_at_this_hosts_public_address_and_port(tmp_path, bin_dir):
    result = start_sh(tmp_path, "config", PUBLIC_HOST="198.51.100.4", PUBLIC_PORT="8080")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "run" / "config.js").read_text() == "var HOST = '198.51.100.4', PORT = 8080;\n"
    bad = start_sh(tmp_path, "config", PUBLIC_HOST="x';alert(1);'")
    assert bad.returncode == 1 and "PUBLIC_HOST must be" in bad.stderr
    missing = start_sh(tmp_path, "config", PUBLIC_PORT="")
    assert missing.returncode != 0 and "PUBLIC_PORT is required" in missing.stderr
    no_mount = start_sh(tmp_path, "mount", GLUSTER_MOUNT_SOURCE="")
    assert no_mount.returncode != 0 and "GLUSTER_MOUNT_SOURCE is required" in no_mount.stderr


def test_mount_uses_the_backup_volfile_servers_and_retries_a_bounded_number_of_times(tmp_path, bin_dir):
    stand_in(bin_dir, "mountpoint", "exit 1\n")
    # mount fails twice, then succeeds; it records its arguments.
    stand_in(
        bin_dir,
        "mount",
        f'echo "$*" >> {tmp_path}/mount.log\n'
        f'n=$(wc -l < {tmp_path}/mount.log)\n[ "$n" -ge 3 ]\n',
    )
    result = start_sh(tmp_path, "mount", MOUNT_ATTEMPTS="5")
    assert result.returncode == 0, result.stderr
    calls = (tmp_path / "mount.log").read_text().splitlines()
    assert calls == [
        f"-t glusterfs -o backup-volfile-servers=gluster-s1:gluster-s2 gluster-s0:/ranchervol {tmp_path}/mnt/ranchervol"
    ] * 3
    (tmp_path / "mount.log").unlink()
    stand_in(bin_dir, "mount", f'echo "$*" >> {tmp_path}/mount.log\nexit 32\n')
    result = start_sh(tmp_path, "mount", MOUNT_ATTEMPTS="2")
    assert result.returncode == 1 and "could not mount" in result.stderr
    assert len((tmp_path / "mount.log").read_text().splitlines()) == 2


@pytest.fixture
def game_source(tmp_path) -> Path:
    src = tmp_path / "src"
    (src / "server").mkdir(parents=True)
    (src / "client").mkdir()
    (src / "server" / "server.js").write_text("// server\n")
    (src / "client" / "index.html").write_text("<title>game</title>\n")
    (tmp_path / "mnt" / "ranchervol").mkdir(parents=True)
    return src


def test_two_game_hosts_starting_together_install_the_game_once(tmp_path, bin_dir, game_source):
    procs = [
        subprocess.Popen(
            ["/bin/sh", str(APP_DIR / "start.sh"), "install"],
            env=start_env(tmp_path),
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    logs = [p.communicate(timeout=60)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], logs
    assert sum(log.count("installing the game") for log in logs) == 1, logs
    volume = tmp_path / "mnt" / "ranchervol"
    assert (volume / "asteroids" / "server" / "server.js").read_text() == "// server\n"
    assert (volume / "asteroids" / ".installed").is_file()
    assert sorted(p.name for p in volume.iterdir()) == ["asteroids"], "no lock or staging copy left behind"


def test_the_game_on_the_volume_is_never_installed_twice(tmp_path, bin_dir, game_source):
    assert start_sh(tmp_path, "install").returncode == 0
    edited = tmp_path / "mnt" / "ranchervol" / "asteroids" / "client" / "index.html"
    edited.write_text("<title>edited on the volume</title>\n")
    result = start_sh(tmp_path, "install")
    assert result.returncode == 0 and "installing" not in result.stderr
    assert edited.read_text() == "<title>edited on the volume</title>\n"


def test_a_partial_copy_is_kept_aside_and_a_stale_lock_is_broken(tmp_path, bin_dir, game_source):
    volume = tmp_path / "mnt" / "ranchervol"
    (volume / "asteroids").mkdir()
    (volume / "asteroids" / "half.js").write_text("")
    lock = volume / ".asteroids-install.lock"
    lock.mkdir()
    old = time.time() - 20 * 60
    os.utime(lock, (old, old))
    result = start_sh(tmp_path, "install")
    assert result.returncode == 0, result.stderr
    assert "breaking a stale install lock" in result.stderr
    names = sorted(p.name for p in volume.iterdir())
    assert names[0] == "asteroids" and re.fullmatch(r"asteroids\.incomplete\.\d{8}T\d{6}Z", names[1])
    assert len(names) == 2 and (volume / "asteroids" / ".installed").is_file()


def test_a_live_lock_held_too_long_fails_the_start(tmp_path, bin_dir, game_source):
    (tmp_path / "mnt" / "ranchervol" / ".asteroids-install.lock").mkdir()
    result = start_sh(tmp_path, "install", LOCK_ATTEMPTS="2")
    assert result.returncode == 1 and "holds" in result.stderr
    assert not (tmp_path / "mnt" / "ranchervol" / "asteroids").exists()


def copy_tree(tmp_path: Path) -> dict[str, str]:
    """The served copy as {relative path: text}, read through the ``current`` link."""
    current = tmp_path / "copy" / "current"
    return {str(p.relative_to(current)): p.read_text() for p in sorted(current.rglob("*")) if p.is_file()}


def test_the_copy_is_made_verified_and_switched_atomically_then_kept_in_sync(tmp_path, bin_dir, game_source):
    """The volume container's copy step, for real in temporary directories (no mount involved)."""
    assert start_sh(tmp_path, "install").returncode == 0
    first = start_sh(tmp_path, "sync")
    assert first.returncode == 0, first.stderr
    current = tmp_path / "copy" / "current"
    assert current.is_symlink() and os.readlink(current).startswith("releases/")
    assert copy_tree(tmp_path)["server/server.js"] == "// server\n"
    release = os.readlink(current)
    again = start_sh(tmp_path, "sync")
    assert again.returncode == 0 and os.readlink(current) == release, "unchanged volume: nothing copied"
    assert "serving" not in again.stderr

    # A change on the Gluster volume is copied into a new release and current is switched to it;
    # the previous release is kept, older ones go.
    edited = tmp_path / "mnt" / "ranchervol" / "asteroids" / "client" / "index.html"
    edited.write_text("<title>v2</title>\n")
    assert start_sh(tmp_path, "sync").returncode == 0
    second = os.readlink(current)
    assert second != release and copy_tree(tmp_path)["client/index.html"] == "<title>v2</title>\n"
    edited.write_text("<title>v3</title>\n")
    assert start_sh(tmp_path, "sync").returncode == 0
    releases = sorted(p.name for p in (tmp_path / "copy" / "releases").iterdir())
    assert releases == sorted([second.removeprefix("releases/"), os.readlink(current).removeprefix("releases/")])


def test_an_unreadable_volume_keeps_the_last_copy_in_service(tmp_path, bin_dir, game_source):
    assert start_sh(tmp_path, "install").returncode == 0
    assert start_sh(tmp_path, "sync").returncode == 0
    current = tmp_path / "copy" / "current"
    release = os.readlink(current)
    game = tmp_path / "mnt" / "ranchervol" / "asteroids"
    game.rename(tmp_path / "away")  # as if every Gluster server were gone
    result = start_sh(tmp_path, "sync")
    assert result.returncode != 0
    assert os.readlink(current) == release and copy_tree(tmp_path)["server/server.js"] == "// server\n"
    (tmp_path / "away").rename(game)
    (game / "server" / "server.js").chmod(0)  # a file that cannot be read: no partial release
    if os.getuid() != 0:
        assert start_sh(tmp_path, "sync").returncode != 0
        assert os.readlink(current) == release


def test_the_volume_role_copies_and_keeps_copying_while_the_game_waits_for_it(tmp_path, bin_dir, game_source):
    """start.sh volume end to end, the mount point already a directory (mountpoint says mounted)."""
    stand_in(bin_dir, "mountpoint", "exit 0\n")
    stand_in(bin_dir, "mount", "echo 'mount must not be called' >&2; exit 99\n")
    waiting = subprocess.run(
        ["/bin/sh", str(APP_DIR / "start.sh"), "wait-copy"],
        env=start_env(tmp_path, COPY_ATTEMPTS="2"),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert waiting.returncode == 1 and "no game copy" in waiting.stderr
    volume = subprocess.Popen(
        ["/bin/sh", str(APP_DIR / "start.sh"), "volume"],
        env=start_env(tmp_path, SYNC_SECONDS="0.2"),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = subprocess.run(
            ["/bin/sh", str(APP_DIR / "start.sh"), "wait-copy"],
            env=start_env(tmp_path, COPY_ATTEMPTS="100"),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ready.returncode == 0, ready.stderr
        assert start_sh(tmp_path, "volume-health").returncode == 0
        (tmp_path / "mnt" / "ranchervol" / "asteroids" / "client" / "index.html").write_text("<title>new</title>\n")
        deadline = time.monotonic() + 20
        while copy_tree(tmp_path).get("client/index.html") != "<title>new</title>\n":
            assert time.monotonic() < deadline, "the change was never copied"
            time.sleep(0.1)
    finally:
        volume.terminate()
        log = volume.communicate(timeout=10)[1]
    assert "mount must not be called" not in log
    assert "installing the game on the volume" in log


@pytest.fixture
def world_readable_dir():
    """A directory nginx's www-data workers can reach (pytest's tmp_path is private to root)."""
    path = Path(tempfile.mkdtemp(prefix="asteroids-caps-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_nginx_serves_with_only_the_game_containers_capabilities(world_readable_dir, validator, root_tool):
    """nginx as root with the bounding set the game container gets (Docker's drop ALL + adds)."""
    nginx = validator("nginx", "nginx")
    setpriv = root_tool("setpriv", "util-linux")
    tmp_path = world_readable_dir
    root = tmp_path / "root"
    root.mkdir()
    (root / "index.html").write_text("ok\n")
    (tmp_path / "tmp").mkdir()
    port = free_port()
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            document_root=str(root),
            config_js=f"{tmp_path}/config.js",
            listen_port=port,
            pid_file=f"{tmp_path}/nginx.pid",
            error_log=f"{tmp_path}/error.log",
            access_log=f"{tmp_path}/access.log",
            temp_dir=f"{tmp_path}/tmp",
        )
    )

    def serve(caps: tuple[str, ...]) -> tuple[int | None, str]:
        bounding = ",".join(["-all", *(f"+{c.lower()}" for c in caps)])
        proc = subprocess.Popen(
            [setpriv, "--no-new-privs", "--inh-caps=-all", f"--bounding-set={bounding}",
             nginx, "-c", str(conf), "-e", f"{tmp_path}/error.log", "-g", "daemon off;"],
            stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        status = None
        try:
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2) as resp:
                        status = resp.status
                    break
                except OSError:
                    time.sleep(0.1)
        finally:
            proc.terminate()
            err = proc.communicate(timeout=10)[1]
        return status, err

    status, err = serve(GAME_CAPABILITIES_ADD)
    assert status == 200, err
    assert (tmp_path / "tmp" / "proxy").stat().st_uid == pwd.getpwnam("www-data").pw_uid
    for path in (tmp_path / "tmp").iterdir():
        path.rmdir()
    status, err = serve(tuple(c for c in GAME_CAPABILITIES_ADD if c != "CHOWN"))
    assert status is None and "chown" in err, "without CHOWN nginx cannot hand its temp dirs to its workers"


NODE_0X_SERVER = """var sys = require('sys');
function status() { sys.print('\\x1b[H' + 'running'); }
"""
NODE_0X_SOCKET = """var buffer = new Buffer(0);
var tmp = new Buffer(buffer.length + 4);
var frameBuffer = new Buffer(frame);
"""


def test_the_node_patch_replaces_the_node_0x_api(tmp_path, bin_dir):
    stand_in(bin_dir, "node", f'echo "node $*" >> {tmp_path}/node.log\n')
    game = tmp_path / "game"
    (game / "server" / "nodegame").mkdir(parents=True)
    (game / "server" / "nodegame" / "nodegame.js").write_text(NODE_0X_SERVER)
    (game / "server" / "nodegame" / "WebSocket.js").write_text(NODE_0X_SOCKET)
    (game / "client").mkdir()
    (game / "client" / "game.js").write_text("var sys = require('sys');\n")
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    result = subprocess.run(
        ["/bin/sh", str(APP_DIR / "patch-game.sh"), str(game)], env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert (game / "server" / "nodegame" / "nodegame.js").read_text() == (
        "var sys = require('util');\nfunction status() { process.stdout.write('\\x1b[H' + 'running'); }\n"
    )
    assert (game / "server" / "nodegame" / "WebSocket.js").read_text() == (
        "var buffer = Buffer.alloc(0);\nvar tmp = Buffer.alloc(buffer.length + 4);\n"
        "var frameBuffer = Buffer.from(frame);\n"
    )
    assert (game / "client" / "game.js").read_text() == "var sys = require('sys');\n", "the client is untouched"
    node_calls = (tmp_path / "node.log").read_text().splitlines()
    assert sorted(node_calls[:2]) == sorted(f"node --check {f}" for f in (game / "server" / "nodegame").iterdir())
    assert node_calls[2] == f"node {APP_DIR}/smoke-test.js {game}", "the patched server is smoke-tested"


def test_the_node_patch_fails_on_upstream_code_it_does_not_expect(tmp_path, bin_dir):
    stand_in(bin_dir, "node", "exit 0\n")
    (tmp_path / "game" / "server").mkdir(parents=True)
    (tmp_path / "game" / "server" / "odd.js").write_text("var sys = require(`sys`);\n")
    result = subprocess.run(
        ["/bin/sh", str(APP_DIR / "patch-game.sh"), str(tmp_path / "game")],
        env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 1 and "Node 0.x API left" in result.stderr


# --------------------------------------------------------------------------- environment, image


def test_mounts_rotate_the_primary_and_keep_every_other_server_as_backup():
    servers = ["a", "b", "c"]
    assert [(m.source, m.options) for m in (gluster_mount("vol", servers, i) for i in range(4))] == [
        ("a:/vol", "backup-volfile-servers=b:c"),
        ("b:/vol", "backup-volfile-servers=c:a"),
        ("c:/vol", "backup-volfile-servers=a:b"),
        ("a:/vol", "backup-volfile-servers=b:c"),
    ]
    with pytest.raises(ValueError, match="2 or more distinct"):
        gluster_mount("vol", ["a"])
    with pytest.raises(ValueError, match="valid host name"):
        gluster_mount("vol", ["a", "b c"])


def test_each_role_is_told_what_start_sh_requires_of_it_and_nothing_more():
    text = (APP_DIR / "start.sh").read_text()

    def required(function: str) -> set[str]:
        body = text[text.index(f"{function}() {{") :]
        body = body[: body.index("\n}\n")]
        return set(re.findall(r'^\s*: "\$\{(\w+):\?', body, re.MULTILINE))

    volume = volume_environment(gluster_mount("ranchervol", ["a", "b"]))
    serve = serve_environment("203.0.113.7", 80)
    volume_keys = {e.split("=", 1)[0] for e in volume}
    serve_keys = {e.split("=", 1)[0] for e in serve}
    assert required("require_volume_env") == {"GLUSTER_VOLUME", "GLUSTER_MOUNT_SOURCE", "GLUSTER_MOUNT_OPTIONS"}
    assert required("require_serve_env") == {"PUBLIC_HOST", "PUBLIC_PORT"}
    assert required("require_volume_env") <= volume_keys and required("require_serve_env") <= serve_keys
    assert volume == [
        "GLUSTER_VOLUME=ranchervol",
        "GLUSTER_MOUNT_SOURCE=a:/ranchervol",
        "GLUSTER_MOUNT_OPTIONS=backup-volfile-servers=b",
        "MOUNT_ROOT=/mnt",
        f"COPY_ROOT={COPY_ROOT}",
        "SYNC_SECONDS=30",
    ]
    assert not any(k.startswith("GLUSTER") for k in serve_keys), "the game container is told nothing of Gluster"
    assert serve_keys == {"COPY_ROOT", "RUN_DIR", "PUBLIC_HOST", "PUBLIC_PORT", "GAME_PORT"}
    with pytest.raises(ValueError, match="public host"):
        serve_environment("evil'host", 80)
    with pytest.raises(ValueError, match="TCP port"):
        serve_environment("h", 0)
    with pytest.raises(ValueError, match="at least 1 s"):
        volume_environment(gluster_mount("v", ["a", "b"]), sync_seconds=0)


def test_the_dockerfile_builds_on_the_node_image_with_the_pinned_game():
    text = (APP_DIR / "Dockerfile").read_text()
    assert "FROM ${NODE_IMAGE}" in text
    for package in ("nginx", "glusterfs-client", "git", "curl", "tini"):
        assert re.search(rf"\b{package}\b", text), package
    assert f"ARG GAME_COMMIT={GAME_COMMIT}" in text and GAME_COMMIT.startswith("913aa7c")
    assert 'ENTRYPOINT ["/usr/bin/tini", "--"]' in text
    for name in [*SCRIPTS, "smoke-test.js"]:
        assert name in text and (APP_DIR / name).is_file(), f"{name} is copied into the image"


def test_serve_runs_the_game_server_as_an_unprivileged_user(world_readable_dir, root_tool):
    """``start.sh serve`` with stand-ins for nginx and node, and the real setpriv: the game server
    runs as GAME_USER (``nobody`` here; ``node`` in the image), never as root."""
    root_tool("setpriv", "util-linux")
    base = world_readable_dir
    bin_dir = base / "bin"
    bin_dir.mkdir()
    release = base / "copy" / "releases" / "r1"
    (release / "server").mkdir(parents=True)
    (release / "client").mkdir()
    (release / "server" / "server.js").write_text("// server\n")
    (base / "copy" / "current").symlink_to("releases/r1")
    seen = base / "node.log"
    seen.touch()
    seen.chmod(0o666)
    stand_in(bin_dir, "node", f'echo "uid=$(id -u) $*" >> {seen}\nsleep 30\n')
    # nginx -t answers, then "serves" until the game server has started.
    stand_in(bin_dir, "nginx", f'[ "$1" = -t ] && exit 0\nfor i in $(seq 50); do [ -s {seen} ] && exit 0; sleep 0.1; done\nexit 1\n')
    with open(base / "start.log", "w") as err:
        proc = subprocess.Popen(["/bin/sh", str(APP_DIR / "start.sh"), "serve"],
                                env=start_env(base, GAME_USER="nobody"), stderr=err, start_new_session=True)
        try:
            proc.wait(timeout=30)  # nginx's stand-in returns once the game server has started
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
    log = (base / "start.log").read_text()
    nobody = subprocess.run(["id", "-u", "nobody"], capture_output=True, text=True, check=True).stdout.strip()
    lines = seen.read_text().splitlines()
    assert lines and lines[0] == f"uid={nobody} {release}/server/server.js 28785", (lines, log)
