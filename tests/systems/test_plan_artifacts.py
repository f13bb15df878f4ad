"""Every file the shipped stacks would put on a host, taken from the plan and fed to its real validator.

The renderers have their own tests; these check what the program actually wires together:
the haproxy.cfg and nginx.conf uploaded into containers, every shell script run over SSH or
locally, every script uploaded into a container, and every VM's cloud-config.
"""

import subprocess
from pathlib import Path

import pytest
import yaml

from rancher_stacks.hosts.render_cloud_config import (
    ACCEPTED_DOCKER_KEYS,
    ACCEPTED_RANCHER_KEYS,
    ACCEPTED_TOP_LEVEL_KEYS,
    ACCEPTED_WRITE_FILE_KEYS,
)
from tools.plan import plan_stack

ROOT = Path(__file__).resolve().parents[2]
USER_DATA = {
    "aws:ec2/instance:Instance": lambda i: i.get("userData"),
    "gcp:compute/instance:Instance": lambda i: (i.get("metadata") or {}).get("user-data"),
    "digitalocean:index/droplet:Droplet": lambda i: i.get("userData"),
}


@pytest.fixture(scope="module", params=["dev", "local"])
def plan(request) -> dict:
    return plan_stack(ROOT / f"Pulumi.{request.param}.yaml")


def uploads(plan: dict, suffix: str) -> list[tuple[str, str]]:
    """Uploaded files ending in ``suffix``. A container whose uploads hold a secret (the CI front's
    TLS key, an agent's secret) shows them as one secret value, which no test can read: the CI
    front's haproxy.cfg is checked by tests/workloads/haproxy/test_render_haproxy_tls.py."""
    return [
        (f"{r['name']}:{u['file']}", u["content"])
        for r in plan["resources"]
        if r["type"] == "docker:index/container:Container" and r["inputs"].get("uploads") != "[secret]"
        for u in r["inputs"].get("uploads") or []
        if u["file"].endswith(suffix)
    ]


def validate(cmd: list[str], what: str) -> None:
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{what}:\n{result.stdout}{result.stderr}"


def test_haproxy_configs_pass_haproxy_c(plan, tmp_path, validator):
    configs = uploads(plan, "haproxy.cfg")
    assert len(configs) == 1
    haproxy = validator("haproxy", "haproxy")
    for what, content in configs:
        path = tmp_path / "haproxy.cfg"
        path.write_text(content)
        validate([haproxy, "-c", "-f", str(path)], what)


def test_nginx_configs_pass_nginx_t(plan, tmp_path, validator):
    configs = uploads(plan, "nginx.conf")
    assert configs, "the game serves its client through nginx"
    assert any("auth_basic" in content for _, content in configs), "Kibana is published through nginx"
    nginx = validator("nginx", "nginx")
    # The Kibana proxy reads its certificate, key and htpasswd (written by the container's
    # entrypoint from its secret environment) from /etc/nginx/certs: the same files, made here.
    certs = tmp_path / "certs"
    certs.mkdir()
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(certs / "server.key"), "-out", str(certs / "server.crt")],
        check=True, capture_output=True,
    )  # fmt: skip
    (certs / "htpasswd").write_text("kibana:$2a$10$" + "a" * 53 + "\n")
    for what, content in configs:
        path = tmp_path / "nginx.conf"
        path.write_text(content.replace("/etc/nginx/certs/", f"{certs}/"))
        validate([nginx, "-t", "-q", "-c", str(path)], what)


def test_every_script_passes_shellcheck(plan, tmp_path, validator):
    scripts = [(f"{r['name']}:create", r["inputs"]["create"]) for r in plan["resources"]
               if r["type"].startswith("command:") and r["inputs"].get("create")]
    scripts += uploads(plan, ".sh")
    assert len(scripts) >= 3
    shellcheck = validator("shellcheck", "shellcheck")
    for i, (what, content) in enumerate(scripts):
        path = tmp_path / f"script-{i}.sh"
        path.write_text(content if content.startswith("#!") else "#!/bin/sh\n" + content)
        validate([shellcheck, "-s", "sh", str(path)], what)


def test_every_cloud_config_uses_only_keys_rancheros_accepts(plan, tmp_path, validator):
    documents = [(r["name"], get(r["inputs"])) for r in plan["resources"]
                 for t, get in USER_DATA.items() if r["type"] == t]
    if plan["stack"] == "local":
        assert documents == []
        return
    assert len(documents) == 9 + 9 + 4  # the seed systems' hosts, the logging system's, the CI system's
    for name, text in documents:
        assert text.startswith("#cloud-config\n"), name
        doc = yaml.safe_load(text)
        assert set(doc) <= ACCEPTED_TOP_LEVEL_KEYS, name
        assert set(doc.get("rancher", {})) <= ACCEPTED_RANCHER_KEYS, name
        assert set(doc.get("rancher", {}).get("docker", {})) <= ACCEPTED_DOCKER_KEYS, name
        for i, entry in enumerate(doc.get("write_files", [])):
            assert set(entry) <= ACCEPTED_WRITE_FILE_KEYS, name
            if entry["content"].startswith("#!"):
                path = tmp_path / f"{name}-{i}.sh"
                path.write_text(entry["content"])
                validate([validator("shellcheck", "shellcheck"), str(path)], f"{name}:{entry['path']}")
        for mount in doc.get("mounts", []):
            assert len(mount) == 4 and mount[2] == "ext4", (name, mount)
