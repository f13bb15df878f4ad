"""The rendered haproxy.cfg, checked with the real ``haproxy -c`` (installed by .ci/run)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rancher_stacks.workloads.haproxy.render_config import ALGORITHMS, Server, check_settings, render_haproxy_cfg

SERVERS = [Server("web-0", "10.0.0.11", 5000), Server("web-1", "10.0.0.12", 5000)]


def haproxy_check(validator, cfg: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """``haproxy -c -f`` on ``cfg``; skips (fails under CI) when haproxy is missing."""
    binary = validator("haproxy", "haproxy")
    path = tmp_path / "haproxy.cfg"
    path.write_text(cfg)
    return subprocess.run(
        [binary, "-c", "-f", str(path)], capture_output=True, text=True, timeout=30, check=False
    )


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize("stats_port", [None, 8404])
def test_every_algorithm_renders_a_config_haproxy_accepts(algorithm, stats_port, tmp_path, validator):
    cfg = render_haproxy_cfg(SERVERS, algorithm, "/healthcheck", 80, stats_port=stats_port)
    result = haproxy_check(validator, cfg, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Configuration file is valid" in result.stdout + result.stderr
    assert "[WARNING]" not in result.stderr and "[ALERT]" not in result.stderr, result.stderr


def test_config_balances_and_health_checks_every_server():
    cfg = render_haproxy_cfg(SERVERS, "leastconn", "/healthcheck", 80)
    lines = [line.strip() for line in cfg.splitlines()]
    assert "bind :80" in lines
    assert "balance leastconn" in lines
    assert "option httpchk" in lines
    assert "http-check send meth GET uri /healthcheck" in lines
    assert "http-check expect status 200" in lines
    assert [line for line in lines if line.startswith("server ")] == [
        "server web-0 10.0.0.11:5000 check inter 1s rise 2 fall 2 observe layer7 error-limit 5 on-error mark-down",
        "server web-1 10.0.0.12:5000 check inter 1s rise 2 fall 2 observe layer7 error-limit 5 on-error mark-down",
    ]
    assert "stats enable" not in lines


def test_failures_are_retried_elsewhere_only_before_reaching_the_app():
    """A failed connection is retried on another server each time; nothing the app may have
    counted (the hit counter's GET increments) is retried."""
    lines = [line.strip() for line in render_haproxy_cfg(SERVERS, "roundrobin").splitlines()]
    assert "option redispatch 1" in lines and "retries 2" in lines
    assert [line for line in lines if line.startswith("retry-on")] == ["retry-on conn-failure"]
    assert "timeout check 1s" in lines
    # Without it, the queue timeout would be the 2 s connect timeout.
    assert "timeout queue 10s" in lines


def test_server_maxconn_is_rendered_and_accepted(tmp_path, validator):
    cfg = render_haproxy_cfg(SERVERS, "leastconn", server_maxconn=2)
    servers = [line.strip() for line in cfg.splitlines() if line.strip().startswith("server ")]
    assert servers and all(line.endswith(" maxconn 2") for line in servers)
    assert "maxconn" not in " ".join(line for line in render_haproxy_cfg(SERVERS, "leastconn").splitlines()
                                     if line.strip().startswith("server "))
    result = haproxy_check(validator, cfg, tmp_path)
    assert result.returncode == 0 and "[WARNING]" not in result.stderr, result.stdout + result.stderr
    with pytest.raises(ValueError, match="server_maxconn"):
        render_haproxy_cfg(SERVERS, "leastconn", server_maxconn=0)


def test_source_balancing_hashes_consistently():
    lines = render_haproxy_cfg(SERVERS, "source").splitlines()
    assert lines.index("    balance source") + 1 == lines.index("    hash-type consistent")
    assert "hash-type" not in render_haproxy_cfg(SERVERS, "roundrobin")


def test_public_port_and_stats_port_are_bound(tmp_path, validator):
    cfg = render_haproxy_cfg(SERVERS, "roundrobin", "/status", 8080, stats_port=9000)
    assert "    bind :8080\n" in cfg and "    bind :9000\n" in cfg
    assert "uri /status" in cfg
    assert haproxy_check(validator, cfg, tmp_path).returncode == 0


def test_algorithm_outside_the_list_is_rejected_with_the_choices():
    with pytest.raises(ValueError, match=r"'random' is not supported; use one of roundrobin, leastconn, source"):
        render_haproxy_cfg(SERVERS, "random")
    with pytest.raises(ValueError, match="not supported"):
        check_settings("static-rr", "/healthcheck", 80, ["a", "b"])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"health_path": "healthcheck"}, "must start with '/'"),
        ({"health_path": "/health check"}, "must start with '/'"),
        ({"public_port": 0}, "public port"),
        ({"stats_port": 80}, "collides"),
    ],
)
def test_bad_settings_are_rejected(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_haproxy_cfg(SERVERS, "roundrobin", **kwargs)


def test_bad_servers_are_rejected():
    with pytest.raises(ValueError, match="at least one backend"):
        render_haproxy_cfg([], "roundrobin")
    with pytest.raises(ValueError, match="unique; repeated: web-0"):
        render_haproxy_cfg([SERVERS[0], SERVERS[0]], "roundrobin")
    with pytest.raises(ValueError, match="server name"):
        Server("web 0", "10.0.0.1", 5000)
    with pytest.raises(ValueError, match="not a host name or IPv4"):
        Server("web-0", "10.0.0.1; rm -rf /", 5000)
    with pytest.raises(ValueError, match="port"):
        Server("web-0", "10.0.0.1", 70000)
