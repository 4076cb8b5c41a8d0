"""coordination.k8s.io/v1 Leases as plain dicts: get, create, and replace with a resourceVersion.

The generic custom-object endpoints serve any group, built-in ones included, and return the JSON the
apiserver sent; that keeps MicroTime strings exactly as written instead of round-tripping through
client-side models.
"""

from __future__ import annotations

from typing import Any, cast

from kubernetes import client
from kubernetes.client.exceptions import ConflictException, NotFoundException

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
        self._api = client.CustomObjectsApi(api_client)
        self.namespace = namespace
        self._timeout = request_timeout

    def get(self, name: str) -> dict[str, Any] | None:
        try:
            found = self._api.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name, _request_timeout=self._timeout
            )
        except NotFoundException:
            return None
        return cast("dict[str, Any]", found)

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Lease",
            "metadata": {"name": name, "namespace": self.namespace},
            "spec": spec,
        }
        try:
            created = self._api.create_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, body, _request_timeout=self._timeout
            )
        except ConflictException as error:
            raise LeaseTaken(f"Lease {self.namespace}/{name} already exists") from error
        return cast("dict[str, Any]", created)

    def replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        """Write ``spec`` over ``lease``; ``LeaseTaken`` if it changed since it was read."""
        metadata = lease["metadata"]
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Lease",
            "metadata": {
                "name": metadata["name"],
                "namespace": self.namespace,
                "resourceVersion": metadata["resourceVersion"],
            },
            "spec": spec,
        }
        try:
            replaced = self._api.replace_namespaced_custom_object(
                GROUP,
                VERSION,
                self.namespace,
                PLURAL,
                metadata["name"],
                body,
                _request_timeout=self._timeout,
            )
        except ConflictException as error:
            raise LeaseTaken(f"Lease {self.namespace}/{metadata['name']} changed") from error
        return cast("dict[str, Any]", replaced)
