"""JobSinks over the wire: list, watch, get, and merge-patch of the status subresource.

Objects travel as plain dicts, exactly as the apiserver sends them: the official client has no model
for a custom resource, and a dict is what the cache and the pure status code want anyway. Every call
goes through ``kubeapi.raw`` like the rest of the gateway, so failures are ``KubeError``s (which the
receiver maps to 503 or 500) rather than the client's own exception types.
"""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes import client

from jobsink.types import GROUP, PLURAL, VERSION
from kubeapi import raw
from kubeapi.raw import MERGE_PATCH, KubeError

FIELD_MANAGER = "jobsink-receiver"
PAGE_SIZE = 500


class Gone(Exception):
    """The watch's resourceVersion is older than the apiserver keeps: list again and restart."""


class Conflict(Exception):
    """The object changed since it was read (HTTP 409): read it again and retry."""


@dataclass(frozen=True)
class WatchEvent:
    """One line of a watch stream. ``type`` is ADDED, MODIFIED, DELETED or BOOKMARK."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


class WatchStream:
    """An open watch: iterate it for events; ``close()`` from any thread ends the iteration."""

    def __init__(self, response: Any) -> None:
        self._response = response

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for line in _lines(self._response):
                event = json.loads(line)
                if event.get("type") == "ERROR":
                    raise _watch_error(event.get("object") or {})
                yield WatchEvent(type=event["type"], object=event["object"])
        finally:
            self.close()

    def close(self) -> None:
        """Unblock a reader stuck in ``recv`` and release the connection."""
        sock = getattr(getattr(self._response, "connection", None), "sock", None)
        if sock is not None:
            # Closing the response alone does not wake a thread blocked reading the socket.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self._response.close()
        self._response.release_conn()


def _lines(response: Any) -> Iterator[bytes]:
    """Newline-delimited JSON lines of a chunked watch response, however the chunks split them."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending


def _watch_error(status: dict[str, Any]) -> Exception:
    code = status.get("code")
    message = f"watch failed: {status.get('reason')}: {status.get('message')}"
    if code == 410:
        return Gone(message)
    return KubeError(code if isinstance(code, int) else 0, str(status.get("reason") or ""), message)


class JobSinks:
    """The JobSink calls the receiver makes, over one shared ``ApiClient``."""

    def __init__(self, api_client: client.ApiClient, *, request_timeout: float = 10.0) -> None:
        self._api = api_client
        self._timeout = request_timeout
        self.page_size = PAGE_SIZE

    @staticmethod
    def _collection(namespace: str | None) -> str:
        if not namespace:
            return f"/apis/{GROUP}/{VERSION}/{PLURAL}"
        return f"/apis/{GROUP}/{VERSION}/namespaces/{quote(namespace, safe='')}/{PLURAL}"

    def _item(self, namespace: str, name: str) -> str:
        return f"{self._collection(namespace)}/{quote(name, safe='')}"

    def list(self, namespace: str | None = None) -> tuple[list[dict[str, Any]], str]:
        """Every JobSink (in ``namespace``, or all), and the resourceVersion to watch from."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            page = self._list_page(namespace, token)
            items.extend(page.get("items") or [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return items, str(page["metadata"]["resourceVersion"])

    def _list_page(self, namespace: str | None, token: str | None) -> dict[str, Any]:
        query = [("limit", str(self.page_size))]
        if token:
            query.append(("continue", token))
        try:
            return raw.request(
                self._api, "GET", self._collection(namespace), query=query, timeout=self._timeout
            )
        except KubeError as error:
            if error.status == 410:
                raise Gone(error.message) from error
            raise

    def watch(
        self, resource_version: str, namespace: str | None = None, *, timeout_seconds: int = 300
    ) -> WatchStream:
        """Open a watch from ``resource_version``, with bookmarks, ended by the server after
        ``timeout_seconds`` so that a silently dead connection cannot hang the watcher forever."""
        query = [
            ("watch", "true"),
            ("allowWatchBookmarks", "true"),
            ("resourceVersion", resource_version),
            ("timeoutSeconds", str(timeout_seconds)),
        ]
        # (connect, read): a read gap longer than the server-side timeout means a dead peer.
        timeout = (self._timeout, timeout_seconds + 30)
        try:
            response = raw.watch(self._api, self._collection(namespace), query, timeout=timeout)
        except KubeError as error:
            if error.status == 410:
                raise Gone(error.message) from error
            raise
        return WatchStream(response)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The JobSink, or ``None`` when it does not exist."""
        try:
            return raw.request(self._api, "GET", self._item(namespace, name), timeout=self._timeout)
        except KubeError as error:
            if error.status == 404:
                return None
            raise

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        """Merge-patch ``.status``, only if the object is still at ``resource_version``; None when
        the JobSink no longer exists."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        try:
            return raw.request(
                self._api,
                "PATCH",
                f"{self._item(namespace, name)}/status",
                body=body,
                query=[("fieldManager", FIELD_MANAGER)],
                content_type=MERGE_PATCH,
                timeout=self._timeout,
            )
        except KubeError as error:
            if error.status == 404:
                return None
            if error.status == 409:
                raise Conflict(
                    f"{namespace}/{name} changed since resourceVersion {resource_version}"
                ) from error
            raise
