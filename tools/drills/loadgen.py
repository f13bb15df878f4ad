"""Paced open-loop HTTP load: requests leave on a fixed schedule whether or not earlier ones answered.

A closed loop (send, wait for the answer, send the next) slows down exactly when the service
stalls, and so hides the stall it should measure. Here request ``i`` is due at ``start + i / rate``
and leaves then, on its own connection, from an asyncio task; its latency is counted from the
time it was due, so a late start (a busy client) shows up as latency instead of vanishing.
Each request is ``GET <path>`` with ``Connection: close``; the answer is read to its end.
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Result:
    """One request: when it was due and when it left (``time.monotonic()``), how long it took
    from due to its last byte, and its status (0: no HTTP answer, see ``error``)."""

    due: float
    sent: float
    latency_s: float
    status: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class Tally:
    """Requests due in a time window: attempted, lost (non-2xx, connection errors, timeouts),
    and the slowest one."""

    attempted: int
    lost: int
    slowest_s: float
    errors: dict[str, int]


def tally(results: list[Result], start: float = float("-inf"), end: float = float("inf")) -> Tally:
    """Account for the requests due in ``[start, end)``."""
    window = [r for r in results if start <= r.due < end]
    errors: dict[str, int] = {}
    for r in window:
        if not r.ok:
            key = r.error or str(r.status)
            errors[key] = errors.get(key, 0) + 1
    return Tally(len(window), sum(1 for r in window if not r.ok), max((r.latency_s for r in window), default=0.0),
                 errors)


class OpenLoopLoad:
    """``rate`` requests per second to ``http://host:port<path>`` from ``start()`` until ``stop()``
    (or ``max_seconds``); each gives up after ``timeout_s`` (counted as lost, error ``timeout``)."""

    def __init__(self, host: str, port: int, rate: float, *, path: str = "/", timeout_s: float = 10.0,
                 max_seconds: float = 120.0) -> None:
        self.host, self.port, self.rate, self.path = host, port, rate, path
        self.timeout_s, self.max_seconds = timeout_s, max_seconds
        self.results: list[Result] = []
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.started_at = 0.0

    def start(self) -> None:
        self.started_at = time.monotonic()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._run()), name="open-loop-load", daemon=True)
        self._thread.start()

    def stop(self) -> list[Result]:
        """Stop sending, wait for the requests in flight (at most ``timeout_s``), return all results."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 5)
        return sorted(self.results, key=lambda r: r.due)

    async def _run(self) -> None:
        tasks: set[asyncio.Task[None]] = set()
        start = self.started_at
        i = 0
        while not self._stop.is_set():
            due = start + i / self.rate
            if due - start > self.max_seconds:
                break
            delay = due - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self._one(due))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        if tasks:
            await asyncio.wait(tasks)

    async def _one(self, due: float) -> None:
        sent = time.monotonic()
        status, error = 0, ""
        writer = None
        try:
            async with asyncio.timeout(max(0.001, self.timeout_s - (sent - due))):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                request = f"GET {self.path} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nConnection: close\r\n\r\n"
                writer.write(request.encode("ascii"))
                await writer.drain()
                head = await reader.readline()
                parts = head.split(b" ", 2)
                if len(parts) >= 2 and parts[0].startswith(b"HTTP/") and parts[1].isdigit():
                    status = int(parts[1])
                    await reader.read()  # the rest of the answer, up to the server's close
                else:
                    error = "empty response" if not head else "bad response"
        except TimeoutError:
            status, error = 0, "timeout"
        except ConnectionRefusedError:
            status, error = 0, "connection refused"
        except OSError as exc:  # a reset in the middle of the answer, among others
            status, error = 0, type(exc).__name__
        finally:
            if writer is not None:
                writer.close()
        self.results.append(Result(due, sent, time.monotonic() - due, status, error))
