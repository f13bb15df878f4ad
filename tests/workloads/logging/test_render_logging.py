"""The logging system's rendered files, checked by the real programs where one exists:
redis-server runs the broker config, nginx -t reads the proxy config, htpasswd -vb checks the
basic-auth entry, shellcheck reads every sh script, and the entrypoints run."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import time
from pathlib import Path

import bcrypt
import pytest
import yaml

from rancher_stacks.workloads.elasticsearch.render_config import (
    CA_ENV,
    CERT_ENV,
    FORMED_MARKER_NAME,
    KEY_ENV,
    NodeSettings,
    node_roles,
    render_elasticsearch_yml,
    render_entrypoint,
    render_mark_formed,
    render_setup_script,
    writer_role,
)
from rancher_stacks.workloads.filebeat.render_config import render_filebeat_yml
from rancher_stacks.workloads.kibana.render_kibana import render_kibana_yml
from rancher_stacks.workloads.kibana.render_nginx import render_htpasswd, render_nginx_conf
from rancher_stacks.workloads.logstash.render_pipelines import render_collector_pipeline, render_indexer_pipeline
from rancher_stacks.workloads.redis.render_config import render_redis_conf
from rancher_stacks.workloads.render_tls_files import SecretFile, render_tls_entrypoint

PASSWORD = "Q7xkW2mPz9LrT4vBn8Hc3JdF"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def shellcheck(validator, script: str, tmp_path: Path, shell: str = "sh") -> None:
    path = tmp_path / "script.sh"
    path.write_text(script)
    result = subprocess.run(
        [validator("shellcheck", "shellcheck"), f"--shell={shell}", "--severity=style", str(path)],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout


# --------------------------------------------------------------------------- Redis


class Resp:
    """A minimal RESP client: enough to AUTH, PING, RPUSH, LLEN and SAVE."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        self.file = self.sock.makefile("rb")

    def call(self, *args: str) -> str:
        out = f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)
        self.sock.sendall(out.encode())
        line = self.file.readline().decode().rstrip("\r\n")
        if line.startswith("$") and line != "$-1":
            return self.file.readline().decode().rstrip("\r\n")
        return line

    def close(self) -> None:
        self.file.close()
        self.sock.close()


@pytest.fixture
def redis_server(tmp_path, root_tool):
    server = root_tool("redis-server", "redis-server")
    port = free_port()
    data = tmp_path / "data"
    data.mkdir()
    conf = tmp_path / "redis.conf"
    conf.write_text(render_redis_conf(password=PASSWORD, port=port, bind=("127.0.0.1",), data_dir=str(data)))
    proc = subprocess.Popen([server, str(conf)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else "redis-server exited"
                time.sleep(0.05)
        yield port, data
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_redis_refuses_clients_without_the_password_and_persists_to_the_data_dir(redis_server):
    port, data = redis_server
    client = Resp(port)
    try:
        assert client.call("PING").startswith("-NOAUTH")
        assert client.call("AUTH", "wrong-password-here").startswith("-WRONGPASS")
        assert client.call("AUTH", PASSWORD) == "+OK"
        assert client.call("PING") == "+PONG"
        assert client.call("RPUSH", "rancher-stacks-logs", '{"message":"hello"}') == ":1"
        assert client.call("SAVE") == "+OK"
    finally:
        client.close()
    assert (data / "dump.rdb").is_file()
    aof = list(data.rglob("appendonly.aof*"))
    assert aof, list(data.iterdir())


def test_the_redis_config_refuses_a_weak_password():
    with pytest.raises(ValueError):
        render_redis_conf(password="short")
    assert "requirepass" in render_redis_conf(password=PASSWORD) and "appendonly yes" in render_redis_conf(
        password=PASSWORD
    )


# --------------------------------------------------------------------------- nginx and htpasswd


def bcrypt_2a(password: str) -> str:
    """A hash of the shape pulumi-random's bcryptHash gives ($2a$, cost 10)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=10, prefix=b"2a")).decode()


def test_htpasswd_accepts_the_password_and_refuses_another(tmp_path, validator):
    htpasswd = validator("htpasswd", "apache2-utils")
    path = tmp_path / "htpasswd"
    path.write_text(render_htpasswd("kibana", bcrypt_2a(PASSWORD)))
    ok = subprocess.run([htpasswd, "-vb", str(path), "kibana", PASSWORD], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    bad = subprocess.run([htpasswd, "-vb", str(path), "kibana", PASSWORD + "x"], capture_output=True, text=True)
    assert bad.returncode != 0
    with pytest.raises(ValueError):
        render_htpasswd("kibana", "plain-text")


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "server.crt", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "1",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


def test_the_proxy_config_passes_nginx_t(tmp_path, validator):
    nginx = validator("nginx", "nginx")
    cert, key = self_signed(tmp_path)
    htpasswd = tmp_path / "htpasswd"
    htpasswd.write_text(render_htpasswd("kibana", bcrypt_2a(PASSWORD)))
    conf = tmp_path / "nginx.conf"
    conf.write_text(
        render_nginx_conf(
            listen_port=free_port(),
            upstream="127.0.0.1:5601",
            cert_file=str(cert),
            key_file=str(key),
            htpasswd_file=str(htpasswd),
            pid_file=f"{tmp_path}/nginx.pid",
        )
    )
    result = subprocess.run(
        [nginx, "-t", "-c", str(conf), "-e", f"{tmp_path}/error.log"], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    assert "test is successful" in result.stderr


def test_the_proxy_asks_for_basic_auth_and_keeps_the_credentials_from_kibana():
    conf = render_nginx_conf(listen_port=443, upstream="kibana:5601")
    assert "auth_basic_user_file /etc/nginx/certs/htpasswd;" in conf
    assert 'proxy_set_header Authorization "";' in conf
    assert "listen 443 ssl;" in conf and "set $kibana http://kibana:5601;" in conf and "resolver 127.0.0.11" in conf


# --------------------------------------------------------------------------- entrypoints


def test_the_secret_files_wrapper_writes_files_unsets_variables_and_runs_the_command(tmp_path, validator):
    script = render_tls_entrypoint(
        [SecretFile("RS_A", f"{tmp_path}/certs/a.pem", "0400"), SecretFile("RS_B", f"{tmp_path}/certs/b.pem", "0444")]
    )
    shellcheck(validator, script, tmp_path)
    wrapper = tmp_path / "entry.sh"
    wrapper.write_text(script)
    env = {"PATH": os.environ["PATH"], "RS_A": "secret-a", "RS_B": "public-b"}
    out = subprocess.run(["sh", str(wrapper), "sh", "-c", 'echo "A=${RS_A:-unset} $1"', "_", "arg"],
                         env=env, capture_output=True, text=True, check=True)  # fmt: skip
    assert out.stdout.strip() == "A=unset arg"
    assert (tmp_path / "certs/a.pem").read_text() == "secret-a\n"
    assert stat.S_IMODE((tmp_path / "certs/a.pem").stat().st_mode) == 0o400
    assert stat.S_IMODE((tmp_path / "certs/b.pem").stat().st_mode) == 0o444
    missing = subprocess.run(["sh", str(wrapper), "true"], env={"PATH": os.environ["PATH"], "RS_A": "x"},
                             capture_output=True, text=True)  # fmt: skip
    assert missing.returncode != 0 and "RS_B is not set" in missing.stderr


def test_initial_master_nodes_is_passed_only_until_the_cluster_formed(tmp_path, validator, root_tool):
    # The entrypoint chowns the data directory: root (and coreutils' chown) are needed.
    root_tool("chown", "coreutils")
    data = tmp_path / "data"
    data.mkdir()
    script = render_entrypoint(
        ["es-master-0", "es-master-1", "es-master-2"], data_path=str(data), cert_dir=f"{tmp_path}/certs", exec_prefix=()
    )
    shellcheck(validator, script, tmp_path)
    wrapper = tmp_path / "entry.sh"
    wrapper.write_text(script)
    env = {"PATH": os.environ["PATH"], CA_ENV: "ca", CERT_ENV: "cert", KEY_ENV: "key"}

    def args() -> str:
        run = subprocess.run(["sh", str(wrapper), "sh", "-c", 'echo "$@"', "_", "eswrapper"],
                             env=env, capture_output=True, text=True, check=True)  # fmt: skip
        return run.stdout.strip()

    assert args() == "eswrapper -Ecluster.initial_master_nodes=es-master-0,es-master-1,es-master-2"
    (data / FORMED_MARKER_NAME).touch()
    assert args() == "eswrapper"
    assert (data.stat().st_uid, data.stat().st_gid) == (1000, 0)
    assert render_mark_formed("es-es-master-0").endswith(f"/usr/share/elasticsearch/data/{FORMED_MARKER_NAME}")


def test_the_setup_script_passes_shellcheck_and_keeps_passwords_out_of_arguments(tmp_path, validator):
    script = render_setup_script(
        container="es-es-master-0", writer_user="logstash_indexer", writer_role_name="logstash_writer"
    )
    shellcheck(validator, script, tmp_path)
    # Passwords come from stdin and the container's env, never from the script text or argv.
    assert "IFS= read -r KIBANA_PW" in script and "-u elastic" not in script
    assert "-K <(printf" in script and "/_security/user/kibana_system/_password" in script


def test_the_setup_script_sets_role_user_and_password_with_a_fake_docker(tmp_path):
    """Run it against a ``docker`` that records what each request sends and answers 200."""
    log = tmp_path / "requests"
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    fake.write_text(f'#!/bin/sh\nbody=$(cat)\nprintf "%s|%s\\n" "$*" "$body" >> {log}\n')
    fake.chmod(0o755)
    script = render_setup_script(container="es-0", writer_user="logstash_indexer", writer_role_name="logstash_writer")
    run = subprocess.run(["sh", "-c", script], input="kibana-pw\nwriter-pw\n", capture_output=True, text=True,
                         env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})  # fmt: skip
    assert run.returncode == 0, run.stderr
    lines = log.read_text().splitlines()
    assert len(lines) == 4
    assert "_cluster/health" in lines[0]
    assert "/_security/role/logstash_writer" in lines[1] and '"create_doc"' in lines[1]
    assert lines[2].endswith('|{"password":"writer-pw","roles":["logstash_writer"]}')
    assert lines[3].endswith('|{"password":"kibana-pw"}')
    assert all("writer-pw" not in line.split("|")[0] and "kibana-pw" not in line.split("|")[0] for line in lines)


# --------------------------------------------------------------------------- Elasticsearch, Logstash, Filebeat, Kibana


def test_node_roles_per_tier():
    assert node_roles("master", masters_hold_data=True) == ["master", "data", "ingest"]
    assert node_roles("master", masters_hold_data=False) == ["master"]
    assert node_roles("data", masters_hold_data=False) == ["data", "ingest"]
    assert node_roles("coordinating", masters_hold_data=False) == []


def test_elasticsearch_yml_has_tls_discovery_and_no_initial_masters():
    text = render_elasticsearch_yml(
        NodeSettings("logs", "es-master-0", ["master"], "10.0.0.5", ["10.0.0.5:9300", "10.0.0.6:9300", "10.0.0.7:9300"])
    )
    settings = yaml.safe_load(text)
    assert settings["node.roles"] == ["master"] and settings["network.publish_host"] == "10.0.0.5"
    assert settings["discovery.seed_hosts"] == ["10.0.0.5:9300", "10.0.0.6:9300", "10.0.0.7:9300"]
    assert settings["xpack.security.transport.ssl.verification_mode"] == "full"
    assert settings["xpack.security.http.ssl.enabled"] is True and settings["bootstrap.memory_lock"] is True
    assert settings["xpack.monitoring.collection.enabled"] is True
    assert "cluster.initial_master_nodes" not in settings
    coordinating = yaml.safe_load(
        render_elasticsearch_yml(NodeSettings("logs", "c", [], "10.0.0.9", ["10.0.0.5:9300"]))
    )
    assert coordinating["node.roles"] == []


def test_the_writer_role_creates_and_writes_its_own_indices_only():
    role = writer_role()
    assert role["cluster"] == ["monitor"]
    assert role["indices"] == [
        {"names": ["rancher-logs-*"], "privileges": ["create_index", "create_doc", "view_index_metadata"]}
    ]


def test_the_collector_pipeline_requires_client_certificates_and_pushes_to_redis():
    text = render_collector_pipeline(redis_host="10.0.0.20")
    assert 'ssl_client_authentication => "required"' in text and "ssl_enabled => true" in text
    assert "ssl_verify_mode" not in text  # the deprecated name
    assert 'host => ["10.0.0.20"]' in text and 'data_type => "list"' in text
    assert 'password => "${REDIS_PASSWORD}"' in text


def test_the_indexer_pipeline_writes_over_https_as_its_own_user():
    text = render_indexer_pipeline(
        redis_host="10.0.0.20",
        es_hosts=["https://10.0.0.5:9200"],
        user="logstash_indexer",
        index_prefix="rancher-logs-",
    )
    assert 'hosts => ["https://10.0.0.5:9200"]' in text and 'user => "logstash_indexer"' in text
    assert 'password => "${ES_WRITER_PASSWORD}"' in text and 'action => "create"' in text
    assert 'index => "rancher-logs-%{+YYYY.MM.dd}"' in text
    with pytest.raises(ValueError):
        render_indexer_pipeline(redis_host="r", es_hosts=["http://10.0.0.5:9200"], user="u", index_prefix="p-")


def test_filebeat_reads_container_logs_and_ships_with_mutual_tls():
    config = yaml.safe_load(
        render_filebeat_yml(host="webapp-0", system="webapp", cloud="digitalocean", collectors=["198.51.100.1:5044"])
    )
    (stream,) = config["filebeat.inputs"]
    assert stream["type"] == "filestream" and stream["paths"] == ["/var/lib/docker/containers/*/*-json.log"]
    fields = config["processors"][2]["add_fields"]["fields"]
    assert fields == {"host": "webapp-0", "system": "webapp", "cloud": "digitalocean"}
    out = config["output.logstash"]
    assert out["hosts"] == ["198.51.100.1:5044"] and out["ssl.enabled"] is True
    assert out["ssl.certificate"] and out["ssl.key"] and out["ssl.verification_mode"] == "full"


def test_kibana_uses_kibana_system_over_verified_https_with_secrets_from_its_env():
    settings = yaml.safe_load(render_kibana_yml(name="kibana-0", es_hosts=["https://10.0.0.8:9200"]))
    assert settings["elasticsearch.username"] == "kibana_system"
    assert settings["elasticsearch.password"] == "${KIBANA_SYSTEM_PASSWORD}"
    assert settings["elasticsearch.ssl.verificationMode"] == "full"


def test_the_local_max_map_count_check_fails_below_262144_with_the_fix(tmp_path, validator):
    from rancher_stacks.workloads.elasticsearch.render_config import render_max_map_count_check

    script = render_max_map_count_check("docker.elastic.co/elasticsearch/elasticsearch:8.19.10")
    shellcheck(validator, script, tmp_path)
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir()
    for value, ok in (("65530", False), ("262144", True), ("1048576", True)):
        fake.write_text(f"#!/bin/sh\necho {value}\n")
        fake.chmod(0o755)
        run = subprocess.run(["sh", "-c", script], capture_output=True, text=True,
                             env={"PATH": f"{fake.parent}:{os.environ['PATH']}"})  # fmt: skip
        assert (run.returncode == 0) is ok, value
        if not ok:
            assert "sudo sysctl -w vm.max_map_count=262144" in run.stderr
