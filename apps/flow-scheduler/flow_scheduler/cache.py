"""The nodes and live pods of the cluster, listed once and kept current by watches.

Listing every pod each second would cost the API server a full list per cycle (tens of MB on a
cluster of thousands of nodes); kube-scheduler instead keeps informer caches, one list and then a
watch from its ``resourceVersion``. This is the same, for the two kinds placement reads:

* ``relist(kind)``: a full list, remembering the list's ``resourceVersion``;
* ``watch(kind)``: one watch from there (``allowWatchBookmarks``, a server-side timeout), applying
  ``ADDED``/``MODIFIED``/``DELETED`` events. A ``410 Gone`` (the version was compacted away)
  means relisting, as the client's ``Watch.stream`` documents;
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

import logging
import threading
import time
from typing import Any, Callable, Literal, Optional

from kubernetes import watch
from kubernetes.client.rest import ApiException

from .convert import pod_key

Kind = Literal["nodes", "pods"]
LIVE_PODS = "status.phase!=Succeeded,status.phase!=Failed"
WATCH_TIMEOUT_S = 300
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

    def _overlay(self, key: str, pod: Any) -> None:
        """Keep an assumed binding on ``pod`` until the API server's copy has a node (lock held)."""
        node = self._assumed.get(key)
        if node is None:
            return
        if pod.spec.node_name:
            del self._assumed[key]
        else:
            pod.spec.node_name = node

    # ---------------------------------------------------------------------------- syncing

    def _list(self, kind: Kind) -> Callable[..., Any]:
        return self.core.list_node if kind == "nodes" else self.core.list_pod_for_all_namespaces

    def _args(self, kind: Kind) -> dict[str, Any]:
        return {} if kind == "nodes" else {"field_selector": LIVE_PODS}

    @staticmethod
    def _key(kind: Kind, obj: Any) -> str:
        return obj.metadata.name if kind == "nodes" else pod_key(obj)

    def relist(self, kind: Kind) -> None:
        listed = self._list(kind)(**self._args(kind))
        objects = {self._key(kind, obj): obj for obj in listed.items or []}
        with self._lock:
            if kind == "pods":
                for key in list(self._assumed):
                    if key in objects:
                        self._overlay(key, objects[key])
                    else:
                        del self._assumed[key]
            self._objects[kind] = objects
            self._version[kind] = listed.metadata.resource_version

    def apply(self, kind: Kind, event_type: str, obj: Any) -> None:
        """One watch event."""
        key = self._key(kind, obj)
        with self._lock:
            if event_type == "DELETED":
                self._objects[kind].pop(key, None)
                self._assumed.pop(key, None)
            elif event_type in ("ADDED", "MODIFIED"):
                if kind == "pods":
                    self._overlay(key, obj)
                self._objects[kind][key] = obj
            version = obj.metadata.resource_version
            if version:
                self._version[kind] = version

    def watch(self, kind: Kind, timeout_s: int = WATCH_TIMEOUT_S) -> None:
        """One watch until the server ends it (``timeout_s``); relists on ``410 Gone``."""
        if self._version[kind] is None:
            self.relist(kind)
        stream = watch.Watch()
        try:
            for event in stream.stream(self._list(kind), resource_version=self._version[kind],
                                       timeout_seconds=timeout_s, allow_watch_bookmarks=True, **self._args(kind)):
                if event["type"] == "BOOKMARK":
                    with self._lock:
                        self._version[kind] = stream.resource_version
                    continue
                self.apply(kind, event["type"], event["object"])
        except ApiException as exc:
            if exc.status != 410:
                raise
            log.info("%s: watch version expired (410 Gone), relisting", kind)
            self.relist(kind)

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


def wait_synced(cache: ClusterCache, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not cache.synced():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True
