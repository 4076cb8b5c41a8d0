"""The receiver's two URL shapes, parsed from the raw (still percent-encoded) request path.

* ``/{namespace}/{jobsink}`` — POST an event (a trailing slash is tolerated);
* ``/namespaces/{ns}/name/{jobsink}/sources/{source}/ids/{id}`` — GET the state of its Job.

Sources and ids may contain ``/``, ``%``, spaces or any Unicode, so the Location path escapes each
segment and parsing splits the *raw* path before unescaping (a decoded path would split a source
like ``a/b`` in two).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import ClassVar
from urllib.parse import quote, unquote_to_bytes

from receiver.dataplane.refusals import Rejection

MAX_LOCATION_BYTES = 8192
"""The longest Location the receiver answers with. An event's source and id are in its Location,
each percent-escaped (a non-ASCII character takes up to 12 bytes); a longer header goes past the
head buffers of common clients (h11, under httpx, reads at most 16 KiB of head in all), and a GET
of it past the 8 KiB request line that proxies accept by default."""

_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?")
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")
"""What ``quote(segment, safe="")`` leaves as it is: such a segment needs no escaping."""
_LOCATION_WORDS = ("namespaces", "name", "sources", "ids")


@dataclass(frozen=True)
class SinkPath:
    """Where events are POSTed."""

    methods: ClassVar[tuple[str, ...]] = ("POST",)

    namespace: str
    name: str


@dataclass(frozen=True)
class EventPath:
    """An event's Location: the state of its Job."""

    methods: ClassVar[tuple[str, ...]] = ("GET", "HEAD")

    namespace: str
    name: str
    source: str
    id: str


def route(raw_path: bytes, method: str) -> SinkPath | EventPath:
    """The route of a request: ``Rejection`` 404 when the path has neither shape, 405 (with
    ``Allow``) when the route does not take ``method``."""
    parsed = parse(raw_path)
    if parsed is None:
        raise Rejection(404, "no such path: POST events to /<namespace>/<jobsink>", "path")
    if method not in parsed.methods:
        raise Rejection.method_not_allowed(method, parsed.methods)
    return parsed


def parse(raw_path: bytes) -> SinkPath | EventPath | None:
    """The route a raw path names, or None when it is malformed (the caller answers 404)."""
    try:
        text = raw_path.decode("ascii")
    except UnicodeDecodeError:
        return None
    segments = text.split("/")
    if not segments or segments[0] != "":
        return None
    segments = segments[1:]
    if len(segments) == 3 and segments[2] == "":
        segments = segments[:2]  # trailing slash
    if len(segments) == 2:
        namespace, name = (_unquote(s) for s in segments)
        if namespace and name and _DNS_LABEL.fullmatch(namespace) and _DNS_LABEL.fullmatch(name):
            return SinkPath(namespace, name)
        return None
    if len(segments) == 8 and tuple(segments[0::2]) == _LOCATION_WORDS:
        namespace, name, source, id = (_unquote(s) for s in segments[1::2])
        if (
            namespace
            and name
            and source
            and id
            and _DNS_LABEL.fullmatch(namespace)
            and _DNS_LABEL.fullmatch(name)
        ):
            return EventPath(namespace, name, source, id)
    return None


def location(namespace: str, name: str, source: str, id: str) -> str:
    """The status path of an event's Job, every segment escaped."""
    parts = ("namespaces", namespace, "name", name, "sources", source, "ids", id)
    return "/" + "/".join(escape(part) for part in parts)


def escape(segment: str) -> str:
    """One segment of a Location path, percent-escaped."""
    # "." and ".." would be removed as dot-segments by URL normalisation in clients and proxies.
    if segment in (".", ".."):
        return segment.replace(".", "%2E")
    if _UNRESERVED.fullmatch(segment):
        return segment  # the usual case, and five times quicker than quote's
    return quote(segment, safe="")


def _unquote(segment: str) -> str | None:
    """Strict percent-decoding: malformed escapes or non-UTF-8 bytes give None."""
    if _BAD_PERCENT.search(segment):
        return None
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        return None
