"""Linux Dash on every VM host: the cloud-config service, its server, its switch and its firewall rule.

The server script is run for real: against an archive built here (its own checksums), and, where a
clone of the upstream repository is at hand, against ``git archive`` of the pinned commit itself,
which proves the pinned checksums are that commit's files.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import socket
import subprocess
import sys
import tarfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from rancher_stacks.clouds.aws import volume as aws_volume
from rancher_stacks.config import ConfigError, parse_stack_config
from rancher_stacks.hosts.hostgroup import linux_dash_rules
from rancher_stacks.hosts.render_cloud_config import ACCEPTED_SERVICE_KEYS, render_cloud_config
from rancher_stacks.hosts.render_linux_dash import (
    HOST_DIR,
    MODULES,
    SERVER_PATH,
    UPSTREAM_COMMIT,
    UPSTREAM_FILES,
    LinuxDash,
    linux_dash_service,
    server_script,
)
from rancher_stacks.images import LINUX_DASH_IMAGE
from rancher_stacks.net.rules import Cidrs
from rancher_stacks.systems.registry import linux_dash
from tools.plan import plan_stack

ROOT = Path(__file__).resolve().parents[2]
KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIHbXexampleexampleexampleexample admin@example"
# A clone of the upstream repository (the search tool's fetch puts one here); the real-archive
# test runs only where it exists.
# A git directory of tariqbuilds/linux-dash: $LINUX_DASH_CLONE, else the mirrors this project's
# machines keep (a fresh machine has none, and the check skips saying how to supply one).
UPSTREAM_CLONES = [
    *([Path(os.environ["LINUX_DASH_CLONE"])] if os.environ.get("LINUX_DASH_CLONE") else []),
    Path("/work/.mirror/tariqbuilds+linux-dash/repo"),
    Path("/work/.mirror/afaqurk+linux-dash/repo"),
]
# AWS takes at most 16 KB of user data, before base64 (EC2 User Guide, "Instance user data").
AWS_USER_DATA_LIMIT = 16384


def rendered(dash: LinuxDash | None, **kwargs: Any) -> dict[str, Any]:
    text = render_cloud_config(hostname="storage-0", ssh_authorized_keys=[KEY], linux_dash=dash, **kwargs)
    assert text.startswith("#cloud-config\n")
    doc = yaml.safe_load(text)
    assert isinstance(doc, dict)
    return doc


# --------------------------------------------------------------------------- cloud-config


def test_the_service_runs_the_pinned_commit_on_the_loopback_with_least_privilege():
    doc = rendered(LinuxDash())
    service = doc["rancher"]["services"]["linux-dash"]
    assert set(service) <= ACCEPTED_SERVICE_KEYS, set(service) - ACCEPTED_SERVICE_KEYS
    assert service["image"] == LINUX_DASH_IMAGE == "python:3.12.13-bookworm"
    assert service["command"] == ["python3", "/opt/linux-dash/serve.py", "--bind", "127.0.0.1", "--port", "8081"]
    assert service["labels"]["io.rancher-stacks.upstream-commit"] == UPSTREAM_COMMIT
    # User Docker scope: System Docker 17.06 cannot pull OCI images (render_linux_dash docstring).
    assert "io.rancher.os.scope" not in service["labels"]
    assert (service["net"], service["pid"], service["restart"]) == ("host", "host", "always")
    assert service["user"] == "65534:65534" and isinstance(service["user"], str)
    assert service["read_only"] is True and service["cap_drop"] == ["ALL"]
    assert service["security_opt"] == ["no-new-privileges"] and "privileged" not in service
    assert service["volumes"] == [f"{HOST_DIR}:/opt/linux-dash:ro"]
    [server] = doc["write_files"]
    assert (server["path"], server["permissions"], server["owner"]) == (SERVER_PATH, "0644", "root")
    assert server["content"] == server_script()
    assert f"COMMIT = {UPSTREAM_COMMIT!r}" in server["content"]
    assert f"https://github.com/tariqbuilds/linux-dash/archive/{UPSTREAM_COMMIT}.tar.gz" in server["content"]


def test_the_exposed_service_binds_every_address_and_a_chosen_port():
    service = linux_dash_service(LinuxDash(port=9443, exposed=True))
    assert service["command"][-4:] == ["--bind", "0.0.0.0", "--port", "9443"]
    with pytest.raises(ValueError, match="1024-65535"):
        LinuxDash(port=80)


def test_switched_off_the_host_gets_no_service_and_no_file():
    doc = rendered(None)
    assert "services" not in doc["rancher"] and "write_files" not in doc
    with_disk = rendered(None, data_disk=aws_volume.data_disk("vol-0123456789abcdef0"))
    assert [f["path"] for f in with_disk["write_files"]] == ["/opt/rancher-stacks/mount-data-volume.sh"]


def test_it_sits_beside_the_mount_script_and_fits_in_aws_user_data():
    disk = aws_volume.data_disk("vol-0123456789abcdef0")
    text = render_cloud_config(
        hostname="storage-0",
        ssh_authorized_keys=[KEY],
        sysctl={"vm.max_map_count": "262144"},
        data_disk=disk,
        docker_engine="docker-29.8.2",
        linux_dash=LinuxDash(),
    )
    doc = yaml.safe_load(text)
    assert [f["path"] for f in doc["write_files"]] == ["/opt/rancher-stacks/mount-data-volume.sh", SERVER_PATH]
    assert doc["runcmd"] == ["/opt/rancher-stacks/mount-data-volume.sh"]
    assert len(text.encode()) < AWS_USER_DATA_LIMIT, len(text.encode())


def test_the_server_script_compiles_and_refuses_bad_pins():
    compile(server_script(), "serve.py", "exec")
    with pytest.raises(ValueError, match="40-hex"):
        server_script(commit="186a802e")
    with pytest.raises(ValueError, match="bad pinned file"):
        server_script(files={**UPSTREAM_FILES, "app/../etc/passwd": "0" * 64})
    with pytest.raises(ValueError, match="needs"):
        server_script(files={"app/index.html": "0" * 64})


# --------------------------------------------------------------------------- firewall rule


def test_exposed_mode_adds_exactly_the_admin_rule_and_loopback_adds_none():
    admins = ["203.0.113.0/24", "2001:db8::/64"]
    assert linux_dash_rules(None, admins) == []
    assert linux_dash_rules(LinuxDash(), admins) == []
    [rule] = linux_dash_rules(LinuxDash(port=8081, exposed=True), admins)
    assert rule.service == "linux-dash" and rule.key == "linux-dash-admin"
    assert rule.source == Cidrs(tuple(admins), name="admin")
    assert [(p.protocol, p.first, p.last) for p in rule.ports] == [("tcp", 8081, 8081)]
    [moved] = linux_dash_rules(LinuxDash(port=9443, exposed=True), admins)
    assert moved.key == "linux-dash-9443-admin" and moved.ports[0].first == 9443


# --------------------------------------------------------------------------- the server, run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def make_archive(path: Path, commit: str, files: dict[str, bytes]) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"linux-dash-{commit}/{name}")
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
    path.write_bytes(buffer.getvalue())


FAKE_COMMIT = "0123456789abcdef0123456789abcdef01234567"
FAKE_SCRIPT = b"""#!/bin/bash
load_avg() {
  echo '{ "1_min_avg": 1, "called_as": "'"$0"'" }'
}
cpu_info() {
  echo '{ "cwd": "'"$(pwd)"'" }'
}
docker_processes() {
  echo '[ "must never run" ]'
}
fnCalled="$1"
if [ "$(type -t "$fnCalled")" = function ]; then
  "$fnCalled"
else
  echo '{"status":"Invalid module"}'
fi
"""
FAKE_FILES = {
    "app/index.html": b"<html>dash</html>\n",
    "app/linuxDash.min.css": b"body{}\n",
    "app/linuxDash.min.js": b"var x;\n",
    "app/server/linux_json_api.sh": FAKE_SCRIPT,
}


def sha256s(files: dict[str, bytes]) -> dict[str, str]:
    return {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}


class Server:
    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process, self.port = process, port

    def get(self, path: str) -> tuple[int, str, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=20) as response:
                return response.status, response.headers["Content-Type"], response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.headers["Content-Type"], err.read()


@contextlib.contextmanager
def start_server(tmp_path: Path, script: str, archive: Path) -> Iterator[Server]:
    path = tmp_path / "serve.py"
    path.write_text(script)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(path), "--bind", "127.0.0.1", "--port", str(port), "--archive-url", archive.as_uri()],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"server exited {process.returncode}: {process.stderr.read() if process.stderr else ''}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise AssertionError("server did not listen within 20 s")
        yield Server(process, port)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def fake_server(tmp_path: Path, validator) -> Iterator[Server]:
    validator("bash", "bash")  # linux_json_api.sh is a bash script
    archive = tmp_path / "archive.tar.gz"
    make_archive(archive, FAKE_COMMIT, {**FAKE_FILES, "app/server/index.py": b"print('never served')\n"})
    with start_server(tmp_path, server_script(commit=FAKE_COMMIT, files=sha256s(FAKE_FILES)), archive) as server:
        yield server


def test_the_server_serves_the_page_and_only_allow_listed_modules(fake_server):
    assert fake_server.get("/") == (200, "text/html; charset=utf-8", FAKE_FILES["app/index.html"])
    assert fake_server.get("/linuxDash.min.js")[2] == FAKE_FILES["app/linuxDash.min.js"]
    status, content_type, body = fake_server.get("/server/?module=load_avg")
    assert (status, content_type) == (200, "application/json")
    assert json.loads(body) == {"1_min_avg": 1, "called_as": "linux_json_api.sh"}
    assert json.loads(fake_server.get("/server/?module=cpu_info")[2]) == {"cwd": "/"}
    assert "docker_processes" not in MODULES
    for refused in (
        "/server/?module=docker_processes",
        "/server/?module=load_avg;id",
        "/server/?module=load_avg%20docker_processes",
        "/server/",
        "/server/index.py",
        "/app/server/linux_json_api.sh",
        "/../../etc/passwd",
        "/websocket",
    ):
        status, _, body = fake_server.get(refused)
        assert status == 404 and b"must never run" not in body, refused


def test_the_server_refuses_an_archive_whose_files_differ(tmp_path):
    archive = tmp_path / "archive.tar.gz"
    tampered = {**FAKE_FILES, "app/linuxDash.min.js": b"steal();\n"}
    make_archive(archive, FAKE_COMMIT, tampered)
    script = tmp_path / "serve.py"
    script.write_text(server_script(commit=FAKE_COMMIT, files=sha256s(FAKE_FILES)))
    port = free_port()
    done = subprocess.run(
        [sys.executable, str(script), "--port", str(port), "--archive-url", archive.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0
    assert "app/linuxDash.min.js has sha256" in done.stderr and "refusing to serve" in done.stderr


def test_the_server_refuses_an_archive_of_another_commit(tmp_path):
    archive = tmp_path / "archive.tar.gz"
    make_archive(archive, "f" * 40, FAKE_FILES)
    script = tmp_path / "serve.py"
    script.write_text(server_script(commit=FAKE_COMMIT, files=sha256s(FAKE_FILES)))
    done = subprocess.run(
        [sys.executable, str(script), "--port", str(free_port()), "--archive-url", archive.as_uri()],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode != 0 and "unexpected archive entry" in done.stderr


def upstream_clone() -> Path:
    for clone in UPSTREAM_CLONES:
        if (clone / "HEAD").exists() and shutil.which("git"):
            found = subprocess.run(
                ["git", "--git-dir", str(clone), "cat-file", "-e", f"{UPSTREAM_COMMIT}^{{commit}}"],
                capture_output=True,
            )
            if found.returncode == 0:
                return clone
    pytest.skip(
        "no clone of tariqbuilds/linux-dash holding the pinned commit: "
        "git clone --bare https://github.com/tariqbuilds/linux-dash and set LINUX_DASH_CLONE to it"
    )


def test_the_pinned_checksums_are_the_commits_files_and_its_modules_answer(tmp_path):
    clone = upstream_clone()
    for name, digest in UPSTREAM_FILES.items():
        blob = subprocess.run(
            ["git", "--git-dir", str(clone), "show", f"{UPSTREAM_COMMIT}:{name}"], capture_output=True, check=True
        ).stdout
        assert hashlib.sha256(blob).hexdigest() == digest, name
    archive = tmp_path / "upstream.tar.gz"
    subprocess.run(
        ["git", "--git-dir", str(clone), "archive", "--format=tar.gz", f"--prefix=linux-dash-{UPSTREAM_COMMIT}/",
         "-o", str(archive), UPSTREAM_COMMIT],
        check=True,
        env={**os.environ, "GIT_CONFIG_NOSYSTEM": "1"},
    )
    with start_server(tmp_path, server_script(), archive) as server:
        status, _, page = server.get("/")
        assert status == 200 and b"linuxDash.min.js" in page
        load = json.loads(server.get("/server/?module=load_avg")[2])
        assert set(load) == {"1_min_avg", "5_min_avg", "15_min_avg"}
        ram = json.loads(server.get("/server/?module=current_ram")[2])
        assert ram["total"] > 0


# --------------------------------------------------------------------------- config and stacks


def stack_config(name: str) -> dict[str, Any]:
    raw = yaml.safe_load((ROOT / f"Pulumi.{name}.yaml").read_text())["config"]
    return {key.split(":", 1)[1]: value for key, value in raw.items()}


def test_dev_and_prod_run_it_on_the_loopback_and_local_does_not():
    for name in ("dev", "prod"):
        dash = linux_dash(parse_stack_config(stack_config(name)))
        assert dash == LinuxDash(port=8081, exposed=False), name
    local = parse_stack_config(stack_config("local"))
    assert local.host_services.linux_dash.enabled is False and linux_dash(local) is None


def test_it_is_on_by_default_and_a_switch_turns_it_off():
    raw = stack_config("dev")
    raw.pop("hostServices", None)
    assert linux_dash(parse_stack_config(raw)) == LinuxDash()
    off = parse_stack_config({**raw, "hostServices": {"linuxDash": {"enabled": False}}})
    assert linux_dash(off) is None
    exposed = parse_stack_config({**raw, "hostServices": {"linuxDash": {"exposeToAdmins": True, "port": 9443}}})
    assert linux_dash(exposed) == LinuxDash(port=9443, exposed=True)


def test_on_rancheros_it_is_off_by_default_and_refused_when_asked_for():
    raw = {**stack_config("dev"), "hostOs": {"name": "rancheros"}}
    raw["clouds"] = {k: v for k, v in raw["clouds"].items() if k != "digitalocean"}
    raw["workloads"] = {"storage": raw["workloads"]["storage"], "database": {"cloud": "gcp", "image": "mongo:6.0"}}
    raw["clouds"]["aws"] = {k: v for k, v in raw["clouds"]["aws"].items() if k != "amiId"}
    raw["clouds"]["gcp"] = {k: v for k, v in raw["clouds"]["gcp"].items() if k != "imageUrl"}
    raw.pop("hostServices", None)
    assert linux_dash(parse_stack_config(raw)) is None
    # Off by default there, so its settings are not held against the stack.
    assert linux_dash(parse_stack_config({**raw, "hostServices": {"linuxDash": {"port": 27017}}})) is None
    with pytest.raises(ConfigError, match=r"^rancher-stacks:hostServices\.linuxDash\.enabled: expected false on RancherOS"):
        parse_stack_config({**raw, "hostServices": {"linuxDash": {"enabled": True}}})


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"port": 5000}, r"hostServices\.linuxDash\.port: expected a TCP port .* 5000 is workloads\.webapp\.port's"),
        ({"port": 8080}, r"hostServices\.linuxDash\.port: expected .* 8080 is the rancher-ui service's"),
        ({"port": 80}, r"hostServices\.linuxDash\.port: expected a value that is greater than or equal to 1024"),
        ({"expose": True}, r"hostServices\.linuxDash\.expose: expected no such key"),
        ({"enabled": "maybe"}, r"hostServices\.linuxDash\.enabled: expected"),
    ],
)
def test_bad_settings_name_their_key(settings, message):
    with pytest.raises(ConfigError, match=r"^rancher-stacks:" + message):
        parse_stack_config({**stack_config("dev"), "hostServices": {"linuxDash": settings}})


@pytest.fixture(scope="module")
def dev_plans(tmp_path_factory) -> dict[str, dict]:
    text = (ROOT / "Pulumi.dev.yaml").read_text()
    assert "exposeToAdmins: false" in text
    exposed = tmp_path_factory.mktemp("exposed") / "Pulumi.dev.yaml"
    exposed.write_text(text.replace("exposeToAdmins: false", "exposeToAdmins: true"))
    return {"loopback": plan_stack(ROOT / "Pulumi.dev.yaml"), "exposed": plan_stack(exposed)}


def user_data(resource: dict) -> str:
    inputs = resource["inputs"]
    return str(inputs.get("userData") or inputs.get("metadata", {}).get("user-data"))


def test_every_dev_vm_carries_the_service(dev_plans):
    vm_types = ("aws:ec2/instance:Instance", "gcp:compute/instance:Instance", "digitalocean:index/droplet:Droplet")
    plan = dev_plans["loopback"]
    vms = [r for r in plan["resources"] if r["type"] in vm_types]
    hosts = [r for r in plan["resources"] if r["type"] == "rancher-stacks:index:DockerHost"]
    assert len(vms) == len(hosts) >= 9  # every host of every system is a VM in dev
    for vm in vms:
        service = yaml.safe_load(user_data(vm))["rancher"]["services"]["linux-dash"]
        assert service["command"][-4:] == ["--bind", "127.0.0.1", "--port", "8081"], vm["name"]


def test_exposed_dev_adds_exactly_the_admin_rules(dev_plans):
    def rules(plan: dict) -> dict[str, dict]:
        return {r["name"]: r["inputs"] for r in plan["resources"] if "fw-" in r["name"] and r["type"] != "rancher-stacks:index:Firewall"}

    loopback, exposed = rules(dev_plans["loopback"]), rules(dev_plans["exposed"])
    added = sorted(set(exposed) - set(loopback))
    # One rule per AWS or GCP host group (DigitalOcean firewalls carry it inline, below).
    firewalls = [r for r in dev_plans["loopback"]["resources"] if r["type"] == "rancher-stacks:index:Firewall"]
    expected = {"aws": "{}-linux-dash-admin-tcp8081-v4-203-0-113-0-24", "gcp": "{}-linux-dash-admin"}
    assert added == sorted(
        expected[f["inputs"]["cloud"]].format(f["name"]) for f in firewalls if f["inputs"]["cloud"] in expected
    )
    assert "database-fw-linux-dash-admin" in added and len(added) >= 3
    assert set(loopback) <= set(exposed)
    assert exposed["database-fw-linux-dash-admin"]["sourceRanges"] == ["203.0.113.0/24"]
    assert exposed["database-fw-linux-dash-admin"]["allows"] == [{"ports": ["8081"], "protocol": "tcp"}]
    for name in added:
        if name == "database-fw-linux-dash-admin":
            continue
        assert (exposed[name]["cidrIpv4"], exposed[name]["fromPort"], exposed[name]["toPort"]) == ("203.0.113.0/24", 8081, 8081)
    for name in ("lb-fw-firewall", "webapp-fw-firewall"):
        new = [r for r in exposed[name]["inboundRules"] if r not in loopback[name]["inboundRules"]]
        assert new == [{"portRange": "8081", "protocol": "tcp", "sourceAddresses": ["203.0.113.0/24"]}], name
    for name in set(loopback) & set(exposed):
        if name not in ("lb-fw-firewall", "webapp-fw-firewall"):
            assert loopback[name] == exposed[name], name
