"""The lease as a Kubernetes `Lease` (coordination.k8s.io/v1), through the official client.

The fields are the ones client-go's leader election uses (`holderIdentity`,
`leaseDurationSeconds`, `acquireTime`, `renewTime`, `leaseTransitions`), so `kubectl get lease`
shows who leads. Writes are optimistic: a replace carries the `resourceVersion` that was read and
the API server answers 409 Conflict if it changed; a create of an existing Lease is 409 too.
The client is synchronous, so each call runs in a thread, bounded by `request_timeout`.
"""

import asyncio
import math
from pathlib import Path
from typing import Any

from query_service.projector.leadership.election import LeaseConflict, LeaseRecord

SERVICE_ACCOUNT_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
CONFLICT, NOT_FOUND = 409, 404


class KubernetesLease:
    def __init__(self, api: Any, namespace: str, name: str, request_timeout: float = 5.0) -> None:
        """`api` is a `kubernetes.client.CoordinationV1Api` (or a test's stand-in)."""
        self._api = api
        self.namespace = namespace
        self.name = name
        self._timeout = request_timeout

    @classmethod
    def in_cluster(
        cls, name: str, namespace: str | None, request_timeout: float
    ) -> "KubernetesLease":
        from kubernetes import client, config  # only this mode needs it loaded

        config.load_incluster_config()  # the pod's service account token and CA
        if namespace is None and SERVICE_ACCOUNT_NAMESPACE.exists():
            namespace = SERVICE_ACCOUNT_NAMESPACE.read_text().strip()
        return cls(client.CoordinationV1Api(), namespace or "default", name, request_timeout)

    async def read(self) -> LeaseRecord | None:
        from kubernetes.client.exceptions import ApiException

        try:
            lease = await self._call(self._api.read_namespaced_lease, self.name, self.namespace)
        except ApiException as error:
            if error.status == NOT_FOUND:
                return None
            raise
        return _record(lease)

    async def write(self, expected: LeaseRecord | None, record: LeaseRecord) -> LeaseRecord:
        from kubernetes.client.exceptions import ApiException

        body = self._lease(record, resource_version=expected.version if expected else None)
        try:
            if expected is None:
                stored = await self._call(self._api.create_namespaced_lease, self.namespace, body)
            else:
                stored = await self._call(
                    self._api.replace_namespaced_lease, self.name, self.namespace, body
                )
        except ApiException as error:
            # A Lease deleted under its holder is lost as surely as one overwritten.
            if error.status == CONFLICT or (expected is not None and error.status == NOT_FOUND):
                raise LeaseConflict(f"lease {self.name}: {error.reason}") from error
            raise
        return _record(stored)

    async def _call(self, method: Any, *args: Any) -> Any:
        return await asyncio.to_thread(method, *args, _request_timeout=self._timeout)

    def _lease(self, record: LeaseRecord, resource_version: str | None) -> Any:
        from kubernetes import client

        return client.V1Lease(
            metadata=client.V1ObjectMeta(name=self.name, resource_version=resource_version),
            spec=client.V1LeaseSpec(
                holder_identity=record.holder,
                # Whole seconds in the API: rounded up, never shorter than what the holder uses.
                lease_duration_seconds=math.ceil(record.duration_s),
                lease_transitions=record.transitions,
                acquire_time=record.acquired_at,
                renew_time=record.renewed_at,
            ),
        )


def _record(lease: Any) -> LeaseRecord:
    spec = lease.spec
    return LeaseRecord(
        holder=spec.holder_identity or None,
        duration_s=float(spec.lease_duration_seconds or 0),
        transitions=int(spec.lease_transitions or 0),
        version=str(lease.metadata.resource_version),
        acquired_at=spec.acquire_time,
        renewed_at=spec.renew_time,
    )
