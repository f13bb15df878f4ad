"""The TLS public side of haproxy.cfg (the CI front), checked with the real ``haproxy -c`` on a
real certificate; without TLS the file is byte for byte the one the web tier always had."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from rancher_stacks.workloads.haproxy.loadbalancer import Backend, balancer_config
from rancher_stacks.workloads.haproxy.render_config import TLS_PEM_PATH, Server, render_haproxy_cfg

SERVERS = [Server("ci-0", "10.0.0.21", 8080)]


def self_signed_pem(validator, tmp_path: Path) -> Path:
    openssl = validator("openssl", "openssl")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=jenkins"],
        capture_output=True, check=True,
    )  # fmt: skip
    pem = tmp_path / "site.pem"
    pem.write_text(cert.read_text() + key.read_text())
    return pem


def test_the_tls_frontend_passes_haproxy_check(tmp_path, validator):
    pem = self_signed_pem(validator, tmp_path)
    cfg = render_haproxy_cfg(SERVERS, "roundrobin", "/login", 443, stats_port=8404, tls_pem_path=str(pem))
    path = tmp_path / "haproxy.cfg"
    path.write_text(cfg)
    haproxy = validator("haproxy", "haproxy")
    result = subprocess.run([haproxy, "-c", "-f", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "[ALERT]" not in result.stderr, result.stderr


def test_tls_binds_with_the_certificate_and_tells_the_backend_the_scheme():
    lines = [
        line.strip()
        for line in render_haproxy_cfg(SERVERS, "roundrobin", "/login", 443, tls_pem_path=TLS_PEM_PATH).splitlines()
    ]
    assert f"bind :443 ssl crt {TLS_PEM_PATH}" in lines and "bind :443" not in lines
    assert "http-request set-header X-Forwarded-Proto https" in lines
    assert "http-request set-header X-Forwarded-Port 443" in lines
    assert "http-check send meth GET uri /login" in lines


def test_without_tls_the_web_tier_file_is_unchanged():
    backends = [Backend("webapp-0", "a", 5000), Backend("webapp-1", "b", 5000)]
    kwargs = {"algorithm": "roundrobin", "health_path": "/healthcheck", "public_port": 80, "stats_port": 8404}
    plain = balancer_config(backends, ["10.0.0.1", "10.0.0.2"], **kwargs, server_maxconn=2)
    assert plain == balancer_config(backends, ["10.0.0.1", "10.0.0.2"], **kwargs, server_maxconn=2, tls=False)
    assert "ssl" not in plain and "X-Forwarded-Proto" not in plain


@pytest.mark.parametrize("path", ["relative.pem", "/etc/haproxy/site.crt", "/a b.pem"])
def test_a_bad_pem_path_is_refused(path):
    with pytest.raises(ValueError, match="PEM path"):
        render_haproxy_cfg(SERVERS, "roundrobin", tls_pem_path=path)
