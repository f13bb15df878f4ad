"""Leader election on a ``coordination.k8s.io/v1`` Lease, so two replicas never both bind.

One replica holds the Lease (``spec.holderIdentity``) and renews it (``renewTime``) well within
``leaseDurationSeconds``; the others take it over only once it has not been renewed for that
long. Every write is a ``replace`` carrying the ``resourceVersion`` that was read, so of two
replicas racing for an expired Lease the API server accepts one and answers the other 409
Conflict (optimistic concurrency, Kubernetes API Concepts, "Resource versions"). A leader that
cannot renew in time stops binding before its Lease can have expired (``is_leader``).

``acquireTime`` and ``renewTime`` are ``MicroTime``: the API server parses them with Go's layout
``2006-01-02T15:04:05.000000Z07:00`` (k8s.io/apimachinery ``RFC3339Micro``), which needs exactly
six fractional digits, and answers 400 to anything else (seen in krustlet/krustlet#5 and
agentconnect-md/agentconnect#873). The client writes a ``datetime`` with ``isoformat()``, which
leaves the fraction out when the microseconds are zero, and its models turn a string back into a
``datetime``; so a time on a whole second is sent one microsecond later (``_micro``), and a
Lease read back from the server (always six digits, often ``.000000``) renews too.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Optional

from kubernetes import client
from kubernetes.client.rest import ApiException

Clock = Callable[[], dt.datetime]


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _micro(t: dt.datetime) -> dt.datetime:
    """``t`` as a time the client serialises with six fractional digits (see the module doc)."""
    return t.replace(microsecond=1) if t.microsecond == 0 else t


@dataclass
class LeaseElector:
    api: Any  # CoordinationV1Api (or a stand-in with the same three methods)
    namespace: str
    name: str
    identity: str
    duration_s: int = 15
    clock: Clock = utcnow
    _renewed: Optional[dt.datetime] = None

    def _lease(self, resource_version: Optional[str], transitions: int, acquired: dt.datetime) -> client.V1Lease:
        now = _micro(self.clock())
        acquired = _micro(acquired)
        return client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, namespace=self.namespace, resource_version=resource_version),
            spec=client.V1LeaseSpec(
                holder_identity=self.identity,
                lease_duration_seconds=self.duration_s,
                acquire_time=acquired,
                renew_time=now,
                lease_transitions=transitions,
            ),
        )

    def try_acquire_or_renew(self) -> bool:
        """One round: take or keep the Lease if we may. True when we hold it afterwards."""
        now = self.clock()
        try:
            current = self.api.read_namespaced_lease(self.name, self.namespace)
        except ApiException as exc:
            if exc.status != 404:
                raise
            try:
                self.api.create_namespaced_lease(self.namespace, self._lease(None, 0, now))
            except ApiException as create_exc:
                if create_exc.status == 409:  # another replica created it first
                    return False
                raise
            self._renewed = now
            return True
        spec = current.spec
        holder = spec.holder_identity
        renewed = spec.renew_time or spec.acquire_time
        duration = dt.timedelta(seconds=spec.lease_duration_seconds or self.duration_s)
        expired = renewed is None or now - renewed > duration
        if holder != self.identity and not expired:
            self._renewed = None
            return False
        transitions = (spec.lease_transitions or 0) + (0 if holder == self.identity else 1)
        acquired = spec.acquire_time if holder == self.identity and spec.acquire_time else now
        try:
            self.api.replace_namespaced_lease(
                self.name, self.namespace, self._lease(current.metadata.resource_version, transitions, acquired)
            )
        except ApiException as exc:
            if exc.status == 409:  # someone else wrote it since we read it
                self._renewed = None
                return False
            raise
        self._renewed = now
        return True

    def is_leader(self) -> bool:
        """Whether we still hold the Lease with a margin: renewed within two thirds of its duration."""
        if self._renewed is None:
            return False
        return self.clock() - self._renewed < dt.timedelta(seconds=self.duration_s * 2 / 3)
