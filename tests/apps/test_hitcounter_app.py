"""Tests for the hit counter web app in apps/hitcounter (no MongoDB needed)."""

from __future__ import annotations

import json
import logging
import re
import runpy
import socket
from pathlib import Path

import mongomock
import pytest
from hitcounter.app import (
    CLIENT_DEFAULTS,
    COUNTER_ID,
    TLS_CA_FILE_ENV,
    ConfigError,
    Settings,
    client_kwargs,
    client_options,
    create_app,
)
from pymongo.errors import PyMongoError

APP_DIR = Path(__file__).resolve().parents[2] / "apps" / "hitcounter"

EXPECTED_CMD = ["gunicorn", "-c", "gunicorn.conf.py", "hitcounter.app:create_app()"]
REPLICA_SET_URL = (
    "mongodb://root:hunter2@h1:27017,h2:27017,h3:27017/?replicaSet=rs0&authSource=admin"
)
TLS_URL = REPLICA_SET_URL + "&tls=true"
# A public test CA certificate (ECDSA P-256, no key kept): pymongo loads it when the client is built.
TEST_CA_PEM = """-----BEGIN CERTIFICATE-----
MIIB4DCCAYWgAwIBAgIUcZUpfqntHOUsWoGoUHduaYqf3towCgYIKoZIzj0EAwIw
PDEdMBsGA1UECgwUcmFuY2hlci1zdGFja3MgdGVzdHMxGzAZBgNVBAMMEmhpdGNv
dW50ZXIgdGVzdCBDQTAgFw0yNjExMjkxOTAzMTNaGA8yMTI2MTEwNTE5MDMxM1ow
PDEdMBsGA1UECgwUcmFuY2hlci1zdGFja3MgdGVzdHMxGzAZBgNVBAMMEmhpdGNv
dW50ZXIgdGVzdCBDQTBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IABKdV8R4Ya4mz
KQwCGdEWJzaRgVsLQENBEAwkcVW/EmCSz3U93sM4FlyoJPMFc500TJLWUk9U+pBT
WJHlF8MzcyOjYzBhMB0GA1UdDgQWBBR+o15tDf4L6oc8x0ZQzdpqdPHONTAfBgNV
HSMEGDAWgBR+o15tDf4L6oc8x0ZQzdpqdPHONTAPBgNVHRMBAf8EBTADAQH/MA4G
A1UdDwEB/wQEAwIBBjAKBggqhkjOPQQDAgNJADBGAiEA2/SLumpreyesL0dNUY+6
htMImK7dUEcB7IFZD0w4PnkCIQDe0Ndlv3OXBcVuovWkJ6tDAjn1gDHJdenIZic2
2cAfoA==
-----END CERTIFICATE-----
"""


@pytest.fixture(autouse=True)
def no_tls_ca_file_from_the_outside(monkeypatch):
    """Tests that build a client from the environment decide on MONGO_TLS_CA_FILE themselves."""
    monkeypatch.delenv(TLS_CA_FILE_ENV, raising=False)


@pytest.fixture
def ca_file(tmp_path) -> str:
    path = tmp_path / "mongo-ca.pem"
    path.write_text(TEST_CA_PEM)
    return str(path)


class ExplodingCollection:
    """Fails the test if anything at all is asked of it."""

    def __getattr__(self, name):
        raise AssertionError(f"the database was touched: .{name}")


class FailingCollection:
    def find_one_and_update(self, *args, **kwargs):
        raise PyMongoError("boom: secret-internal-detail")


@pytest.fixture
def hostname(monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "web-7")
    return "web-7"


@pytest.fixture
def collection():
    return mongomock.MongoClient()["hitcounter"]["counters"]


@pytest.fixture
def client(collection):
    return create_app(collection).test_client()


def _count(resp) -> int:
    match = re.search(r'id="count">(\d+)<', resp.get_data(as_text=True))
    assert match, resp.get_data(as_text=True)
    return int(match.group(1))


# --- GET / -------------------------------------------------------------------


def test_count_increments_across_requests(client, collection):
    counts = []
    for _ in range(3):
        resp = client.get("/")
        assert resp.status_code == 200
        counts.append(_count(resp))
    assert counts == [1, 2, 3]
    assert collection.find_one({"_id": COUNTER_ID}) == {"_id": COUNTER_ID, "count": 3}


def test_count_continues_from_existing_document(collection):
    collection.insert_one({"_id": COUNTER_ID, "count": 41})
    assert _count(create_app(collection).test_client().get("/")) == 42


def test_page_shows_hostname_and_count(client, hostname):
    resp = client.get("/")
    body = resp.get_data(as_text=True)
    assert resp.mimetype == "text/html"
    assert hostname in body
    assert _count(resp) == 1
    assert resp.headers["Cache-Control"] == "no-store"


def test_hostname_is_html_escaped(client, monkeypatch):
    monkeypatch.setattr(socket, "gethostname", lambda: "<b>x</b>")
    body = client.get("/").get_data(as_text=True)
    assert "&lt;b&gt;x&lt;/b&gt;" in body
    assert "<b>x</b>" not in body


def test_database_error_gives_503_without_details(caplog):
    client = create_app(FailingCollection()).test_client()
    with caplog.at_level(logging.ERROR):
        resp = client.get("/")
    body = resp.get_data(as_text=True)
    assert resp.status_code == 503
    assert resp.mimetype == "text/plain"
    assert "Traceback" not in body
    assert "secret-internal-detail" not in body
    assert len(body) < 200
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("page-view counter" in r.getMessage() for r in errors)
    assert any("secret-internal-detail" in r.getMessage() for r in errors)


# --- GET /healthcheck --------------------------------------------------------


def test_healthcheck_body_status_and_no_database(hostname):
    client = create_app(ExplodingCollection()).test_client()
    resp = client.get("/healthcheck")
    assert resp.status_code == 200
    assert resp.mimetype == "text/plain"
    assert resp.get_data(as_text=True) == f"OK From {hostname}"
    assert resp.headers["X-Content-Type-Options"] == "nosniff"


# --- configuration from the environment --------------------------------------


@pytest.mark.parametrize("value", [None, "", "   "])
def test_missing_mongo_url_is_a_clear_startup_error(monkeypatch, value):
    if value is None:
        monkeypatch.delenv("MONGO_URL", raising=False)
    else:
        monkeypatch.setenv("MONGO_URL", value)
    with pytest.raises(ConfigError, match="MONGO_URL is not set"):
        create_app()


def test_invalid_mongo_url_is_a_startup_error_without_the_password(monkeypatch):
    monkeypatch.setenv("MONGO_URL", "http://root:hunter2@db:27017/")
    with pytest.raises(ConfigError, match="MONGO_URL") as info:
        create_app()
    assert "hunter2" not in str(info.value)


def test_client_built_from_env(monkeypatch):
    monkeypatch.setenv("MONGO_URL", REPLICA_SET_URL)
    monkeypatch.setenv("MONGO_DB", "hits")
    monkeypatch.setenv("MONGO_COLLECTION", "views")
    coll = create_app().extensions["hitcounter.collection"]
    mongo = coll.database.client
    try:
        assert (coll.database.name, coll.name) == ("hits", "views")
        assert mongo.options.replica_set_name == "rs0"
        assert mongo.options.retry_writes is True
        assert mongo.options.server_selection_timeout == 5.0
    finally:
        mongo.close()


def test_db_and_collection_defaults_and_url_overrides(monkeypatch):
    monkeypatch.setenv("MONGO_URL", "mongodb://h1:27017/?serverSelectionTimeoutMS=250")
    monkeypatch.delenv("MONGO_DB", raising=False)
    monkeypatch.delenv("MONGO_COLLECTION", raising=False)
    coll = create_app().extensions["hitcounter.collection"]
    mongo = coll.database.client
    try:
        assert (coll.database.name, coll.name) == ("hitcounter", "counters")
        assert mongo.options.server_selection_timeout == 0.25
    finally:
        mongo.close()


# --- TLS: MONGO_TLS_CA_FILE ------------------------------------------------------


def test_client_kwargs_without_a_ca_file_are_the_client_options():
    assert client_kwargs(REPLICA_SET_URL) == client_options(REPLICA_SET_URL) == CLIENT_DEFAULTS
    assert client_kwargs(REPLICA_SET_URL, None) == client_kwargs(REPLICA_SET_URL, "") == CLIENT_DEFAULTS


def test_client_kwargs_add_the_ca_file_and_keep_the_url_overrides():
    url = TLS_URL + "&serverSelectionTimeoutMS=250"
    kwargs = client_kwargs(url, "/etc/hitcounter/mongo-ca.pem")
    assert kwargs["tlsCAFile"] == "/etc/hitcounter/mongo-ca.pem"
    assert "serverSelectionTimeoutMS" not in kwargs  # the URL still wins over the defaults
    assert {k: v for k, v in kwargs.items() if k != "tlsCAFile"} == client_options(url)


def test_settings_read_the_ca_file(ca_file):
    env = {"MONGO_URL": TLS_URL, TLS_CA_FILE_ENV: f"  {ca_file} "}
    assert Settings.from_env(env).tls_ca_file == ca_file
    assert Settings.from_env({"MONGO_URL": TLS_URL, TLS_CA_FILE_ENV: " "}).tls_ca_file is None
    assert Settings.from_env({"MONGO_URL": TLS_URL}).tls_ca_file is None


def test_tls_client_built_from_env_verifies_with_the_ca_file(monkeypatch, ca_file):
    monkeypatch.setenv("MONGO_URL", TLS_URL)
    monkeypatch.setenv(TLS_CA_FILE_ENV, ca_file)
    mongo = create_app().extensions["hitcounter.collection"].database.client
    try:
        context = mongo.options.pool_options._ssl_context  # what pymongo dials with
        assert context is not None
        assert context.verify_mode.name == "CERT_REQUIRED"
        assert context.check_hostname is True
        assert mongo.options.replica_set_name == "rs0"
    finally:
        mongo.close()


def test_a_missing_ca_file_is_a_clear_startup_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MONGO_URL", TLS_URL)
    monkeypatch.setenv(TLS_CA_FILE_ENV, str(tmp_path / "nope.pem"))
    with pytest.raises(ConfigError, match=f"{TLS_CA_FILE_ENV} is .*nope.pem.*not a file") as info:
        create_app()
    assert "hunter2" not in str(info.value)


def test_a_ca_file_without_a_certificate_is_a_startup_error(monkeypatch, tmp_path):
    bogus = tmp_path / "bogus.pem"
    bogus.write_text("not a certificate\n")
    monkeypatch.setenv("MONGO_URL", TLS_URL)
    monkeypatch.setenv(TLS_CA_FILE_ENV, str(bogus))
    with pytest.raises(ConfigError, match="is not a usable CA certificate file") as info:
        create_app()
    assert "hunter2" not in str(info.value)


def test_a_ca_file_with_tls_off_in_the_url_is_rejected_without_the_password(monkeypatch, ca_file):
    monkeypatch.setenv("MONGO_URL", REPLICA_SET_URL + "&tls=false")
    monkeypatch.setenv(TLS_CA_FILE_ENV, ca_file)
    with pytest.raises(ConfigError, match="TLS has not been enabled") as info:
        create_app()
    assert "hunter2" not in str(info.value)


def test_an_injected_collection_ignores_the_tls_settings(monkeypatch, collection, tmp_path):
    monkeypatch.setenv(TLS_CA_FILE_ENV, str(tmp_path / "nope.pem"))
    assert _count(create_app(collection).test_client().get("/")) == 1


def test_real_client_with_unreachable_database(monkeypatch):
    """Real pymongo path: startup and /healthcheck work with the DB down, / is 503."""
    monkeypatch.setenv(
        "MONGO_URL",
        "mongodb://127.0.0.1:1/?serverSelectionTimeoutMS=200&connectTimeoutMS=200",
    )
    app = create_app()
    client = app.test_client()
    try:
        assert client.get("/healthcheck").status_code == 200
        assert client.get("/").status_code == 503
    finally:
        app.extensions["hitcounter.collection"].database.client.close()


# --- packaging: Dockerfile, gunicorn.conf.py, requirements --------------------


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (APP_DIR / "Dockerfile").read_text()
    text = re.sub(r"\\\n", " ", text)  # join continuation lines
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keyword, _, rest = line.partition(" ")
            out.append((keyword.upper(), rest.strip()))
    return out


def test_dockerfile_runs_as_non_root_and_exposes_5000():
    instructions = _dockerfile_instructions()
    keywords = [k for k, _ in instructions]

    assert instructions[0] == ("FROM", "python:3.12.13-slim-bookworm")

    users = [v for k, v in instructions if k == "USER"]
    assert users, "Dockerfile has no USER instruction"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")
    last_user = len(keywords) - 1 - keywords[::-1].index("USER")
    assert last_user < keywords.index("CMD")

    exposed = " ".join(v for k, v in instructions if k == "EXPOSE").split()
    assert "5000" in exposed or "5000/tcp" in exposed

    (healthcheck,) = [v for k, v in instructions if k == "HEALTHCHECK"]
    assert "urllib" in healthcheck and "/healthcheck" in healthcheck

    (cmd,) = [v for k, v in instructions if k == "CMD"]
    assert json.loads(cmd) == EXPECTED_CMD


def test_dockerignore_allows_everything_the_dockerfile_copies():
    allowed = {
        line.strip().rstrip("/")
        for line in (APP_DIR / ".dockerignore").read_text().splitlines()
        if line.strip().startswith("!")
    }
    for keyword, value in _dockerfile_instructions():
        if keyword == "COPY" and not value.startswith("--from"):
            for src in value.split()[:-1]:
                assert "!" + src.rstrip("/") in allowed, src
                assert (APP_DIR / src).exists(), src


def _gunicorn_conf(monkeypatch, **env) -> dict:
    for name in ("PORT", "WEB_CONCURRENCY"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return runpy.run_path(str(APP_DIR / "gunicorn.conf.py"))


@pytest.mark.parametrize(
    ("env", "bind"),
    [
        ({}, "0.0.0.0:5000"),
        ({"PORT": ""}, "0.0.0.0:5000"),
        ({"PORT": "8123"}, "0.0.0.0:8123"),
    ],
)
def test_gunicorn_bind_honours_port(monkeypatch, env, bind):
    assert _gunicorn_conf(monkeypatch, **env)["bind"] == bind


def test_gunicorn_workers_and_logging(monkeypatch):
    conf = _gunicorn_conf(monkeypatch)
    assert conf["workers"] == 2
    assert conf["accesslog"] == "-"
    assert conf["preload_app"] is False
    assert _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="5")["workers"] == 5
    with pytest.raises(SystemExit, match="WEB_CONCURRENCY"):
        _gunicorn_conf(monkeypatch, WEB_CONCURRENCY="many")


def test_gunicorn_on_starting_rejects_missing_mongo_url(monkeypatch):
    on_starting = _gunicorn_conf(monkeypatch)["on_starting"]
    monkeypatch.delenv("MONGO_URL", raising=False)
    with pytest.raises(SystemExit, match="MONGO_URL is not set"):
        on_starting(None)
    monkeypatch.setenv("MONGO_URL", REPLICA_SET_URL)
    on_starting(None)  # no error


def test_gunicorn_on_starting_rejects_a_missing_ca_file(monkeypatch, tmp_path, ca_file):
    on_starting = _gunicorn_conf(monkeypatch)["on_starting"]
    monkeypatch.setenv("MONGO_URL", TLS_URL)
    monkeypatch.setenv(TLS_CA_FILE_ENV, str(tmp_path / "nope.pem"))
    with pytest.raises(SystemExit, match=f"{TLS_CA_FILE_ENV} is .*not a file"):
        on_starting(None)
    monkeypatch.setenv(TLS_CA_FILE_ENV, ca_file)
    on_starting(None)  # no error


def test_requirements_are_pinned():
    lines = [
        line.strip()
        for line in (APP_DIR / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(lines) == ["flask==3.1.3", "gunicorn==27.0.1", "pymongo==4.20.0"]


def test_gunicorn_accepts_the_factory_call_in_cmd(monkeypatch):
    import gunicorn.util as util
    monkeypatch.setenv("MONGO_URL", REPLICA_SET_URL)
    app = util.import_app(EXPECTED_CMD[-1])
    try:
        assert app.url_map.bind("x").match("/healthcheck")[0] == "healthcheck"
    finally:
        app.extensions["hitcounter.collection"].database.client.close()
