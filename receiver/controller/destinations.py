"""Resolves a JobSink's dead-letter sink for the status reconciler, and remembers who refers to
whom so that a referent's change re-resolves its referrers.

A ``ref`` to a JobSink is read from the JobSink cache (no call); any other kind is read live
through ``kubeapi.addressables`` (the receiver's role aggregates Knative's addressable-resolver
rules for that). A referent that changes later is noticed for JobSinks at once (the cache tells
the reconciler, which asks :meth:`referrers_of`), for other kinds at the next retry: a failed
resolution is retried after ``RETRY_UNRESOLVED`` seconds, a resolved one at the periodic resync.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any, Final

from jobsink import types
from jobsink.delivery import dead_letter_sink, is_absolute, join_uri
from jobsink.destinations import (
    REASON_NO_ADDRESS,
    REASON_NOT_FOUND,
    REASON_UNRESOLVABLE,
    Resolution,
    address_of,
    ref_of,
)
from kubeapi.addressables import Addressables, UnknownKind
from kubeapi.errors import KubeError
from kubeapi.messages import one_line
from receiver.controller.sinks import Key, SinkCache

RETRY_UNRESOLVED: Final = 10.0
"""Seconds before a dead-letter sink that did not resolve is tried again."""


class DestinationResolver:
    def __init__(self, cache: SinkCache, addressables: Addressables) -> None:
        self._cache = cache
        self._addressables = addressables
        self._refers_to: dict[Key, Key] = {}
        self._lock = threading.Lock()

    def resolve(self, sink: Mapping[str, Any]) -> Resolution | None:
        """The dead-letter sink of ``sink`` resolved; None when it has none."""
        metadata = sink.get("metadata") or {}
        key: Key = (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))
        destination = dead_letter_sink(sink)
        ref = ref_of(destination) if destination is not None else None
        with self._lock:
            if ref is None:
                self._refers_to.pop(key, None)
            else:
                self._refers_to[key] = (str(ref.get("namespace") or key[0]), str(ref.get("name")))
        if destination is None:
            return None
        return self._resolve(destination, key[0])

    def referrers_of(self, key: Key) -> list[Key]:
        """The JobSinks whose dead-letter sink refers to the object ``key`` (any kind)."""
        with self._lock:
            return [referrer for referrer, target in self._refers_to.items() if target == key]

    def forget(self, key: Key) -> None:
        with self._lock:
            self._refers_to.pop(key, None)

    def _resolve(self, destination: Mapping[str, Any], namespace: str) -> Resolution:
        uri = destination.get("uri")
        uri = uri if isinstance(uri, str) else None
        ref = ref_of(destination)
        if ref is None:
            if uri is None or not is_absolute(uri):
                return Resolution.failed(REASON_UNRESOLVABLE, "uri must be an absolute URL")
            return Resolution(
                url=uri,
                ca_certs=_text(destination, "CACerts"),
                audience=_text(destination, "audience"),
            )
        api_version, kind, name = (str(ref.get(k) or "") for k in ("apiVersion", "kind", "name"))
        ref_namespace = str(ref.get("namespace") or namespace)
        what = f"{kind} {ref_namespace}/{name}"
        if not (api_version and kind and name):
            return Resolution.failed(REASON_UNRESOLVABLE, "ref needs apiVersion, kind and name")
        try:
            referent = self._read(api_version, kind, ref_namespace, name)
        except UnknownKind as error:
            return Resolution.failed(REASON_UNRESOLVABLE, str(error))
        except KubeError as error:
            return Resolution.failed(REASON_UNRESOLVABLE, f"reading {what}: {one_line(error)}")
        if referent is None:
            return Resolution.failed(REASON_NOT_FOUND, f"{what} does not exist")
        address = address_of(referent)
        if address is None:
            return Resolution.failed(REASON_NO_ADDRESS, f"{what} has no status.address.url")
        return Resolution(
            url=join_uri(str(address["url"]), uri),
            ca_certs=_text(address, "CACerts") or _text(destination, "CACerts"),
            audience=_text(address, "audience") or _text(destination, "audience"),
        )

    def _read(self, api_version: str, kind: str, namespace: str, name: str) -> Any:
        if kind == types.KIND and api_version == types.API_VERSION:
            cached = self._cache.watched(namespace, name)
            if cached is not None:
                return cached  # else read it: the cache may watch only this receiver's namespace
        return self._addressables.get(api_version, kind, namespace, name)


def _text(obj: Mapping[str, Any], name: str) -> str | None:
    value = obj.get(name)
    return value if isinstance(value, str) and value else None
