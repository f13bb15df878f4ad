"""``LoadBalancer`` under the mock engine: the planned haproxy.cfg, the container, failure modes."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pulumi
import pytest

from rancher_stacks.config import RegistrySettings
from rancher_stacks.hosts.dockerhost import DockerHost, DockerHostArgs, FailureDomain, SshSettings
from rancher_stacks.images import HAPROXY_IMAGE
from rancher_stacks.net.rules import WORLD
from rancher_stacks.workloads.haproxy.loadbalancer import Backend, LoadBalancer, LoadBalancerArgs, lb_ingress
from rancher_stacks.workloads.haproxy.render_config import CONFIG_PATH
from rancher_stacks.workloads.hitcounter.app import HitCounterApp, HitCounterAppArgs
from tools.mockengine import ProgramRun, run_program

CONTAINER = "docker:index/container:Container"


def host(name: str, public: str, private: str, remote: bool = True) -> DockerHost:
    return DockerHost(
        name,
        DockerHostArgs(
            domain=FailureDomain("gcp", "us-central1", "us-central1-a"),
            public_address=public,
            private_address=private,
            ssh=SshSettings() if remote else None,
        ),
    )


def deploy(algorithm: str = "roundrobin", **extra) -> ProgramRun:
    """The web tier as the program wires it: two app hosts, the balancer on a third."""

    def program() -> None:
        web = [host(f"web{i}", f"203.0.113.{30 + i}", f"10.0.3.{30 + i}") for i in range(2)]
        app = HitCounterApp(
            "app",
            HitCounterAppArgs(
                hosts=web, mongo_url="mongodb://x", registry=RegistrySettings(kind="none"),
                advertise="private",
            ),
        )
        lb = LoadBalancer(
            "lb",
            LoadBalancerArgs(
                host=host("edge", "198.51.100.7", "10.0.3.7"),
                backends=app.backends,
                algorithm=algorithm,
                **extra,
            ),
        )
        pulumi.export("url", lb.url)
        pulumi.export("config", lb.config)

    return run_program(program)


@pytest.fixture(scope="module")
def run() -> ProgramRun:
    return deploy("leastconn")


def haproxy_check(validator, cfg: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f`` on ``cfg``; skips (fails under CI) when haproxy is missing."""
    binary = validator("haproxy", "haproxy")
    (tmp_path / "haproxy.cfg").write_text(cfg)
    return subprocess.run(
        [binary, "-c", "-f", str(tmp_path / "haproxy.cfg")],
        capture_output=True, text=True, timeout=30, check=False,
    )


def uploaded_config(run: ProgramRun) -> str:
    (upload,) = run.by_name("lb-haproxy").inputs["uploads"]
    assert upload["file"] == CONFIG_PATH == "/usr/local/etc/haproxy/haproxy.cfg"
    return upload["content"]


def test_props_are_exactly_what_the_policy_pack_reads(run):
    (component,) = run.by_type("rancher-stacks:index:LoadBalancer")
    assert component.inputs == {
        "algorithm": "leastconn",
        "backends": ["web0", "web1"],
        "healthCheckPath": "/healthcheck",
        "publicPort": 80,
    }


def test_config_balances_the_planned_backends(run):
    cfg = uploaded_config(run)
    assert cfg == run.outputs["config"]
    lines = [line.strip() for line in cfg.splitlines()]
    assert "balance leastconn" in lines
    assert "option httpchk" in lines
    assert "http-check send meth GET uri /healthcheck" in lines
    assert "http-check expect status 200" in lines
    assert "bind :80" in lines
    assert [line for line in lines if line.startswith("server ")] == [
        "server web0 10.0.3.30:5000 check inter 1s rise 2 fall 2 observe layer7 error-limit 5 on-error mark-down",
        "server web1 10.0.3.31:5000 check inter 1s rise 2 fall 2 observe layer7 error-limit 5 on-error mark-down",
    ]


def test_server_maxconn_caps_every_server_and_is_planned():
    run = deploy(server_maxconn=2)
    servers = [line.strip() for line in uploaded_config(run).splitlines() if line.strip().startswith("server ")]
    assert len(servers) == 2 and all(line.endswith(" maxconn 2") for line in servers)
    assert run.by_name("lb").inputs["serverMaxconn"] == 2


def test_planned_config_passes_haproxy_check(run, tmp_path, validator):
    result = haproxy_check(validator, uploaded_config(run), tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr


def test_container_binds_port_80_unprivileged_and_stats_on_loopback(run):
    lb = run.by_name("lb-haproxy")
    assert lb.type == CONTAINER
    assert lb.provider_urn == run.by_name("edge-docker").urn
    assert lb.parent == run.by_type("rancher-stacks:index:LoadBalancer")[0].urn
    inputs = lb.inputs
    assert inputs["sysctls"] == {"net.ipv4.ip_unprivileged_port_start": "0"}
    assert "user" not in inputs  # HAProxy keeps the image's unprivileged user
    assert inputs["ports"] == [
        {"internal": 80, "external": 80},
        {"internal": 8404, "external": 8404, "ip": "127.0.0.1"},
    ]
    assert inputs["restart"] == "unless-stopped"
    assert inputs["image"].startswith("sha256:")
    assert run.by_name("lb-image").inputs["name"] == HAPROXY_IMAGE
    assert run.outputs["url"] == "http://198.51.100.7/"


def test_other_public_port_without_stats():
    run = deploy("source", public_port=8080, stats_port=None, health_path="/status")
    assert run.by_name("lb-haproxy").inputs["ports"] == [{"internal": 8080, "external": 8080}]
    cfg = uploaded_config(run)
    assert "bind :8080" in cfg and "stats enable" not in cfg and "uri /status" in cfg
    assert "balance source" in cfg
    assert run.outputs["url"] == "http://198.51.100.7:8080/"


def test_local_balancer_reaches_the_host_gateway():
    def program() -> None:
        lb = LoadBalancer(
            "lb",
            LoadBalancerArgs(
                host=host("h0", "127.0.0.1", "host.docker.internal", remote=False),
                backends=[Backend("h1", "host.docker.internal", 5000), Backend("h2", "host.docker.internal", 5001)],
            ),
        )
        pulumi.export("url", lb.url)

    run = run_program(program)
    assert run.by_name("lb-haproxy").inputs["hosts"] == [{"host": "host.docker.internal", "ip": "host-gateway"}]
    assert "server h2 host.docker.internal:5001 check" in uploaded_config(run)
    assert run.outputs["url"] == "http://127.0.0.1/"


def test_algorithm_outside_the_list_is_rejected():
    with pytest.raises(ValueError, match="'random' is not supported; use one of roundrobin, leastconn, source"):
        LoadBalancer(
            "lb",
            LoadBalancerArgs(
                host=None,  # type: ignore[arg-type]  # never reached: validation comes first
                backends=[Backend("a", "10.0.0.1", 5000), Backend("b", "10.0.0.2", 5000)],
                algorithm="random",
            ),
        )


def test_bad_backends_are_rejected_before_anything_is_registered():
    for backends, message in (
        ([], "at least one backend"),
        ([Backend("a", "10.0.0.1", 5000), Backend("a", "10.0.0.2", 5000)], "unique"),
        ([Backend("a b", "10.0.0.1", 5000)], "server name"),
        ([Backend("a", "10.0.0.1", 0)], "port"),
    ):
        with pytest.raises(ValueError, match=message):
            LoadBalancer("lb", LoadBalancerArgs(host=None, backends=backends))  # type: ignore[arg-type]


def test_lb_ingress_is_http_from_the_world():
    (rule,) = lb_ingress(80)
    assert rule.service == "http" and rule.source == WORLD
    assert [(p.protocol, p.first) for p in rule.ports] == [("tcp", 80)]
    (moved,) = lb_ingress(8081)
    assert [(p.protocol, p.first) for p in moved.ports] == [("tcp", 8081)]
