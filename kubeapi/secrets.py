"""One Secret as a small read/create/replace store, with optimistic concurrency.

Callers race safely: ``create`` fails with ``AlreadyExists`` if another writer got there first and
``replace`` fails with ``Conflict`` if the Secret changed since it was read; both mean "read again".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubernetes import client

from kubeapi.raw import KubeError, request


class AlreadyExists(Exception):
    """Another writer created the Secret first."""


class Conflict(Exception):
    """The Secret changed since it was read."""


@dataclass(frozen=True)
class Stored:
    data: dict[str, str]
    resource_version: str


@dataclass
class SecretStore:
    api: client.ApiClient
    namespace: str
    name: str
    labels: dict[str, str] | None = None

    @property
    def _path(self) -> str:
        return f"/api/v1/namespaces/{self.namespace}/secrets"

    def get(self) -> Stored | None:
        try:
            secret = request(self.api, "GET", f"{self._path}/{self.name}")
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return Stored(secret.get("data") or {}, secret["metadata"]["resourceVersion"])

    def _body(self, data: dict[str, str], resource_version: str | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.labels:
            metadata["labels"] = self.labels
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data}

    def create(self, data: dict[str, str]) -> Stored:
        try:
            secret = request(self.api, "POST", self._path, body=self._body(data))
        except KubeError as error:
            if error.status == 409:
                raise AlreadyExists(error.message) from error
            raise
        return Stored(secret.get("data") or {}, secret["metadata"]["resourceVersion"])

    def replace(self, data: dict[str, str], resource_version: str) -> Stored:
        try:
            secret = request(
                self.api,
                "PUT",
                f"{self._path}/{self.name}",
                body=self._body(data, resource_version),
            )
        except KubeError as error:
            if error.status == 409:
                raise Conflict(error.message) from error
            raise
        return Stored(secret.get("data") or {}, secret["metadata"]["resourceVersion"])
