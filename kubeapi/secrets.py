"""One Secret as a small read/create/replace store, with optimistic concurrency.

Callers race safely: ``create`` fails with ``kubeapi.errors.AlreadyExists`` if another writer got
there first and ``replace`` with ``kubeapi.errors.Conflict`` if the Secret changed since it was
read; both (``AlreadyExists`` is a ``Conflict``) mean "read again".
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import NotFound
from kubeapi.resources import SECRETS, path
from kubeapi.transport import Api

REQUEST_TIMEOUT = 10.0


@dataclass(frozen=True)
class Stored:
    data: dict[str, str]
    resource_version: str


@dataclass
class SecretStore:
    api: Api
    namespace: str
    name: str
    labels: dict[str, str] | None = None
    _caller: Caller = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._caller = Caller(self.api, attempt_timeout=REQUEST_TIMEOUT)

    def _call(self, operation: str, method: str, path: str, body: Any = None) -> Stored:
        # One attempt: the caller's reconcile loop retries, and re-reads after a lost race.
        secret = self._caller.call(
            operation,
            method,
            path,
            body=body,
            deadline=time.monotonic() + REQUEST_TIMEOUT,
            retry=False,
        )
        return Stored(secret.get("data") or {}, secret["metadata"]["resourceVersion"])

    def get(self) -> Stored | None:
        try:
            return self._call("get_secret", "GET", path(SECRETS, self.namespace, self.name))
        except NotFound:
            return None

    def _body(self, data: dict[str, str], resource_version: str | None = None) -> dict[str, Any]:
        metadata: dict[str, Any] = {"name": self.name, "namespace": self.namespace}
        if self.labels:
            metadata["labels"] = self.labels
        if resource_version:
            metadata["resourceVersion"] = resource_version
        return {"apiVersion": "v1", "kind": "Secret", "metadata": metadata, "data": data}

    def create(self, data: dict[str, str]) -> Stored:
        return self._call("create_secret", "POST", path(SECRETS, self.namespace), self._body(data))

    def replace(self, data: dict[str, str], resource_version: str) -> Stored:
        return self._call(
            "replace_secret",
            "PUT",
            path(SECRETS, self.namespace, self.name),
            self._body(data, resource_version),
        )
