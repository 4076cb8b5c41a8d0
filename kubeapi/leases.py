"""coordination.k8s.io/v1 Leases as plain dicts: get, create, and replace with a resourceVersion.

Through ``kubeapi.raw`` like every other call: the JSON goes and comes back exactly as the apiserver
sent it, which keeps MicroTime strings as written instead of round-tripping through client-side
models, and failures are ``KubeError``s.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kubernetes import client

from kubeapi.raw import KubeError, request

GROUP = "coordination.k8s.io"
VERSION = "v1"
PLURAL = "leases"


class LeaseTaken(Exception):
    """Someone else created or updated the Lease first (HTTP 409)."""


class Leases:
    """Lease calls in one namespace."""

    def __init__(
        self, api_client: client.ApiClient, namespace: str, *, request_timeout: float = 5.0
    ) -> None:
        self._api = api_client
        self.namespace = namespace
        self._timeout = request_timeout
        self._path = f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{PLURAL}"

    def _body(self, metadata: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        return {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Lease",
            "metadata": metadata,
            "spec": spec,
        }

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            return request(
                self._api, "GET", f"{self._path}/{quote(name, safe='')}", timeout=self._timeout
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = self._body({"name": name, "namespace": self.namespace}, spec)
        try:
            return request(self._api, "POST", self._path, body=body, timeout=self._timeout)
        except KubeError as error:
            if error.status == 409:
                raise LeaseTaken(f"Lease {self.namespace}/{name} already exists") from error
            raise

    def replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        """Write ``spec`` over ``lease``; ``LeaseTaken`` if it changed since it was read."""
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
        try:
            return request(
                self._api,
                "PUT",
                f"{self._path}/{quote(name, safe='')}",
                body=body,
                timeout=self._timeout,
            )
        except KubeError as error:
            if error.status == 409:
                raise LeaseTaken(f"Lease {self.namespace}/{name} changed") from error
            raise
