"""coordination.k8s.io/v1 Leases as plain dicts: get, create, and replace with a resourceVersion.

The JSON goes and comes back exactly as the apiserver sent it, which keeps MicroTime strings as
written instead of round-tripping through client-side models. One attempt per call: the election
loop tries again on its own schedule, and a retried write that had in fact landed would only come
back as a conflict with itself.
"""

from __future__ import annotations

import time
from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import NotFound
from kubeapi.resources import LEASES, path
from kubeapi.transport import Api


class Leases:
    """Lease calls in one namespace. A lost race (``create`` of an existing Lease, ``replace``
    of a changed one) raises ``kubeapi.errors.Conflict`` (``AlreadyExists`` is one)."""

    def __init__(self, api_client: Api, namespace: str, *, request_timeout: float = 5.0) -> None:
        self._caller = Caller(api_client, attempt_timeout=request_timeout)
        self.namespace = namespace
        self._timeout = request_timeout

    def _body(self, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": LEASES.api_version,
            "kind": LEASES.kind,
            "metadata": metadata,
            "spec": spec,
        }

    def _call(self, operation: str, method: str, path: str, body: Any = None) -> dict[str, Any]:
        deadline = time.monotonic() + self._timeout
        return self._caller.call(operation, method, path, body=body, deadline=deadline, retry=False)

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return self._call("get_lease", "GET", path(LEASES, self.namespace, name))
        except NotFound:
            return None

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = self._body({"name": name, "namespace": self.namespace}, spec)
        return self._call("create_lease", "POST", path(LEASES, self.namespace), body)

    def replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        """Write ``spec`` over ``lease``; ``Conflict`` if it changed since it was read."""
        metadata = lease["metadata"]
        name = metadata["name"]
        body = self._body(
            {
                "name": name,
                "namespace": self.namespace,
                "resourceVersion": metadata["resourceVersion"],
            },
            spec,
        )
        return self._call("replace_lease", "PUT", path(LEASES, self.namespace, name), body)
