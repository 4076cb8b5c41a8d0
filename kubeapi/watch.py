"""Watches: a long-lived GET whose answer is a stream of typed events.

The apiserver sends one JSON object per line: ``ADDED``, ``MODIFIED``, ``DELETED``, ``BOOKMARK``
(only a newer resourceVersion, sent when ``allowWatchBookmarks`` is on) or ``ERROR``, whose object
is a ``Status``. An ``ERROR`` ends the stream as the error it carries (``Gone`` for an expired
resourceVersion, as a refused watch request does), so a reader sees failures one way only.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal, cast

import orjson

from kubeapi.calls import Caller
from kubeapi.errors import from_watch_status
from kubeapi.raw import JSON, Answer, send

EventType = Literal["ADDED", "MODIFIED", "DELETED", "BOOKMARK"]
EVENT_TYPES: frozenset[str] = frozenset({"ADDED", "MODIFIED", "DELETED", "BOOKMARK"})

READ_MARGIN = 30
"""Seconds a read may stay silent beyond the server-side ``timeoutSeconds``: past that, the peer is
gone without a word (a dead connection that would otherwise hang the reader forever)."""


@dataclass(frozen=True)
class WatchEvent:
    type: EventType
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str((self.object.get("metadata") or {}).get("resourceVersion") or "")


class WatchStream:
    """An open watch: iterate it for events; ``close()`` from any thread ends the iteration.

    The iteration ends normally when the server closes the watch (its ``timeoutSeconds``).
    """

    def __init__(self, response: Any) -> None:
        self._response = response

    def __iter__(self) -> Iterator[WatchEvent]:
        try:
            for line in _lines(self._response):
                yield parse_event(line)
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


def parse_event(line: bytes) -> WatchEvent:
    """One line of a watch stream; an ``ERROR`` event is raised as the error it carries."""
    event = orjson.loads(line)
    kind = event.get("type") if isinstance(event, dict) else None
    body = event.get("object") if isinstance(event, dict) else None
    if kind == "ERROR":
        raise from_watch_status(body if isinstance(body, dict) else {})
    if kind not in EVENT_TYPES or not isinstance(body, dict):
        raise ValueError(f"not a watch event: {line[:200]!r}")
    return WatchEvent(cast(EventType, kind), body)


def open_watch(
    caller: Caller,
    path: str,
    query: Sequence[tuple[str, str]],
    *,
    timeout_seconds: int,
    connect_timeout: float = 10.0,
    accept: str = JSON,
) -> WatchStream:
    """Open a watch on the collection at ``path``, ended by the server after ``timeout_seconds``.

    ``query`` holds the caller's own parameters (selector, resourceVersion...); ``watch``,
    ``allowWatchBookmarks`` and ``timeoutSeconds`` are added here. No retries: a watcher re-lists
    or re-watches on failure anyway. Raises the mapped error when the apiserver refuses (``Gone``
    when the resourceVersion is too old) and ``NoAnswer`` when it cannot be reached.
    """
    full = [
        *query,
        ("watch", "true"),
        ("allowWatchBookmarks", "true"),
        ("timeoutSeconds", str(timeout_seconds)),
    ]
    response = send(
        caller.api,
        "GET",
        path,
        query=full,
        accept=accept,
        timeout=(connect_timeout, timeout_seconds + READ_MARGIN),
        stream=True,
    )
    if response.status != 200:
        answer = Answer(response.status, str(response.reason or ""), response.data or b"", None)
        response.release_conn()
        raise answer.error()
    return WatchStream(response)


def _lines(response: Any) -> Iterator[bytes]:
    """Newline-delimited JSON lines of a chunked watch response, however the chunks split them."""
    pending = b""
    for chunk in response.stream(amt=None, decode_content=True):
        pending += chunk
        *complete, pending = pending.split(b"\n")
        yield from (line for line in complete if line.strip())
    if pending.strip():
        yield pending
