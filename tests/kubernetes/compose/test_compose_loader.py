"""The compose loader: interpolation, .env, merging -f files, rancher-compose, errors with file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rancher_stacks.kubernetes.compose import ComposeError, Source, load_project
from rancher_stacks.kubernetes.compose.interpolate import InterpolationError, interpolate, lookup_in, parse_env_file


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("text", "env", "expected"),
    [
        ("${A}", {"A": "x"}, "x"),
        ("$A/$B", {"A": "x"}, "x/"),
        ("${A:-d}", {"A": ""}, "d"),
        ("${A-d}", {"A": ""}, ""),
        ("${A-d}", {}, "d"),
        ("${A:+alt}", {"A": "1"}, "alt"),
        ("${A:+alt}", {}, ""),
        ("$${A}", {"A": "x"}, "${A}"),
        ("cost: $$5", {}, "cost: $5"),
        ("${A:-${B:-z}}", {}, "z"),
        ("${DOCKER_REGISTRY-}foo:${TAG:-latest}", {}, "foo:latest"),
    ],
)
def test_interpolation_follows_the_compose_spec(text: str, env: dict[str, str], expected: str) -> None:
    assert interpolate(text, lookup_in(env)) == expected


def test_a_required_variable_that_is_missing_is_an_error() -> None:
    with pytest.raises(InterpolationError, match="TOKEN.*set the token"):
        interpolate("${TOKEN:?set the token}", lookup_in({}))


def test_env_file_values_see_earlier_lines_and_single_quotes_stay_literal() -> None:
    data = parse_env_file("A=1\nB=${A}2 # comment\nC='${A}'\nexport D=\"x y\"\n# skipped\n", lookup_in({}))
    assert data == {"A": "1", "B": "12", "C": "${A}", "D": "x y"}


def test_dot_env_feeds_interpolation_and_the_process_environment_wins(tmp_path: Path) -> None:
    write(tmp_path, ".env", "TAG=from-dotenv\nPORT=8080\n")
    compose = write(tmp_path, "compose.yaml", "services:\n  web:\n    image: app:${TAG}\n    ports: ['${PORT}:80']\n")
    project = load_project([compose], environ={"TAG": "from-shell"})
    web = project.services["web"]
    assert web.image == "app:from-shell"
    assert [(p.published, p.target) for p in web.ports] == [(8080, 80)]


def test_files_merge_in_order(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "a.yaml",
        "services:\n  web:\n    image: a\n    command: [one]\n    environment: [X=1, Y=1]\n"
        "    ports: ['80']\n    volumes: ['./a:/data']\n",
    )
    second = write(
        tmp_path,
        "b.yaml",
        "services:\n  web:\n    command: [two]\n    environment: {Y: 2}\n    ports: ['443']\n"
        "    volumes: ['./b:/data']\n    deploy: {replicas: 4}\n",
    )
    web = load_project([first, second], environ={}).services["web"]
    assert web.command == ["two"]
    assert web.environment == {"X": "1", "Y": "2"}
    assert [p.target for p in web.ports] == [80, 443]
    assert [(m.source, m.target) for m in web.mounts] == [("./b", "/data")]
    assert web.replicas == 4


def test_rancher_compose_adds_scale_and_health_check(tmp_path: Path) -> None:
    compose = write(tmp_path, "docker-compose.yml", "services:\n  web:\n    image: nginx\n    ports: ['80:80']\n")
    rancher = write(
        tmp_path,
        "rancher-compose.yml",
        "web:\n  scale: 3\n  health_check:\n    port: 80\n    request_line: GET /healthz HTTP/1.0\n"
        "    interval: 2000\n    response_timeout: 2000\n    healthy_threshold: 2\n    unhealthy_threshold: 3\n",
    )
    web = load_project([compose], rancher_compose=rancher, environ={}).services["web"]
    assert web.replicas == 3
    assert web.readiness is not None and web.liveness is not None
    assert (web.readiness.http_path, web.readiness.http_port, web.readiness.period) == ("/healthz", 80, 2)
    assert (web.readiness.failure_threshold, web.readiness.success_threshold) == (3, 2)
    # A liveness probe must have successThreshold 1: the healthy threshold is readiness-only.
    assert web.liveness.success_threshold is None


def test_shell_form_healthchecks_run_in_a_shell(tmp_path: Path) -> None:
    compose = write(
        tmp_path,
        "compose.yaml",
        "services:\n  a:\n    image: x\n    healthcheck: {test: 'curl -f localhost || exit 1', interval: 1m30s}\n"
        "  b:\n    image: x\n    healthcheck: {test: [CMD, pg_isready, -q], retries: 2}\n"
        "  c:\n    image: x\n    healthcheck: {test: [NONE]}\n",
    )
    services = load_project([compose], environ={}).services
    a, b = services["a"].liveness, services["b"].liveness
    assert a is not None and a.exec_command == ("/bin/sh", "-c", "curl -f localhost || exit 1") and a.period == 90
    assert b is not None and b.exec_command == ("pg_isready", "-q") and b.failure_threshold == 2
    assert services["c"].liveness is None


@pytest.mark.parametrize(
    ("text", "line", "message"),
    [
        ("services:\n  web:\n    image: [unclosed\n", 4, "not valid YAML"),
        ("services:\n  web:\n    image: x\n    extends: base\n", 4, "'extends' cannot be translated"),
        ("include:\n  - other.yaml\nservices:\n  web:\n    image: x\n", 1, "top-level 'include' is not supported"),
        ("services:\n  web:\n    image: x\n    volumes_from: [db]\n", 4, "'volumes_from' cannot be translated"),
        ("services:\n  web:\n    image: x\n    bogus: 1\n", 4, "unknown or unsupported key 'bogus'"),
        ("services:\n  web:\n    image: x\n    ports: ['80/icmp']\n", 4, "unknown protocol"),
        ("services:\n  web:\n    image: ${IMG:?needed}\n", 3, "IMG is missing"),
        ("services:\n  web:\n    image: x\n    volumes: ['data:/d']\n", 4, "not declared under top-level 'volumes'"),
        ("services:\n  web:\n    build: .\n    healthcheck: {test: x, interval: soon}\n", 4, "duration"),
    ],
)
def test_bad_input_names_the_file_and_line(tmp_path: Path, text: str, line: int, message: str) -> None:
    compose = write(tmp_path, "compose.yaml", text)
    with pytest.raises(ComposeError) as caught:
        load_project([compose], environ={})
    assert caught.value.where is not None
    assert caught.value.where.file.endswith("compose.yaml") and caught.value.where.line == line
    assert message in str(caught.value)
    assert str(caught.value).startswith(f"{caught.value.where.file}:{line}: ")


def test_text_sources_are_reported_under_their_name() -> None:
    with pytest.raises(ComposeError, match=r"^inline\.yaml:2: "):
        load_project([Source("inline.yaml", "services:\n  web: [1]\n")], environ={})


def test_ports_short_syntax_with_ranges_and_host_ips() -> None:
    project = load_project(
        [
            Source(
                "p.yaml",
                "services:\n  w:\n    image: x\n    ports: ['127.0.0.1:5000-5001:6000-6001/udp', '3000', '3000-3001']\n",
            )
        ],
        environ={},
    )
    ports = project.services["w"].ports
    assert [(p.host_ip, p.published, p.target, p.protocol) for p in ports] == [
        ("127.0.0.1", 5000, 6000, "UDP"),
        ("127.0.0.1", 5001, 6001, "UDP"),
        (None, None, 3000, "TCP"),
        (None, None, 3001, "TCP"),
    ]
