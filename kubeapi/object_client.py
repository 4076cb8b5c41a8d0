"""A client for the objects of one resource type (the receiver's Jobs and event Secrets), as
plain dicts, through the retrying :class:`kubeapi.calls.Caller`.

Reads can be served from the apiserver's watch cache (``resourceVersion=0``): the receiver's
duplicate check uses that, because a stale answer only sends it down the create path, where
``AlreadyExists`` settles the truth. Failures are ``kubeapi.errors`` classes; the "it is not there
(any more)" answers a caller expects are returned as None or False instead.
"""

from __future__ import annotations

from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import Conflict, NotFound
from kubeapi.raw import JSON, MERGE_PATCH, METADATA
from kubeapi.resources import JOBS, SECRETS, ResourceType, path


class ObjectClient:
    """Create, get, annotate and delete of one namespaced resource type (lists are paged:
    ``kubeapi.listwatch``)."""

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
        return self.caller.call(
            f"create_{self._name}",
            "POST",
            path(self.resource, namespace),
            body=body,
            deadline=deadline,
            answer=answer,
            accept=METADATA if metadata_only else JSON,
        )

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
        query = [("resourceVersion", "0")] if cached else []
        try:
            return self.caller.call(
                f"get_{self._name}",
                "GET",
                path(self.resource, namespace, name),
                query=query,
                deadline=deadline,
                accept=METADATA if metadata_only else JSON,
            )
        except NotFound:
            return None

    def annotate(
        self, namespace: str, name: str, uid: str, annotations: dict[str, str], *, deadline: float
    ) -> dict[str, Any] | None:
        """Merge ``annotations`` into the object with ``uid``; the object as stored, or None when
        it is gone or was replaced (the uid in the patch is a precondition). Any write changes
        the object's resourceVersion, which a ``delete`` precondition then sees."""
        patch = {"metadata": {"uid": uid, "annotations": annotations}}
        try:
            return self.caller.call(
                f"patch_{self._name}",
                "PATCH",
                path(self.resource, namespace, name),
                body=patch,
                content_type=MERGE_PATCH,
                deadline=deadline,
            )
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
        preconditions = {"uid": uid}
        if resource_version is not None:
            preconditions["resourceVersion"] = resource_version
        body = {
            "apiVersion": "v1",
            "kind": "DeleteOptions",
            "propagationPolicy": "Background",
            "preconditions": preconditions,
        }
        try:
            self.caller.call(
                f"delete_{self._name}",
                "DELETE",
                path(self.resource, namespace, name),
                body=body,
                deadline=deadline,
            )
        except (NotFound, Conflict):
            return False
        return True


def jobs(caller: Caller) -> ObjectClient:
    return ObjectClient(caller, JOBS)


def secrets(caller: Caller) -> ObjectClient:
    return ObjectClient(caller, SECRETS)
