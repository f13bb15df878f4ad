"""The nodes and live pods of the cluster, listed once and kept current by watches.

Listing every pod each second would cost the API server a full list per cycle (tens of MB on a
cluster of thousands of nodes); kube-scheduler instead keeps informer caches, one list and then a
watch from its ``resourceVersion``. This is the same, for the two kinds placement reads:

* ``relist(kind)``: a full list, remembering the list's ``resourceVersion``;
* ``watch(kind)``: one watch from there (``allowWatchBookmarks``, a server-side timeout), applying
  ``ADDED``/``MODIFIED``/``DELETED`` events and following ``BOOKMARK``s. An ``ERROR`` event with
  ``410 Gone`` (the version was compacted away) means relisting, as the client's
  ``Watch.stream`` documents;
* both read the API server's JSON as is (``_preload_content=False``) and keep it slimmed
  (``convert.slim_pod``/``slim_node``), never the client's models (see ``convert``). The watch
  reads the stream's lines itself: ``Watch.stream(..., deserialize=False)`` fails on an
  ``ERROR`` event (it looks for a ``raw_object`` key it only sets when deserialising) and does
  not follow bookmarks;
* pods are listed and watched with ``status.phase!=Succeeded,status.phase!=Failed``: finished
  pods take no capacity, and a pod that finishes leaves the selection (the watch says
  ``DELETED``);
* ``assume(pod, node)``: after a successful binding, the cached pod counts as bound on its node
  (kube-scheduler's "assumed" pods) until an event or a list shows it bound or gone, so an
  event written before the binding cannot make the next cycle place it again.

``run_watches`` keeps both watches going on daemon threads, relisting after any error with a
capped backoff; every replica runs them, so a replica that takes the Lease over has a warm cache.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Callable, Literal, Optional

from kubernetes.client.rest import ApiException
from kubernetes.watch.watch import iter_resp_lines

from .convert import pod_key, slim_node, slim_pod

Kind = Literal["nodes", "pods"]
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"
WATCH_TIMEOUT_S = 300
# Client-side limits (connect, read) in seconds: without a read timeout, a watch whose connection
# died without a FIN (a NAT or load balancer dropping it) would wait forever, and the cache would
# silently go stale. A watch gets the server's own timeout plus a margin.
CONNECT_TIMEOUT_S = 10
LIST_READ_TIMEOUT_S = 120
WATCH_READ_MARGIN_S = 30
log = logging.getLogger("flow-scheduler.cache")


class ClusterCache:
    def __init__(self, core: Any) -> None:
        self.core = core
        self._lock = threading.Lock()
        self._objects: dict[Kind, dict[str, Any]] = {"nodes": {}, "pods": {}}
        self._version: dict[Kind, Optional[str]] = {"nodes": None, "pods": None}
        self._assumed: dict[str, str] = {}  # pod key -> node it was bound to

    # ---------------------------------------------------------------------------- reading

    def nodes(self) -> list[Any]:
        with self._lock:
            return list(self._objects["nodes"].values())

    def pods(self) -> list[Any]:
        with self._lock:
            return list(self._objects["pods"].values())

    def synced(self) -> bool:
        """Both kinds listed at least once."""
        with self._lock:
            return all(v is not None for v in self._version.values())

    def assume(self, pod: Any, node: str) -> None:
        """Count ``pod`` as bound on ``node`` until the watch says what the API server has."""
        key = pod_key(pod)
        with self._lock:
            self._assumed[key] = node
            cached = self._objects["pods"].get(key)
            if cached is not None:
                self._overlay(key, cached)

    def _overlay(self, key: str, pod: dict[str, Any]) -> None:
        """Keep an assumed binding on ``pod`` until the API server's copy has a node (lock held)."""
        node = self._assumed.get(key)
        if node is None:
            return
        if pod["spec"].get("nodeName"):
            del self._assumed[key]
        else:
            pod["spec"]["nodeName"] = node

    # ---------------------------------------------------------------------------- syncing

    def _list(self, kind: Kind) -> Callable[..., Any]:
        return self.core.list_node if kind == "nodes" else self.core.list_pod_for_all_namespaces

    def _args(self, kind: Kind) -> dict[str, Any]:
        return {} if kind == "nodes" else {"field_selector": LIVE_PODS}

    @staticmethod
    def _key(kind: Kind, obj: Any) -> str:
        return obj["metadata"]["name"] if kind == "nodes" else pod_key(obj)

    @staticmethod
    def _slim(kind: Kind, obj: Any) -> dict[str, Any]:
        return slim_node(obj) if kind == "nodes" else slim_pod(obj)

    def relist(self, kind: Kind) -> None:
        response = _checked(self._list(kind)(
            _preload_content=False, _request_timeout=(CONNECT_TIMEOUT_S, LIST_READ_TIMEOUT_S), **self._args(kind),
        ))
        try:
            listed = json.loads(response.data)
        finally:
            response.release_conn()
        objects = {self._key(kind, obj): self._slim(kind, obj) for obj in listed.get("items") or []}
        with self._lock:
            if kind == "pods":
                for key in list(self._assumed):
                    if key in objects:
                        self._overlay(key, objects[key])
                    else:
                        del self._assumed[key]
            self._objects[kind] = objects
            self._version[kind] = (listed.get("metadata") or {}).get("resourceVersion")

    def apply(self, kind: Kind, event_type: str, obj: dict[str, Any]) -> None:
        """One watch event (the object as the API server's JSON)."""
        version = (obj.get("metadata") or {}).get("resourceVersion")
        with self._lock:
            if event_type == "DELETED":
                key = self._key(kind, obj)
                self._objects[kind].pop(key, None)
                self._assumed.pop(key, None)
            elif event_type in ("ADDED", "MODIFIED"):
                key, slim = self._key(kind, obj), self._slim(kind, obj)
                if kind == "pods":
                    self._overlay(key, slim)
                self._objects[kind][key] = slim
            if version:  # BOOKMARKs carry only this
                self._version[kind] = version

    def watch(self, kind: Kind, timeout_s: int = WATCH_TIMEOUT_S, read_margin_s: float = WATCH_READ_MARGIN_S) -> None:
        """One watch until the server ends it (``timeout_s``); relists on ``410 Gone``; gives up
        (raises) when the connection is silent ``read_margin_s`` past the server's timeout."""
        if self._version[kind] is None:
            self.relist(kind)
        response = _checked(self._list(kind)(
            watch=True, resource_version=self._version[kind], timeout_seconds=timeout_s,
            allow_watch_bookmarks=True, _preload_content=False,
            _request_timeout=(CONNECT_TIMEOUT_S, timeout_s + read_margin_s), **self._args(kind),
        ))
        try:
            for line in iter_resp_lines(response):
                if not line.strip():
                    continue
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    if status.get("code") == 410:
                        log.info("%s: watch version expired (410 Gone), relisting", kind)
                        self.relist(kind)
                        return
                    why = f"{status.get('reason')}: {status.get('message')}"
                    raise ApiException(status=status.get("code"), reason=why)
                self.apply(kind, event.get("type", ""), event.get("object") or {})
        finally:
            response.close()
            response.release_conn()

    def run_watches(self, stop: threading.Event, max_backoff_s: float = 30.0) -> list[threading.Thread]:
        """Both watches, forever (until ``stop``), each on a daemon thread."""

        def loop(kind: Kind) -> None:
            backoff = 1.0
            while not stop.is_set():
                try:
                    self.watch(kind)
                    backoff = 1.0
                except Exception:  # noqa: BLE001 - any failure: log, wait, relist, go on
                    log.exception("%s: watch failed; relisting in %.0f s", kind, backoff)
                    stop.wait(backoff)
                    backoff = min(backoff * 2, max_backoff_s)
                    try:
                        self.relist(kind)
                    except Exception:  # noqa: BLE001
                        log.exception("%s: relist failed", kind)

        threads = [threading.Thread(target=loop, args=(kind,), name=f"watch-{kind}", daemon=True)
                   for kind in ("nodes", "pods")]
        for thread in threads:
            thread.start()
        return threads


def _checked(response: Any) -> Any:
    """The raw response, or the API server's refusal as an ``ApiException`` (without preloading,
    the client returns any status as is)."""
    if 200 <= response.status <= 299:
        return response
    try:
        raise ApiException(status=response.status, reason=f"{response.reason}: {response.data[:500]!r}")
    finally:
        response.release_conn()


def wait_synced(cache: ClusterCache, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cache.synced():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
