"""A watch-backed cache of JobSinks, with a live GET when an event names one the watch has not seen.

The store is a :class:`kubeapi.informer.Informer` of JobSinks (without their ``managedFields``):
list, then watch; 410 Gone lists again, any other failure backs off and resumes the watch from the
last resourceVersion. Reads on the hot path are one dict lookup, no lock.

A miss falls back to a live GET so that a JobSink created a moment ago works at once. Its answer
is kept briefly (found: ``found_ttl``, not found: ``missing_ttl``) and dropped as soon as the watch
says anything about that key, so the watch stays the source of truth and a deleted JobSink is never
served for long. Concurrent misses on one key share a single GET.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from kubeapi.calls import Caller
from kubeapi.informer import Handlers, Informer, Source, key_of
from kubeapi.jobsinks import JOBSINKS, JobSinks
from kubeapi.listwatch import ListWatch
from kubeapi.transport import Api
from receiver.metrics import Metrics

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name)"""
Listener = Callable[[Key], None]

MAX_REMEMBERED = 4096
"""Bound on remembered live-GET answers, so events for random names cannot grow memory."""


def slim(sink: dict[str, Any]) -> dict[str, Any]:
    """The JobSink without ``metadata.managedFields``: nothing here reads them, and they can be
    as large as the spec, for every cached JobSink."""
    metadata = sink.get("metadata") or {}
    if "managedFields" not in metadata:
        return sink
    kept = {k: v for k, v in metadata.items() if k != "managedFields"}
    return {**sink, "metadata": kept}


class SinkCache:
    """JobSinks of one namespace (or all), kept current by a watch. Returned dicts are shared:
    callers must not mutate them."""

    def __init__(
        self,
        api_client: Api,
        *,
        namespace: str | None = None,
        found_ttl: float = 2.0,
        missing_ttl: float = 1.0,
        max_backoff: float = 30.0,
        watch_timeout: int = 300,
        jobsinks: JobSinks | None = None,
        source: Source | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``jobsinks`` (live GETs) and ``source`` (list and watch) default to the apiserver
        behind ``api_client``; tests pass fakes."""
        self._jobsinks = jobsinks or JobSinks(api_client)
        metrics = metrics or Metrics()
        # Bound once: these are counted on every event.
        self._lookup_hit, self._lookup_fetched, self._lookup_missing, self._lookup_remembered = (
            metrics.sink_lookups.labels(result)
            for result in ("hit", "fetched", "missing", "remembered")
        )
        self._objects = metrics.sink_cache_objects
        restarts = metrics.sink_cache_restarts
        self.informer = Informer(
            source or ListWatch(Caller(api_client), JOBSINKS, namespace or None),
            name="jobsink-cache",
            transform=slim,
            watch_timeout=watch_timeout,
            max_backoff=max_backoff,
            on_restart=lambda reason: restarts.labels(reason).inc(),
        )
        self.informer.add_handlers(
            Handlers(
                on_added=self._changed,
                on_modified=lambda _old, new: self._changed(new),
                on_deleted=self._changed,
                on_listed=self._forget_answers,
            )
        )
        self._found_ttl = found_ttl
        self._missing_ttl = missing_ttl
        self._remembered: dict[Key, tuple[float, dict[str, Any] | None]] = {}
        self._inflight: dict[Key, Future[dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._changes = 0
        """Count of store changes; lets a live GET tell whether the watch spoke meanwhile."""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.informer.stop(timeout)

    @property
    def synced(self) -> bool:
        """True once the first list has landed. It stays true while the watch reconnects: the
        store is still the best answer there is, and readiness must not flap with the apiserver."""
        return self.informer.synced

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self.informer.wait_synced(timeout)

    @property
    def resource_version(self) -> str:
        """Where the watch stands: of the last list, event or bookmark."""
        return self.informer.resource_version

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(key)`` on the watch thread for every JobSink that changes or goes away,
        and for every JobSink after each (re)list. It must be quick and must not raise."""
        self._listeners.append(listener)

    # -- reads -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.informer)

    def sink_keys(self) -> list[Key]:
        """(namespace, name) of every watched JobSink, as a snapshot."""
        return self.informer.stored_keys()

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The watched JobSink, or None. No I/O: safe to call on the event loop."""
        found = self.informer.get(namespace, name)
        if found is not None:
            self._lookup_hit.inc()
        return found

    def watched(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Like ``cached`` but not counted as an event lookup (the status reconciler reads here)."""
        return self.informer.get(namespace, name)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The JobSink, from the watch or else from a live GET; None when it does not exist.

        Blocks on a miss (one apiserver round trip): call it from a worker thread. API errors
        propagate, so that the caller can answer 5xx rather than a wrong 404.
        """
        key = (namespace, name)
        found = self.informer.get(namespace, name)
        if found is not None:
            self._lookup_hit.inc()
            return found
        remembered = self._remembered.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            self._lookup_remembered.inc()
            return remembered[1]
        return self._fetch(key)

    def _fetch(self, key: Key) -> dict[str, Any] | None:
        with self._lock:
            pending = self._inflight.get(key)
            leader = pending is None
            if pending is None:
                pending = self._inflight[key] = Future()
        if not leader:
            return pending.result()
        changes_before = self._changes
        try:
            found = self._jobsinks.get(*key)
        except BaseException as error:
            with self._lock:
                del self._inflight[key]
            pending.set_exception(error)
            raise
        found = slim(found) if found is not None else None
        (self._lookup_fetched if found is not None else self._lookup_missing).inc()
        with self._lock:
            # Whatever the watch delivered while the GET was in flight may be newer than the GET's
            # answer (a delete, say), so the answer is remembered only if the watch stayed quiet.
            # The informer stores before it calls ``_changed``, which drops a remembered answer
            # under this lock, so a change to this key is never missed either way round.
            if self._changes == changes_before:
                ttl = self._found_ttl if found is not None else self._missing_ttl
                self._remember(key, time.monotonic() + ttl, found)
            watched = self.informer.get(*key)
            del self._inflight[key]
        answer = watched if watched is not None else found
        pending.set_result(answer)
        return answer

    def _remember(self, key: Key, expires: float, found: dict[str, Any] | None) -> None:
        if len(self._remembered) >= MAX_REMEMBERED:
            now = time.monotonic()
            self._remembered = {k: v for k, v in self._remembered.items() if v[0] > now}
            if len(self._remembered) >= MAX_REMEMBERED:
                self._remembered = {}
        self._remembered[key] = (expires, found)

    # -- the informer's handlers (on its thread) ---------------------------------------------

    def _forget_answers(self) -> None:
        with self._lock:
            self._remembered = {}
            self._changes += 1
        self._objects.set(len(self.informer))

    def _changed(self, sink: dict[str, Any]) -> None:
        key = key_of(sink)
        with self._lock:
            self._remembered.pop(key, None)
            self._changes += 1
        self._objects.set(len(self.informer))
        for listener in self._listeners:
            try:
                listener(key)
            except Exception:
                log.exception("JobSink cache listener failed for %s/%s", *key)
