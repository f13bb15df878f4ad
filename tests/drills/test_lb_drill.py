"""The load-balancer drill: its inputs are the shipped ones, its load generator counts right, and
the drill itself passes against real haproxy and gunicorn processes."""

from __future__ import annotations

import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tools.drills import lb
from tools.drills.loadgen import OpenLoopLoad, Result, tally


@pytest.fixture(scope="module")
def planned() -> lb.PlannedBalancer:
    return lb.planned_balancer()


# (a) The file under test is the one the component uploads ---------------------------------------


def test_drill_config_is_the_planned_upload_with_loopback_addresses(planned):
    """The drill's file for the plan's own backends equals the plan's uploaded haproxy.cfg with the
    addresses and bind lines on loopback, and nothing else: a change to the component's call of
    the renderer, or to the drill's, fails here."""
    servers = re.findall(r"^\s*server (\S+) (\S+):(\d+) ", planned.config, re.MULTILINE)
    assert len(servers) >= 2
    stats = re.search(r"^frontend stats\n\s*bind :(\d+)$", planned.config, re.MULTILINE)
    assert planned.has_stats == (stats is not None)
    drill = lb.drill_config(planned, [n for n, _, _ in servers], [int(p) for _, _, p in servers],
                            planned.public_port, int(stats.group(1)) if stats else None)
    expected = planned.config
    for _, address, port in servers:
        expected = expected.replace(f" {address}:{port} ", f" 127.0.0.1:{port} ")
    expected = re.sub(r"^(\s*)bind :", r"\1bind 127.0.0.1:", expected, flags=re.MULTILINE)
    assert drill == expected


def test_drill_config_changes_only_addresses_and_binds(planned):
    drill = lb.drill_config(planned, ["a", "b", "c"], [7001, 7002, 7003], 7100, 7101)
    assert "bind 127.0.0.1:7100" in drill and "bind :" not in drill
    assert re.findall(r"server \S+ (\S+) ", drill) == ["127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003"]
    assert f"balance {planned.algorithm}" in drill and f"uri {planned.health_path}" in drill


# (b) The load generator's accounting -----------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/hang":
            time.sleep(3.0)
        code = 500 if self.path == "/err" else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def run_load(port: int, path: str, seconds: float, rate: float = 100, timeout_s: float = 2.0) -> list[Result]:
    load = OpenLoopLoad("127.0.0.1", port, rate, path=path, timeout_s=timeout_s)
    load.start()
    time.sleep(seconds)
    return load.stop()


def test_every_request_is_counted_once_and_answers_are_ok(server):
    results = run_load(server, "/", 1.0)
    assert 95 <= len(results) <= 105
    counted = tally(results)
    assert (counted.attempted, counted.lost) == (len(results), 0)
    assert counted.slowest_s < 1.0


def test_non_2xx_answers_are_lost(server):
    counted = tally(run_load(server, "/err", 0.5))
    assert counted.attempted > 0 and counted.lost == counted.attempted
    assert counted.errors == {"500": counted.attempted}


def test_refused_connections_are_lost():
    port = lb.free_ports(1)[0]
    counted = tally(run_load(port, "/", 0.3))
    assert counted.attempted > 0 and counted.errors == {"connection refused": counted.attempted}


def test_the_load_stays_open_loop_while_the_server_stalls(server):
    """1 s answers at 100 req/s: a closed loop would send a handful; this one keeps the schedule."""
    results = run_load(server, "/slow", 1.0, timeout_s=3.0)
    assert len(results) >= 95
    assert max(r.sent - r.due for r in results) < 0.1
    assert all(r.ok and r.latency_s >= 1.0 for r in results)


def test_requests_past_the_timeout_are_lost_with_the_timeout_as_latency(server):
    counted = tally(run_load(server, "/hang", 0.2, rate=20, timeout_s=0.5))
    assert counted.attempted > 0 and counted.errors == {"timeout": counted.attempted}
    assert 0.5 <= counted.slowest_s < 0.7


def test_a_window_counts_only_the_requests_due_in_it():
    results = [Result(due=float(i), sent=float(i), latency_s=0.1 * i, status=200 if i % 2 else 503) for i in range(10)]
    counted = tally(results, 2.0, 6.0)
    assert (counted.attempted, counted.lost) == (4, 2)
    assert counted.slowest_s == pytest.approx(0.5)
    assert counted.errors == {"503": 2}


# (c) The drill, for real -----------------------------------------------------------------------


def test_the_drill_passes_against_real_haproxy_and_gunicorn(validator):
    validator("haproxy", "haproxy")
    report = lb.run()
    detail = "\n".join([*report.problems, *(f"{f.failure}: {f.breaches} ({f.note})" for f in report.figures)])
    assert report.problems == [], detail
    assert len(report.figures) == len(lb.FAILURES)
    assert all(f.attempted >= lb.RATE for f in report.figures), detail
    assert report.passed, detail
    assert report.seconds <= lb.DEADLINE_S + lb.CLIENT_TIMEOUT_S


def test_the_balancer_caps_each_backend_at_the_apps_worker_count(planned, monkeypatch):
    """The planned server maxconn is the hit counter's gunicorn worker count, as gunicorn.conf.py
    computes it with WEB_CONCURRENCY unset (the containers leave it unset)."""
    import runpy

    from rancher_stacks.workloads.hitcounter.app import WORKERS

    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    conf = runpy.run_path(str(lb.GUNICORN_CONF))
    assert conf["workers"] == WORKERS
    assert planned.server_maxconn == WORKERS
    assert re.search(rf" maxconn {WORKERS}$", planned.config, re.MULTILINE)
