"""``GET /healthz`` for the kubelet's liveness probe: healthy while the main loop keeps completing
iterations and both watch threads run.

The main loop survives a failed iteration (an API server timeout, a 500) and tries again next
batch; it calls ``beat`` only after an iteration that worked. So a replica that keeps failing,
or hangs, stops beating, ``/healthz`` answers 503 with the reason after ``stale_after_s``, and
the kubelet restarts the container; a replica that failed once carries on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable

HEALTH_PORT = 8080


@dataclass
class Health:
    stale_after_s: float = 30.0
    clock: Callable[[], float] = time.monotonic
    threads: list[threading.Thread] = field(default_factory=list)
    last_beat: float = field(init=False)

    def __post_init__(self) -> None:
        self.last_beat = self.clock()

    def beat(self) -> None:
        self.last_beat = self.clock()

    def check(self) -> tuple[bool, str]:
        idle = self.clock() - self.last_beat
        if idle > self.stale_after_s:
            return False, f"no successful loop iteration for {idle:.0f} s"
        stopped = [t.name for t in self.threads if not t.is_alive()]
        if stopped:
            return False, f"stopped: {', '.join(stopped)}"
        return True, "ok"

    def serve(self, port: int = HEALTH_PORT, host: str = "0.0.0.0") -> ThreadingHTTPServer:  # noqa: S104 - the kubelet probes the pod IP
        """Answer ``/healthz`` on a daemon thread (the returned server's ``shutdown`` stops it)."""
        health = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # the kubelet probes every few seconds
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                if self.path != "/healthz":
                    self.send_error(404)
                    return
                ok, why = health.check()
                body = why.encode()
                self.send_response(200 if ok else 503)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer((host, port), Handler)
        threading.Thread(target=server.serve_forever, name="healthz", daemon=True).start()
        return server
