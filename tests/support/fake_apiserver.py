"""A loopback HTTP server answering the few Kubernetes API calls the flow scheduler makes, as the
API server does, so its tests run the official client's real serialisation over real HTTP.

What it checks the way kube-apiserver does (each a failure a cluster would show and an in-memory
stand-in would not):

* ``MicroTime`` fields of a Lease (``acquireTime``, ``renewTime``) must have exactly six
  fractional digits: the API server parses them with Go's layout
  ``2006-01-02T15:04:05.000000Z07:00`` (k8s.io/apimachinery ``RFC3339Micro``) and answers
  400 BadRequest otherwise;
* a ``replace`` (PUT) must carry the ``resourceVersion`` last written, else 409 Conflict
  (optimistic concurrency); a ``create`` of an existing name is 409 AlreadyExists;
* a Binding of a pod that already has a node is 409 Conflict, and a successful Binding is
  answered with a ``Status`` object, not the Binding (kubernetes-client/python#825);
* a status PATCH must be a merge or strategic-merge patch (``Content-Type``), and conditions
  merge by ``type`` (the strategic-merge key of ``PodStatus.conditions``);
* lists carry a ``resourceVersion``, and ``?watch=true`` from one streams the events after it
  (one JSON object per line, then the connection ends as at a watch timeout); a version older
  than the history kept (``compact``) gets an ``ERROR`` event with a 410 Gone ``Status``.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

MICRO_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}(Z|[+-]\d{2}:\d{2})$")
LEASES = re.compile(r"^/apis/coordination\.k8s\.io/v1/namespaces/([^/]+)/leases(?:/([^/]+))?$")
POD_SUB = re.compile(r"^/api/v1/namespaces/([^/]+)/pods/([^/]+)/(binding|status)$")
PATCH_TYPES = ("application/merge-patch+json", "application/strategic-merge-patch+json")


def status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure" if code >= 400 else "Success",
            "reason": reason, "message": message, "code": code}


class FakeApiServer:
    """Nodes, pods and Leases in memory, served on ``url`` until ``close``."""

    def __init__(self, nodes: list[dict[str, Any]], pods: list[dict[str, Any]]) -> None:
        self.nodes = nodes
        self.pods = {(p["metadata"]["namespace"], p["metadata"]["name"]): p for p in pods}
        self.leases: dict[tuple[str, str], dict[str, Any]] = {}
        self.version = 100
        self.requests: list[tuple[str, str, Optional[str]]] = []  # method, path, content type
        self.queries: list[dict[str, list[str]]] = []  # the query of each GET
        self.events: list[tuple[int, str, str, dict[str, Any]]] = []  # version, kind, type, object
        self.oldest = 0  # events before this version are forgotten (compacted)
        self.silent_watch_s = 0.0  # a watch that sends nothing this long (a connection gone dead)
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet
                pass

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> Any:
                length = int(self.headers.get("Content-Length") or 0)
                return json.loads(self.rfile.read(length) or b"null")

            def _handle(self, method: str) -> None:
                url = urlsplit(self.path)
                path, query = url.path, parse_qs(url.query)
                body = self._body() if method in ("POST", "PUT", "PATCH") else None
                with server.lock:
                    server.requests.append((method, path, self.headers.get("Content-Type")))
                    if method == "GET":
                        server.queries.append(query)
                    if method == "GET" and query.get("watch", [""])[0].lower() in ("true", "1"):
                        lines = server.watch_lines(path, query)
                    else:
                        code, answer = server.route(method, path, body, self.headers.get("Content-Type"))
                        lines = None
                if lines is None:
                    self._answer(code, answer)
                    return
                # A watch: 200, a line per event, and the end of the connection (no length).
                if server.silent_watch_s:
                    time.sleep(server.silent_watch_s)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                for line in lines:
                    self.wfile.write(line.encode() + b"\n")
                if not lines:
                    time.sleep(0.2)  # a quiet watch stays open a while (a real one, until its timeout)

            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                self._handle("GET")

            def do_POST(self) -> None:  # noqa: N802
                self._handle("POST")

            def do_PUT(self) -> None:  # noqa: N802
                self._handle("PUT")

            def do_PATCH(self) -> None:  # noqa: N802
                self._handle("PATCH")

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def _next_version(self) -> str:
        self.version += 1
        return str(self.version)

    def _event(self, kind: str, event_type: str, obj: dict[str, Any]) -> None:
        obj["metadata"]["resourceVersion"] = self._next_version()
        self.events.append((self.version, kind, event_type, copy.deepcopy(obj)))

    # What the cluster does meanwhile (the tests call these).

    def add_pod(self, pod: dict[str, Any]) -> None:
        with self.lock:
            self.pods[(pod["metadata"]["namespace"], pod["metadata"]["name"])] = pod
            self._event("pods", "ADDED", pod)

    def delete_pod(self, namespace: str, name: str) -> None:
        with self.lock:
            self._event("pods", "DELETED", self.pods.pop((namespace, name)))

    def compact(self) -> None:
        """Forget the event history, as etcd compaction does."""
        with self.lock:
            self.events.clear()
            self.oldest = self.version + 1

    def watch_lines(self, path: str, query: dict[str, list[str]]) -> list[str]:
        kind = {"/api/v1/nodes": "nodes", "/api/v1/pods": "pods"}.get(path)
        since = int(query.get("resourceVersion", ["0"])[0] or 0)
        if kind is None:
            return [json.dumps({"type": "ERROR", "object": status(404, "NotFound", path)})]
        if since < self.oldest - 1:
            return [json.dumps({"type": "ERROR", "object": status(410, "Expired",
                                                                  f"too old resource version: {since} ({self.oldest})")})]
        return [json.dumps({"type": t, "object": obj}) for v, k, t, obj in self.events if k == kind and v > since]
    # ------------------------------------------------------------------------------ routes

    def route(self, method: str, path: str, body: Any, content_type: Optional[str]) -> tuple[int, dict[str, Any]]:
        listed = {"resourceVersion": str(self.version)}
        if method == "GET" and path == "/api/v1/nodes":
            return 200, {"kind": "NodeList", "apiVersion": "v1", "metadata": listed, "items": self.nodes}
        if method == "GET" and path == "/api/v1/pods":
            return 200, {"kind": "PodList", "apiVersion": "v1", "metadata": listed, "items": list(self.pods.values())}
        if m := POD_SUB.match(path):
            return self._pod_sub(method, (m.group(1), m.group(2)), m.group(3), body, content_type)
        if m := LEASES.match(path):
            return self._lease(method, m.group(1), m.group(2), body)
        return 404, status(404, "NotFound", f"the server could not find the requested resource ({method} {path})")

    def _pod_sub(self, method: str, key: tuple[str, str], sub: str, body: Any,
                 content_type: Optional[str]) -> tuple[int, dict[str, Any]]:
        pod = self.pods.get(key)
        if pod is None:
            return 404, status(404, "NotFound", f'pods "{key[1]}" not found')
        if sub == "binding" and method == "POST":
            target = (body or {}).get("target") or {}
            if target.get("kind") != "Node" or not target.get("name"):
                return 400, status(400, "BadRequest", "a Binding's target must be a Node")
            if pod["spec"].get("nodeName"):
                return 409, status(409, "Conflict",
                                   f'pod {key[1]} is already assigned to node "{pod["spec"]["nodeName"]}"')
            pod["spec"]["nodeName"] = target["name"]
            self._event("pods", "MODIFIED", pod)
            return 201, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "code": 201}
        if sub == "status" and method == "PATCH":
            if (content_type or "").split(";")[0] not in PATCH_TYPES:
                return 415, status(415, "UnsupportedMediaType", f"the body of the request was in an unknown format ({content_type})")
            conditions = pod.setdefault("status", {}).setdefault("conditions", [])
            for new in ((body or {}).get("status") or {}).get("conditions") or []:
                conditions[:] = [c for c in conditions if c.get("type") != new.get("type")] + [new]
            self._event("pods", "MODIFIED", pod)
            return 200, pod
        return 405, status(405, "MethodNotAllowed", f"{method} on pods/{sub}")

    def _lease(self, method: str, namespace: str, name: Optional[str], body: Any) -> tuple[int, dict[str, Any]]:
        if method == "GET" and name:
            lease = self.leases.get((namespace, name))
            if lease is None:
                return 404, status(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found')
            return 200, lease
        if method in ("POST", "PUT"):
            meta = (body or {}).get("metadata") or {}
            name = name or meta.get("name")
            bad = self._bad_times(body)
            if bad:
                return 400, status(400, "BadRequest", bad)
            key = (namespace, name)
            current = self.leases.get(key)
            if method == "POST" and current is not None:
                return 409, status(409, "AlreadyExists", f'leases.coordination.k8s.io "{name}" already exists')
            if method == "PUT":
                if current is None:
                    return 404, status(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found')
                if meta.get("resourceVersion") != current["metadata"]["resourceVersion"]:
                    return 409, status(409, "Conflict", f'Operation cannot be fulfilled on leases.coordination.k8s.io "{name}": '
                                       "the object has been modified; please apply your changes to the latest version and try again")
            lease = copy.deepcopy(body)
            lease.update(kind="Lease", apiVersion="coordination.k8s.io/v1")
            lease["metadata"] = {"name": name, "namespace": namespace, "resourceVersion": self._next_version()}
            for field in ("acquireTime", "renewTime"):
                if lease.get("spec", {}).get(field):
                    lease["spec"][field] = _normalised(lease["spec"][field])
            self.leases[key] = lease
            return (201 if method == "POST" else 200), lease
        return 405, status(405, "MethodNotAllowed", f"{method} on leases")

    @staticmethod
    def _bad_times(body: Any) -> Optional[str]:
        spec = (body or {}).get("spec") or {}
        for field in ("acquireTime", "renewTime"):
            value = spec.get(field)
            if value is not None and not MICRO_TIME.match(value):
                return (f'Lease in version "v1" cannot be handled as a Lease: parsing time "{value}" as '
                        f'"2006-01-02T15:04:05.000000Z07:00" (spec.{field})')
        return None


def _normalised(value: str) -> str:
    """How the API server writes a MicroTime back: UTC, six digits, ``Z``."""
    t = dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
