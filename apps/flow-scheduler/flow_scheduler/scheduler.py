"""One scheduling cycle: read the cluster, place every pending pod of ours at once, bind.

The cycle reads the nodes and the pods (bound ones take capacity; pending ones whose
``spec.schedulerName`` is ours are placed) from the watch-fed ``ClusterCache`` (or, without one,
lists them), runs the flow placement over all of them together,
and binds each placed pod with a ``pods/binding`` subresource (what the default scheduler's
bind does). A pod that cannot be placed gets the condition the default scheduler sets,
``PodScheduled=False`` with reason ``Unschedulable`` and the placement's reason as message, and
is tried again next cycle; the condition is written again only when the reason changes, not
every cycle. A pod bound meanwhile by someone else (409 Conflict) is skipped.

``create_namespaced_pod_binding`` is called with ``_preload_content=False``: the client cannot
deserialise the API server's answer to a Binding (kubernetes-client/python issue 825, "Invalid
value for `target`, must not be `None`"), although the binding succeeded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

from rancher_stacks.placement import Snapshot, place

from .cache import ClusterCache
from .convert import UnsupportedPodError, is_ours, pod_key, to_bound, to_node, to_pending

DEFAULT_NAME = "rancher-stacks-flow"


@dataclass
class CycleResult:
    bound: dict[str, str] = field(default_factory=dict)  # namespace/name -> node
    unschedulable: dict[str, str] = field(default_factory=dict)  # namespace/name -> reason
    conflicts: list[str] = field(default_factory=list)


@dataclass
class FlowScheduler:
    core: Any  # CoreV1Api (or a stand-in with the same methods)
    name: str = DEFAULT_NAME
    cache: Optional[ClusterCache] = None
    # Pending pods marked Unschedulable, with the reason written (to write it only when it changes).
    marked: dict[str, str] = field(default_factory=dict)

    def cycle(self) -> CycleResult:
        result = CycleResult()
        if self.cache is not None:
            v1_nodes, pods = self.cache.nodes(), self.cache.pods()
        else:
            v1_nodes, pods = self.core.list_node().items, self.core.list_pod_for_all_namespaces().items
        nodes = [n for n in (to_node(v1) for v1 in v1_nodes) if n is not None]
        bound = to_bound(pods)
        waiting = {pod_key(p) for p in pods if is_ours(p, self.name)}
        self.marked = {key: why for key, why in self.marked.items() if key in waiting}
        pending, objects = [], {}
        for pod in pods:
            if not is_ours(pod, self.name):
                continue
            try:
                converted = to_pending(pod)
            except UnsupportedPodError as exc:
                self._unschedulable(pod, str(exc), result)
                continue
            pending.append(converted)
            objects[converted.name] = pod
        if not pending:
            return result
        known = {n.name for n in nodes}
        snapshot = Snapshot(tuple(nodes), tuple(b for b in bound if b.node in known), tuple(pending))
        placement = place(snapshot)
        for key, node in sorted(placement.assignments.items()):
            self._bind(objects[key], node, result)
        for key, reason in sorted(placement.unscheduled.items()):
            self._unschedulable(objects[key], reason, result)
        return result

    def _bind(self, pod: Any, node: str, result: CycleResult) -> None:
        meta = pod.metadata
        body = client.V1Binding(
            metadata=client.V1ObjectMeta(name=meta.name, namespace=meta.namespace),
            target=client.V1ObjectReference(api_version="v1", kind="Node", name=node),
        )
        try:
            self.core.create_namespaced_pod_binding(meta.name, meta.namespace, body, _preload_content=False)
        except ApiException as exc:
            if exc.status in (404, 409):  # deleted, or bound by someone else meanwhile
                result.conflicts.append(f"{meta.namespace}/{meta.name}")
                return
            raise
        result.bound[f"{meta.namespace}/{meta.name}"] = node
        self.marked.pop(pod_key(pod), None)
        if self.cache is not None:
            self.cache.assume(pod, node)

    def _unschedulable(self, pod: Any, reason: str, result: CycleResult) -> None:
        meta, key = pod.metadata, pod_key(pod)
        result.unschedulable[key] = reason
        if self.marked.get(key) == reason:
            return
        condition = {"type": "PodScheduled", "status": "False", "reason": "Unschedulable",
                     "message": f"{self.name}: {reason}"}
        self.core.patch_namespaced_pod_status(meta.name, meta.namespace, {"status": {"conditions": [condition]}})
        self.marked[key] = reason
