"""The load-balancer drill: seed 2's HAProxy in front of real hit-counter instances, under paced
load, while one instance fails the ways production ones do.

What runs, all on loopback and all started (and ended, by PID) here:

* ``haproxy -db`` on the file the ``LoadBalancer`` component uploads: the local stack's planned
  balancer settings (algorithm, health path, whether there is a stats page) rendered through the
  component's own ``balancer_config``, with the backends at ``127.0.0.1:<port>`` and the bind lines
  pinned to 127.0.0.1 (the shipped ``bind :80`` would listen on every interface). Nothing is
  added to it: the server state changes are read from HAProxy's own log on its stdout, which the
  shipped ``log stdout`` line already produces.
* ``INSTANCES`` hit-counter instances, each the real app under gunicorn with the app's own
  ``gunicorn.conf.py`` (2 sync workers), its counter store replaced by an in-process one (see
  ``tools.drills.hitcounter_store`` for what that replaces and why it changes no figure).
* ``RATE`` requests per second of ``GET /`` through HAProxy for the whole drill, open loop
  (``tools.drills.loadgen``), each request given ``CLIENT_TIMEOUT_S``.

Failures, one after the other on instance ``webapp-1``, each undone before the next:

1. killed: SIGKILL to the gunicorn master and its workers, then a restart (a container crash
   and its restart policy);
2. hung: SIGSTOP to the master and workers, then SIGCONT (a frozen VM or container, a process
   stuck in a lock): the connection still opens (the kernel's listen queue) but nothing answers;
3. database unreachable from this instance only: ``/`` blocks for pymongo's server selection
   timeout and answers 503, while ``/healthcheck`` (which by design never reads the database)
   still answers 200 when a worker is free;
4. graceful restart: SIGTERM (gunicorn closes its listener, then lets the workers finish their
   request and exit: gunicorn/arbiter.py, ``Arbiter.stop`` calls ``sock.close_sockets`` before
   sending SIGTERM to the workers, so a connection still in the listen queue is reset) and a new
   process on the same port (a deploy).

Per failure: requests due from the injection until the instance is back in rotation (plus one
second), how many were lost, the slowest, when HAProxy took the instance out (its log) and how
long after the undo it put it back.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from tools.drills import DrillReport, DrillUnavailableError, Figure
from tools.drills.loadgen import OpenLoopLoad, Result, tally

ROOT = Path(__file__).resolve().parents[2]
STACK_FILE = ROOT / "Pulumi.local.yaml"
GUNICORN_CONF = ROOT / "apps" / "hitcounter" / "gunicorn.conf.py"
APP = "tools.drills.hitcounter_store:create_app()"
LOOPBACK = "127.0.0.1"

INSTANCES = 3
VICTIM = 1
RATE = 200.0
# A browser user gives up long before this; anything slower is lost anyway.
CLIENT_TIMEOUT_S = 10.0
# How long a failure is left in place at most when HAProxy does not take the instance out.
HOLD_S = 12.0
# How long to wait for HAProxy to put an instance back once the failure is undone.
BACK_S = 10.0
SETTLE_S = 1.0
# Before the load starts: two of HAProxy's health-check intervals (render_config: inter 1s, rise 2).
WARM_CHECKS_S = 2.0
# Concurrent warm-up requests per instance: more than its gunicorn workers, so each one serves.
WARM_REQUESTS = 6
DEADLINE_S = 60.0
# LB_DRILL_KEEP=1 keeps the drill's folder (haproxy.cfg, haproxy.log, each instance's log).
KEEP_ENV = "LB_DRILL_KEEP"

_STATE = re.compile(r"Server app/(?P<name>\S+) is (?P<state>UP|DOWN)\b")
_BIND = re.compile(r"^(\s*bind )(:\d+)$", re.MULTILINE)


# ---------------------------------------------------------------------------------------------
# The file under test


@dataclass(frozen=True)
class PlannedBalancer:
    """The local stack's planned balancer: the component's inputs and the file it uploads."""

    algorithm: str
    health_path: str
    public_port: int
    has_stats: bool
    server_maxconn: Optional[int]
    config: str


def planned_balancer(stack_file: Path = STACK_FILE) -> PlannedBalancer:
    """Plan the stack offline and pick the web tier's ``LoadBalancer`` and its uploaded haproxy.cfg
    (the stack has other balancers too, e.g. the CI front)."""
    from rancher_stacks.systems.webapp import LB
    from rancher_stacks.workloads.haproxy.render_config import CONFIG_PATH
    from tools.plan import plan_stack

    plan = plan_stack(stack_file)
    balancers = [r for r in plan["resources"] if r["type"] == "rancher-stacks:index:LoadBalancer" and r["name"] == LB]
    configs = [u["content"] for r in plan["resources"]
               if r["type"] == "docker:index/container:Container" and r["name"] == f"{LB}-haproxy"
               for u in r["inputs"].get("uploads") or [] if u["file"] == CONFIG_PATH]
    if len(balancers) != 1 or len(configs) != 1:
        raise RuntimeError(f"{stack_file.name}: expected one LoadBalancer and one haproxy.cfg in the plan, "
                           f"found {len(balancers)} and {len(configs)}")
    inputs = balancers[0]["inputs"]
    return PlannedBalancer(inputs["algorithm"], inputs["healthCheckPath"], inputs["publicPort"],
                           "\nfrontend stats\n" in configs[0], inputs.get("serverMaxconn"), configs[0])


def loopback_binds(config: str) -> str:
    """``bind :PORT`` (every interface) becomes ``bind 127.0.0.1:PORT``: the drill's one edit
    besides the server addresses."""
    return _BIND.sub(rf"\g<1>{LOOPBACK}\g<2>", config)


def drill_config(planned: PlannedBalancer, names: list[str], ports: list[int], public_port: int,
                 stats_port: Optional[int]) -> str:
    """The planned balancer's file for backends on loopback ``ports``, through the component's own
    ``balancer_config``."""
    from rancher_stacks.workloads.haproxy.loadbalancer import Backend, balancer_config

    backends = [Backend(name, LOOPBACK, port) for name, port in zip(names, ports, strict=True)]
    text = balancer_config(backends, [LOOPBACK] * len(backends), algorithm=planned.algorithm,
                           health_path=planned.health_path, public_port=public_port,
                           stats_port=stats_port if planned.has_stats else None,
                           server_maxconn=planned.server_maxconn)
    return loopback_binds(text)


# ---------------------------------------------------------------------------------------------
# Processes


def free_ports(count: int) -> list[int]:
    """Ports the kernel hands out on loopback now (bound together, so distinct)."""
    import socket

    socks = []
    try:
        for _ in range(count):
            s = socket.socket()
            s.bind((LOOPBACK, 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (gunicorn's workers), from /proc."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The fields after the command name (which may hold spaces) start after the last ')'.
        fields = stat[stat.rindex(")") + 2:].split()
        if int(fields[1]) == pid:
            found.append(int(entry))
    return found


def http_status(url: str, timeout: float = 1.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback only)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except (OSError, ValueError):
        return 0


def _warm(instances: list[Instance]) -> None:
    """Send each instance ``WARM_REQUESTS`` concurrent requests, so every worker has served once."""
    threads = [
        threading.Thread(target=http_status, args=(f"http://{LOOPBACK}:{inst.port}/", 5.0), daemon=True)
        for inst in instances
        for _ in range(WARM_REQUESTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)


class Instance:
    """One hit-counter instance: a gunicorn master and its workers on ``127.0.0.1:port``."""

    def __init__(self, name: str, port: int, workdir: Path) -> None:
        self.name, self.port = name, port
        self.db_down_file = workdir / f"{name}.db-down"
        self.log = workdir / f"{name}.log"
        self.proc: Optional[subprocess.Popen[bytes]] = None
        # Every PID this instance ever had, so that cleanup reaches orphaned workers too.
        self.seen: set[int] = set()

    def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if k not in ("WEB_CONCURRENCY", "PORT")}
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), str(ROOT / "apps" / "hitcounter")])
        # Required by the app's gunicorn.conf.py; the stand-in store never connects to it.
        env["MONGO_URL"] = "mongodb://drill-stand-in.invalid/"
        env["DRILL_DB_DOWN_FILE"] = str(self.db_down_file)
        with open(self.log, "ab") as log:
            # gunicorn applies command-line settings after the config file's, so --bind pins the
            # instance to loopback (gunicorn/app/base.py, Application.load_config: "Lastly, update
            # the configuration with any command line settings").
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "--bind", f"{LOOPBACK}:{self.port}", APP],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            )
        self.seen.add(self.proc.pid)

    def pids(self) -> list[int]:
        if self.proc is None or self.proc.poll() is not None:
            return []
        pids = [self.proc.pid, *children(self.proc.pid)]
        self.seen.update(pids)
        return pids

    def signal(self, sig: int) -> None:
        for pid in self.pids():
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass

    def serving(self) -> bool:
        return http_status(f"http://{LOOPBACK}:{self.port}/healthcheck") == 200

    def wait_serving(self, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            if self.serving():
                return True
            time.sleep(0.05)
        return False

    def kill(self) -> None:
        """SIGKILL the master and every worker (by PID), then reap the master."""
        self.signal(signal.SIGKILL)
        if self.proc is not None:
            self.proc.wait(5)

    def cleanup(self) -> None:
        self.pids()
        for pid in self.seen:
            for sig in (signal.SIGCONT, signal.SIGKILL):
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    break
        if self.proc is not None:
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass


class HAProxy:
    """``haproxy -db -f <file>``, its log lines read and time-stamped as they come."""

    def __init__(self, binary: str, config: Path) -> None:
        self.lines: list[tuple[float, str]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, text=True)
        self._reader = threading.Thread(target=self._read, name="haproxy-log", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self._cond.notify_all()

    def state_changes(self) -> list[tuple[float, str, str]]:
        with self._cond:
            return [(t, m["name"], m["state"]) for t, line in self.lines if (m := _STATE.search(line))]

    def wait_state(self, server: str, state: str, after: float, timeout: float) -> Optional[float]:
        """When HAProxy logged ``server`` as ``state`` after ``after``, waiting at most ``timeout``."""
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                for t, name, st in self._changes_locked():
                    if name == server and st == state and t >= after:
                        return t
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self._cond.wait(left)

    def _changes_locked(self) -> list[tuple[float, str, str]]:
        return [(t, m["name"], m["state"]) for t, line in self.lines if (m := _STATE.search(line))]

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(5)
        self._reader.join(2)


# ---------------------------------------------------------------------------------------------
# Failures


@dataclass(frozen=True)
class Failure:
    name: str
    inject: Callable[[Instance], None]
    undo: Callable[[Instance], None]
    # Leave the failure in place until HAProxy takes the instance out (at most HOLD_S), or undo it
    # at once (a deploy restarts at once).
    hold: bool = True


def _restart(inst: Instance) -> None:
    inst.start()
    inst.wait_serving(10)


def _graceful_stop(inst: Instance) -> None:
    inst.pids()
    if inst.proc is not None:
        inst.proc.send_signal(signal.SIGTERM)
        inst.proc.wait(10)


def _db_down(inst: Instance) -> None:
    inst.db_down_file.touch()


def _db_back(inst: Instance) -> None:
    inst.db_down_file.unlink(missing_ok=True)


FAILURES = [
    Failure("process killed (SIGKILL), restarted", Instance.kill, _restart),
    Failure("process hung (SIGSTOP), resumed", lambda i: i.signal(signal.SIGSTOP), lambda i: i.signal(signal.SIGCONT)),
    Failure("database unreachable from one instance, 503s", _db_down, _db_back),
    Failure("graceful restart (SIGTERM), restarted", _graceful_stop, _restart, hold=False),
]


@dataclass(frozen=True)
class Timeline:
    """When one failure was injected and undone, and when HAProxy took the instance out and put
    it back (None: it did not, within the drill's waits)."""

    failure: str
    injected: float
    out: Optional[float]
    undone: float
    back: Optional[float]
    end: float


# What each failure may cost with the shipped config (server maxconn = the app's 2 workers, checks
# every 1 s with a 1 s timeout, fall 2, rise 2, observe layer7 with error-limit 5):
# * lost: a killed, hung or gracefully stopped instance holds at most its maxconn (2) requests,
#   the only ones that can be lost (connection failures are retried elsewhere); a cut-off database
#   loses the 503s answered before the instance is out, at most error-limit (5).
# * out_s, taken out: a refused connection marks it down at once (observe layer7); a hung
#   instance fails 2 checks of 1 s timeout 1 s apart (about 4 s): 6 s leaves room for a busy
#   machine. A graceful restart may be over before HAProxy notices: no limit.
# * back_s, put back after the undo: a restart (about 1 s to serve) plus 2 good checks 1 s apart.
# * slowest_s: a retried connection costs milliseconds (1 s); a hung instance's trapped requests
#   wait until it is taken out and resumed (6 s); a cut-off database answers after pymongo's 5 s
#   server selection timeout (6 s).
LIMITS: dict[str, dict[str, float]] = {
    "process killed (SIGKILL), restarted": {"lost": 2, "out_s": 3, "back_s": 5, "slowest_s": 1},
    "process hung (SIGSTOP), resumed": {"lost": 2, "out_s": 6, "back_s": 5, "slowest_s": 6},
    "database unreachable from one instance, 503s": {"lost": 5, "out_s": 6, "back_s": 5, "slowest_s": 6},
    "graceful restart (SIGTERM), restarted": {"lost": 2, "slowest_s": 1},
}


def figure_for(t: Timeline, results: list[Result]) -> Figure:
    counted = tally(results, t.injected, t.end)
    taken_out = None if t.out is None else t.out - t.injected
    recovery = None if t.back is None else t.back - t.undone
    limits = LIMITS.get(t.failure, {})
    measured = {"lost": float(counted.lost), "slowest_s": counted.slowest_s,
                "out_s": taken_out if taken_out is not None else float("inf"),
                "back_s": recovery if recovery is not None else float("inf")}
    errors = ", ".join(f"{k}: {v}" for k, v in sorted(counted.errors.items())) or "none"
    out = "not taken out" if taken_out is None else f"taken out after {taken_out:.1f} s"
    back = "" if recovery is None else f", back {recovery:.1f} s after the undo"
    return Figure(
        drill="lb", failure=t.failure, attempted=counted.attempted, lost=counted.lost,
        longest_stall_s=counted.slowest_s, recovery_s=recovery,
        limits=tuple((name, limit, measured[name]) for name, limit in limits.items()),
        note=f"{out}{back}; lost by kind: {errors}",
    )


# ---------------------------------------------------------------------------------------------
# The drill


def _require() -> str:
    haproxy = shutil.which("haproxy") or (shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin"))
    if haproxy is None:
        raise DrillUnavailableError("haproxy is not installed: apt-get install haproxy")
    for module, package in (("gunicorn", "gunicorn"), ("mongomock", "mongomock"), ("flask", "flask")):
        try:
            __import__(module)
        except ImportError:
            raise DrillUnavailableError(f"{module} is not importable: pip install -r requirements-dev.txt "
                                        f"(it pins {package})") from None
    return haproxy


def run(failures: Optional[list[Failure]] = None, rate: float = RATE) -> DrillReport:
    haproxy_bin = _require()
    started = time.monotonic()
    deadline = started + DEADLINE_S
    report = DrillReport("lb")
    workdir = Path(tempfile.mkdtemp(prefix="lb-drill-"))
    instances: list[Instance] = []
    balancer: Optional[HAProxy] = None
    load: Optional[OpenLoopLoad] = None
    timelines: list[Timeline] = []
    try:
        planned = planned_balancer()
        ports = free_ports(INSTANCES + 2)
        names = [f"webapp-{i}" for i in range(INSTANCES)]
        public_port, stats_port = ports[-2], ports[-1]
        config = workdir / "haproxy.cfg"
        config.write_text(drill_config(planned, names, ports[:INSTANCES], public_port, stats_port))
        instances = [Instance(n, p, workdir) for n, p in zip(names, ports, strict=False)]
        for inst in instances:
            inst.start()
        for inst in instances:
            if not inst.wait_serving(15):
                report.problems.append(f"{inst.name} did not serve /healthcheck within 15 s: {_tail(inst.log)}")
        if report.problems:
            return report
        balancer = HAProxy(haproxy_bin, config)
        front = f"http://{LOOPBACK}:{public_port}/"
        if not _wait(lambda: http_status(front) == 200, 10):
            report.problems.append(f"haproxy did not answer 200 within 10 s: {_haproxy_tail(balancer)}")
            return report
        # The baseline is the steady state: every worker has served a request (its first one
        # imports and connects lazily), and HAProxy has seen two health checks pass (``rise 2``
        # at ``inter 1s``), so a request lost before the first failure is a real loss.
        _warm(instances)
        time.sleep(WARM_CHECKS_S)
        load = OpenLoopLoad(LOOPBACK, public_port, rate, timeout_s=CLIENT_TIMEOUT_S, max_seconds=DEADLINE_S)
        load.start()
        time.sleep(SETTLE_S)
        victim = instances[VICTIM]
        for failure in failures if failures is not None else FAILURES:
            injected = time.monotonic()
            failure.inject(victim)
            hold = min(HOLD_S, max(0.0, deadline - injected - 20)) if failure.hold else 0.0
            out = balancer.wait_state(victim.name, "DOWN", injected, hold)
            undone = time.monotonic()
            failure.undo(victim)
            back = None
            if out is not None or not failure.hold:
                # After a graceful restart HAProxy may never have noticed; wait only if it did.
                seen_out = balancer.wait_state(victim.name, "DOWN", injected, 0)
                if seen_out is not None:
                    out = seen_out
                    back = balancer.wait_state(victim.name, "UP", undone, min(BACK_S, deadline - undone - 12))
            # A restarted instance serves at once; one that queued requests drains them first.
            if not victim.wait_serving(5):
                report.problems.append(f"{victim.name} does not serve after undoing '{failure.name}'")
            end = max(time.monotonic(), back or 0.0) + SETTLE_S
            time.sleep(max(0.0, end - time.monotonic()))
            timelines.append(Timeline(failure.name, injected, out, undone, back, end))
        results = load.stop()
        load = None
        report.figures = [figure_for(t, results) for t in timelines]
        before = tally(results, float("-inf"), timelines[0].injected if timelines else float("inf"))
        if before.lost:
            report.problems.append(f"{before.lost} of {before.attempted} requests lost before any failure")
        if balancer.proc.poll() is not None:
            report.problems.append(f"haproxy exited during the drill: {_haproxy_tail(balancer)}")
        report.seconds = time.monotonic() - started
        return report
    finally:
        if load is not None:
            load.stop()
        if balancer is not None:
            balancer.stop()
            (workdir / "haproxy.log").write_text("".join(f"{t:.3f} {line}\n" for t, line in balancer.lines))
        for inst in instances:
            inst.cleanup()
        if os.environ.get(KEEP_ENV) == "1":
            print(f"lb drill: files kept in {workdir}", file=sys.stderr)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def _wait(predicate: Callable[[], bool], timeout: float) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.1)
    return False


def _tail(path: Path, lines: int = 5) -> str:
    try:
        return " | ".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def _haproxy_tail(balancer: HAProxy, lines: int = 5) -> str:
    return " | ".join(line for _, line in balancer.lines[-lines:])

