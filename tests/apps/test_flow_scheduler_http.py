"""The flow scheduler with the official Kubernetes client over real HTTP, against a loopback
server that answers as the API server does (``fake_apiserver``): the objects are JSON as a
cluster sends them, and what the client writes is parsed as the API server parses it."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections import Counter
from typing import Any, Iterator

import pytest
from fake_apiserver import FakeApiServer
from flow_scheduler.cache import LIVE_PODS, ClusterCache, wait_synced
from flow_scheduler.lease import LeaseElector
from flow_scheduler.scheduler import FlowScheduler
from kube_objects import node, pod
from kubernetes import client

WHOLE_SECOND = dt.datetime(2026, 12, 3, 15, 20, 0, tzinfo=dt.UTC)  # microsecond 0


@pytest.fixture
def server() -> Iterator[FakeApiServer]:
    nodes = [node(f"{z}-{i}", f"us-east-1{z}") for z in "abc" for i in range(2)]
    pods = [pod(f"web-{i}") for i in range(6)] + [
        pod("huge-0", rs="huge", cpu="64"),
        pod("other-0", rs="other", scheduler="default-scheduler"),
        pod("running-0", rs="old", cpu="3", node_name="a-0"),
    ]
    srv = FakeApiServer(nodes, pods)
    yield srv
    srv.close()


def api(server: FakeApiServer) -> client.ApiClient:
    return client.ApiClient(client.Configuration(host=server.url))


def test_a_cycle_over_http_binds_the_burst_across_zones_and_marks_what_fits_nowhere(server: FakeApiServer) -> None:
    result = FlowScheduler(client.CoreV1Api(api(server))).cycle()
    placed = {name: p["spec"].get("nodeName") for (_, name), p in server.pods.items()}
    assert sorted(result.bound) == [f"apps/web-{i}" for i in range(6)]
    assert all(placed[f"web-{i}"] == result.bound[f"apps/web-{i}"] for i in range(6))
    assert Counter(n.split("-")[0] for n in (placed[f"web-{i}"] for i in range(6))) == {"a": 2, "b": 2, "c": 2}
    # a-0 runs a 3-CPU pod: least allocated puts no web pod there while a-1 has room.
    assert "a-0" not in {placed[f"web-{i}"] for i in range(6)}
    assert placed["other-0"] is None and placed["huge-0"] is None
    condition = server.pods[("apps", "huge-0")]["status"]["conditions"][0]
    assert (condition["type"], condition["status"], condition["reason"]) == ("PodScheduled", "False", "Unschedulable")
    assert "requests more than the node's allocatable" in condition["message"]
    patches = [ct for method, path, ct in server.requests if method == "PATCH"]
    assert patches == ["application/strategic-merge-patch+json"]


def test_a_pod_bound_meanwhile_is_a_conflict_not_a_crash(server: FakeApiServer) -> None:
    core = client.CoreV1Api(api(server))
    scheduler = FlowScheduler(core)
    original = core.list_pod_for_all_namespaces

    def list_then_race(**kw: Any) -> Any:
        pods = original(**kw)  # what the cycle sees: web-0 still pending
        server.pods[("apps", "web-0")]["spec"]["nodeName"] = "c-1"  # bound by someone else after the list
        return pods

    core.list_pod_for_all_namespaces = list_then_race  # type: ignore[method-assign]
    result = scheduler.cycle()
    assert result.conflicts == ["apps/web-0"] and "apps/web-0" not in result.bound
    assert server.pods[("apps", "web-0")]["spec"]["nodeName"] == "c-1"


def test_the_binding_answer_is_a_status_that_the_client_cannot_read_as_a_binding(server: FakeApiServer) -> None:
    """Why the scheduler binds with ``_preload_content=False`` (kubernetes-client/python#825)."""
    core = client.CoreV1Api(api(server))
    body = client.V1Binding(metadata=client.V1ObjectMeta(name="web-0", namespace="apps"),
                            target=client.V1ObjectReference(api_version="v1", kind="Node", name="b-0"))
    with pytest.raises((ValueError, TypeError)):
        core.create_namespaced_pod_binding("web-0", "apps", body)
    assert server.pods[("apps", "web-0")]["spec"]["nodeName"] == "b-0"  # it did bind


def test_leader_election_over_http_with_times_on_whole_seconds(server: FakeApiServer) -> None:
    """Times with zero microseconds are what the client would send without six fractional digits,
    which the API server refuses; the elector still creates, renews and hands over the Lease."""
    now = {"t": WHOLE_SECOND}
    leases = client.CoordinationV1Api(api(server))
    first = LeaseElector(leases, "kube-system", "flow", "replica-a", duration_s=15, clock=lambda: now["t"])
    second = LeaseElector(leases, "kube-system", "flow", "replica-b", duration_s=15, clock=lambda: now["t"])
    assert first.try_acquire_or_renew() and first.is_leader()
    assert not second.try_acquire_or_renew()
    now["t"] += dt.timedelta(seconds=5)
    assert first.try_acquire_or_renew()  # a renewal re-sends the acquireTime read back (".000000Z")
    now["t"] += dt.timedelta(seconds=16)  # first stops renewing; its Lease expires
    assert second.try_acquire_or_renew() and second.is_leader()
    lease = server.leases[("kube-system", "flow")]["spec"]
    assert lease["holderIdentity"] == "replica-b" and lease["leaseTransitions"] == 1
    assert not first.try_acquire_or_renew() and not first.is_leader()


def test_a_stale_replace_is_refused_so_two_replicas_cannot_both_take_an_expired_lease(server: FakeApiServer) -> None:
    now = {"t": WHOLE_SECOND}
    leases = client.CoordinationV1Api(api(server))
    LeaseElector(leases, "kube-system", "flow", "old", clock=lambda: now["t"]).try_acquire_or_renew()
    now["t"] += dt.timedelta(seconds=30)
    a = LeaseElector(leases, "kube-system", "flow", "a", clock=lambda: now["t"])
    b = LeaseElector(leases, "kube-system", "flow", "b", clock=lambda: now["t"])
    stale = leases.read_namespaced_lease("flow", "kube-system")  # both read the expired Lease ...
    assert a.try_acquire_or_renew()  # ... a writes first
    leases.read_namespaced_lease = lambda *_a, **_k: stale  # type: ignore[method-assign]  # b still has the old read
    assert not b.try_acquire_or_renew() and not b.is_leader()
    assert server.leases[("kube-system", "flow")]["spec"]["holderIdentity"] == "a"


def names(cache: ClusterCache) -> set[str]:
    return {p["metadata"]["name"] for p in cache.pods()}


def test_the_cache_lists_once_then_follows_the_watch_and_relists_after_410(server: FakeApiServer) -> None:
    cache = ClusterCache(client.CoreV1Api(api(server)))
    cache.watch("pods", timeout_s=1)  # lists first: nothing happened since
    assert len(names(cache)) == 9 and cache.synced() is False  # nodes not listed yet
    lists = [q for q in server.queries if "watch" not in q]
    assert lists == [{"fieldSelector": [LIVE_PODS]}]
    server.add_pod(pod("web-6"))
    server.delete_pod("apps", "other-0")
    cache.watch("pods", timeout_s=1)
    assert "web-6" in names(cache) and "other-0" not in names(cache)
    cache.watch("pods", timeout_s=1)  # the next watch goes on from the last event applied
    watches = [q for q in server.queries if "watch" in q]
    assert [w["resourceVersion"] for w in watches] == [["100"], ["100"], [str(server.version)]]
    assert all(w["allowWatchBookmarks"] == ["true"] and w["fieldSelector"] == [LIVE_PODS] for w in watches)
    server.compact()  # our version is gone from the server's history ...
    server.add_pod(pod("web-7"))
    server.compact()
    cache.watch("pods", timeout_s=1)  # ... the watch answers 410, and the cache relists
    assert "web-7" in names(cache)
    cache.watch("nodes", timeout_s=1)
    assert cache.synced() and len(cache.nodes()) == 6


def synced_scheduler(server: FakeApiServer) -> tuple[ClusterCache, FlowScheduler]:
    """A scheduler over a cache that has listed both kinds (no watch threads)."""
    core = client.CoreV1Api(api(server))
    cache = ClusterCache(core)
    cache.relist("nodes")
    cache.relist("pods")
    return cache, FlowScheduler(core, cache=cache)


def test_with_the_cache_a_bound_pod_is_not_placed_twice_and_a_reason_is_written_once(server: FakeApiServer) -> None:
    cache, scheduler = synced_scheduler(server)
    first = scheduler.cycle()
    assert len(first.bound) == 6 and list(first.unschedulable) == ["apps/huge-0"]
    # Before the watch reports the bindings, the next cycle sees them assumed: nothing to do.
    second = scheduler.cycle()
    assert not second.bound and not second.conflicts and list(second.unschedulable) == ["apps/huge-0"]
    cache.watch("pods", timeout_s=1)  # the events of the bindings and the status patch arrive
    assert all(p["spec"]["nodeName"] for p in cache.pods() if p["metadata"]["name"].startswith("web-"))
    scheduler.cycle()
    bindings = [path for method, path, _ in server.requests if path.endswith("/binding")]
    patches = [path for method, path, _ in server.requests if method == "PATCH"]
    assert len(bindings) == 6 and patches == ["/api/v1/namespaces/apps/pods/huge-0/status"]


def test_the_watch_threads_keep_the_cache_current_until_stopped(server: FakeApiServer) -> None:
    cache = ClusterCache(client.CoreV1Api(api(server)))
    stop = threading.Event()
    threads = cache.run_watches(stop)
    try:
        assert wait_synced(cache, timeout_s=10)
        server.add_pod(pod("late-0", rs="late"))
        deadline = time.monotonic() + 10
        while "late-0" not in names(cache) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert "late-0" in names(cache)
    finally:
        stop.set()
    for thread in threads:
        thread.join(timeout=5)
    assert not any(t.is_alive() for t in threads)


def test_a_cycle_converts_only_pods_whose_cached_object_changed(server: FakeApiServer) -> None:
    cache, scheduler = synced_scheduler(server)
    scheduler.cycle()
    before = dict(scheduler.views)
    web_0 = before["apps/web-0"].bound
    assert web_0 is not None and web_0.node == server.pods[("apps", "web-0")]["spec"]["nodeName"]
    server.add_pod(pod("web-6"))
    cache.watch("pods", timeout_s=1)  # the bindings' events, huge-0's patch, web-6 arriving
    result = scheduler.cycle()
    assert list(result.bound) == ["apps/web-6"]
    after = scheduler.views
    assert after["apps/running-0"] is before["apps/running-0"]  # no event: converted once
    assert after["apps/web-0"] is not before["apps/web-0"]  # its binding's event replaced the object
    assert after["apps/web-0"].bound == before["apps/web-0"].bound


def test_a_watch_on_a_connection_gone_silent_gives_up_instead_of_waiting_forever(server: FakeApiServer) -> None:
    cache = ClusterCache(client.CoreV1Api(api(server)))
    cache.relist("pods")
    server.silent_watch_s = 3  # then the server drops the connection: a different error
    with pytest.raises(Exception, match="Read timed out"):  # the client's read timeout, 1.2 s
        cache.watch("pods", timeout_s=1, read_margin_s=0.2)
