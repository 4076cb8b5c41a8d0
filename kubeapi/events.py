"""The objects an event becomes: batch/v1 Jobs and their v1 event Secrets, as plain dicts.

One small class per resource over :class:`kubeapi.calls.Caller`. Reads can be served from the
apiserver's watch cache (``resourceVersion=0``): the receiver's duplicate check uses that, because
a stale answer only sends it down the create path, where 409 AlreadyExists settles the truth.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from kubeapi.calls import JSON, Caller, KubeError
from kubeapi.jobsinks import Gone
from kubeapi.raw import MERGE_PATCH


class Resource:
    """Create, get, delete and list of one namespaced resource type."""

    def __init__(self, caller: Caller, *, prefix: str, plural: str, kind: str) -> None:
        self._caller = caller
        self._prefix = prefix
        self._plural = plural
        self.kind = kind

    def _collection(self, namespace: str | None) -> str:
        if namespace is None:
            return f"{self._prefix}/{self._plural}"
        return f"{self._prefix}/namespaces/{quote(namespace, safe='')}/{self._plural}"

    def _item(self, namespace: str, name: str) -> str:
        return f"{self._collection(namespace)}/{quote(name, safe='')}"

    def create(
        self, namespace: str, body: dict[str, Any], *, deadline: float, answer: bool = True
    ) -> dict[str, Any]:
        """The created object (``{}`` with ``answer=False``: a Secret's echo carries the whole
        event, not worth parsing); ``KubeError`` 409 when the name is taken."""
        return self._caller.call(
            f"create_{self.kind}",
            "POST",
            self._collection(namespace),
            body=body,
            deadline=deadline,
            answer=answer,
        )

    def get(
        self, namespace: str, name: str, *, deadline: float, cached: bool = False
    ) -> dict[str, Any] | None:
        """The object, or None when it does not exist. ``cached`` reads the apiserver's cache."""
        query = [("resourceVersion", "0")] if cached else []
        try:
            return self._caller.call(
                f"get_{self.kind}",
                "GET",
                self._item(namespace, name),
                query=query,
                deadline=deadline,
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def annotate(
        self, namespace: str, name: str, uid: str, annotations: dict[str, str], *, deadline: float
    ) -> dict[str, Any] | None:
        """Merge ``annotations`` into the object with ``uid``; the object as stored, or None when
        it is gone or was replaced (the uid in the patch is a precondition). Any write changes
        the object's resourceVersion, which a ``delete`` precondition then sees."""
        patch = {"metadata": {"uid": uid, "annotations": annotations}}
        try:
            return self._caller.call(
                f"patch_{self.kind}",
                "PATCH",
                self._item(namespace, name),
                body=patch,
                content_type=MERGE_PATCH,
                deadline=deadline,
            )
        except KubeError as error:
            if error.status in (404, 409):
                return None
            raise

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
            self._caller.call(
                f"delete_{self.kind}",
                "DELETE",
                self._item(namespace, name),
                body=body,
                deadline=deadline,
            )
        except KubeError as error:
            if error.status in (404, 409):
                return False
            raise
        return True

    def list_metadata(
        self, namespace: str | None, selector: str, *, deadline: float
    ) -> tuple[list[dict[str, Any]], str]:
        """Only the metadata of every object matching ``selector`` (``PartialObjectMetadataList``),
        and the resourceVersion to watch from. From the apiserver's cache, unpaged."""
        page = self._caller.call(
            f"list_{self.kind}_metadata",
            "GET",
            self._collection(namespace),
            query=[("labelSelector", selector), ("resourceVersion", "0")],
            accept=f"{JSON};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1",
            deadline=deadline,
        )
        return page.get("items") or [], str((page.get("metadata") or {}).get("resourceVersion"))

    def watch_metadata(
        self, namespace: str | None, selector: str, resource_version: str, *, timeout_seconds: int
    ) -> Any:
        """An open metadata-only watch: the raw streaming response (``kubeapi.jobsinks.WatchStream``
        reads it). The server ends it after ``timeout_seconds``. ``Gone`` when
        ``resource_version`` is too old (list again), as from ``JobSinks.watch``."""
        try:
            return self._caller.stream(
                self._collection(namespace),
                query=[
                    ("labelSelector", selector),
                    ("watch", "true"),
                    ("allowWatchBookmarks", "true"),
                    ("resourceVersion", resource_version),
                    ("timeoutSeconds", str(timeout_seconds)),
                ],
                accept=f"{JSON};as=PartialObjectMetadata;g=meta.k8s.io;v=v1",
                read_timeout=timeout_seconds + 30,
            )
        except KubeError as error:
            if error.status == 410:
                raise Gone(error.message) from error
            raise


def jobs(caller: Caller) -> Resource:
    return Resource(caller, prefix="/apis/batch/v1", plural="jobs", kind="job")


def secrets(caller: Caller) -> Resource:
    return Resource(caller, prefix="/api/v1", plural="secrets", kind="secret")
