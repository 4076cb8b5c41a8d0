"""A client for the objects of one resource type (the receiver's Jobs and event Secrets), as
plain dicts, through the retrying :class:`kubeapi.calls.Caller`.

Reads can be served from the apiserver's watch cache (``resourceVersion=0``): the receiver's
duplicate check uses that, because a stale answer only sends it down the create path, where
``AlreadyExists`` settles the truth. Failures are ``kubeapi.errors`` classes; the "it is not there
(any more)" answers a caller expects are returned as None or False instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import Conflict, NotFound
from kubeapi.raw import JSON, MERGE_PATCH, METADATA
from kubeapi.resources import JOBS, SECRETS, ResourceType, path


class ObjectClient:
    """Create, get, annotate and delete of one namespaced resource type (lists are paged:
    ``kubeapi.listwatch``). Each has an ``_async`` twin for the event loop: the request and the
    meaning of its answer are the same, built once below."""

    def __init__(self, caller: Caller, resource: ResourceType) -> None:
        self.caller = caller
        self.resource = resource
        self._name = resource.kind.lower()

    def create(
        self,
        namespace: str,
        body: dict[str, Any],
        *,
        deadline: float,
        answer: bool = True,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        """The created object (``{}`` with ``answer=False``: a Secret's echo carries the whole
        event, not worth parsing; its metadata alone with ``metadata_only``);
        ``AlreadyExists`` when the name is taken."""
        request = self._create(namespace, body, answer, metadata_only)
        return self._send(request, deadline)

    async def create_async(
        self,
        namespace: str,
        body: dict[str, Any],
        *,
        deadline: float,
        answer: bool = True,
        metadata_only: bool = False,
    ) -> dict[str, Any]:
        request = self._create(namespace, body, answer, metadata_only)
        return await self._send_async(request, deadline)

    def get(
        self,
        namespace: str,
        name: str,
        *,
        deadline: float,
        cached: bool = False,
        metadata_only: bool = False,
    ) -> dict[str, Any] | None:
        """The object (its metadata alone with ``metadata_only``), or None when it does not
        exist. ``cached`` reads the apiserver's cache."""
        request = self._get(namespace, name, cached, metadata_only)
        try:
            return self._send(request, deadline)
        except NotFound:
            return None

    async def get_async(
        self,
        namespace: str,
        name: str,
        *,
        deadline: float,
        cached: bool = False,
        metadata_only: bool = False,
    ) -> dict[str, Any] | None:
        request = self._get(namespace, name, cached, metadata_only)
        try:
            return await self._send_async(request, deadline)
        except NotFound:
            return None

    def annotate(
        self, namespace: str, name: str, uid: str, annotations: dict[str, str], *, deadline: float
    ) -> dict[str, Any] | None:
        """Merge ``annotations`` into the object with ``uid``; the object as stored, or None when
        it is gone or was replaced (the uid in the patch is a precondition). Any write changes
        the object's resourceVersion, which a ``delete`` precondition then sees."""
        request = self._annotate(namespace, name, uid, annotations)
        try:
            return self._send(request, deadline)
        except (NotFound, Conflict):
            return None

    async def annotate_async(
        self, namespace: str, name: str, uid: str, annotations: dict[str, str], *, deadline: float
    ) -> dict[str, Any] | None:
        request = self._annotate(namespace, name, uid, annotations)
        try:
            return await self._send_async(request, deadline)
        except (NotFound, Conflict):
            return None

    def delete(
        self,
        namespace: str,
        name: str,
        *,
        uid: str,
        deadline: float,
        resource_version: str | None = None,
    ) -> bool:
        """Delete exactly the object with ``uid`` (background cascade), and, given
        ``resource_version``, only if nothing wrote to it since. False if already gone, replaced
        or changed."""
        request = self._delete(namespace, name, uid, resource_version)
        try:
            self._send(request, deadline)
        except (NotFound, Conflict):
            return False
        return True

    async def delete_async(
        self,
        namespace: str,
        name: str,
        *,
        uid: str,
        deadline: float,
        resource_version: str | None = None,
    ) -> bool:
        request = self._delete(namespace, name, uid, resource_version)
        try:
            await self._send_async(request, deadline)
        except (NotFound, Conflict):
            return False
        return True

    def _send(self, request: Request, deadline: float) -> dict[str, Any]:
        return self.caller.call(
            request.operation, request.method, request.path, deadline=deadline, **request.options
        )

    async def _send_async(self, request: Request, deadline: float) -> dict[str, Any]:
        return await self.caller.call_async(
            request.operation, request.method, request.path, deadline=deadline, **request.options
        )

    def _create(
        self, namespace: str, body: dict[str, Any], answer: bool, metadata_only: bool
    ) -> Request:
        where = path(self.resource, namespace)
        accept = METADATA if metadata_only else JSON
        return Request(
            f"create_{self._name}",
            "POST",
            where,
            {"body": body, "answer": answer, "accept": accept},
        )

    def _get(self, namespace: str, name: str, cached: bool, metadata_only: bool) -> Request:
        query = [("resourceVersion", "0")] if cached else []
        where = path(self.resource, namespace, name)
        accept = METADATA if metadata_only else JSON
        return Request(f"get_{self._name}", "GET", where, {"query": query, "accept": accept})

    def _annotate(
        self, namespace: str, name: str, uid: str, annotations: dict[str, str]
    ) -> Request:
        patch = {"metadata": {"uid": uid, "annotations": annotations}}
        where = path(self.resource, namespace, name)
        options = {"body": patch, "content_type": MERGE_PATCH}
        return Request(f"patch_{self._name}", "PATCH", where, options)

    def _delete(self, namespace: str, name: str, uid: str, resource_version: str | None) -> Request:
        preconditions = {"uid": uid}
        if resource_version is not None:
            preconditions["resourceVersion"] = resource_version
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
            "preconditions": preconditions,
        }
        where = path(self.resource, namespace, name)
        return Request(f"delete_{self._name}", "DELETE", where, {"body": body})


@dataclass(frozen=True)
class Request:
    """One call of ``Caller.call``: its operation, method and path, and its other options."""

    operation: str
    method: str
    path: str
    options: dict[str, Any]


def jobs(caller: Caller) -> ObjectClient:
    return ObjectClient(caller, JOBS)


def secrets(caller: Caller) -> ObjectClient:
    return ObjectClient(caller, SECRETS)
