"""A watch-backed cache of JobSinks, with a live GET when an event names one the watch has not seen.

The store is filled by list-then-watch on a daemon thread: a 410 Gone (or a failed list) starts over
with a fresh list, any other watch failure resumes from the last resourceVersion seen (bookmarks
included) after a capped exponential backoff. Reads on the hot path are one dict lookup, no lock:
the watch thread is the only writer, and single dict operations are atomic in CPython.

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

from kubernetes import client
from prometheus_client import Counter, Gauge

from kubeapi.jobsinks import Gone, JobSinks, WatchEvent
from kubeapi.messages import one_line
from receiver.daemon import Daemon

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name)"""
Listener = Callable[[Key], None]

LOOKUPS = Counter(
    "jobsink_sink_cache_lookups",
    "JobSink lookups by where the answer came from",
    ["result"],  # hit | fetched | missing | remembered
)
WATCH_RESTARTS = Counter(
    "jobsink_sink_cache_restarts", "Restarts of the JobSink list/watch", ["reason"]
)
CACHED = Gauge("jobsink_sink_cache_objects", "JobSinks held by the watch cache")
# Bound once: these are counted on every event.
HIT, FETCHED, MISSING, REMEMBERED = (
    LOOKUPS.labels(result) for result in ("hit", "fetched", "missing", "remembered")
)

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


def key_of(sink: dict[str, Any]) -> Key:
    metadata = sink["metadata"]
    return metadata["namespace"], metadata["name"]


class SinkCache:
    """JobSinks of one namespace (or all), kept current by a watch. Returned dicts are shared:
    callers must not mutate them."""

    def __init__(
        self,
        api_client: client.ApiClient,
        *,
        namespace: str | None = None,
        found_ttl: float = 2.0,
        missing_ttl: float = 1.0,
        max_backoff: float = 30.0,
        watch_timeout: int = 300,
        jobsinks: JobSinks | None = None,
    ) -> None:
        self._jobsinks = jobsinks or JobSinks(api_client)
        self._namespace = namespace
        self._found_ttl = found_ttl
        self._missing_ttl = missing_ttl
        self._max_backoff = max_backoff
        self._watch_timeout = watch_timeout
        self._store: dict[Key, dict[str, Any]] = {}
        self._remembered: dict[Key, tuple[float, dict[str, Any] | None]] = {}
        self._inflight: dict[Key, Future[dict[str, Any] | None]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        self._synced = threading.Event()
        self._changes = 0
        """Count of store changes; lets a live GET tell whether the watch spoke meanwhile."""
        self._stream: Any = None
        self._daemon = Daemon("jobsink-cache", self._run, interrupt=self._close_stream)
        self._stopping = self._daemon.stopping
        self.resource_version = ""

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._daemon.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._daemon.stop(timeout)

    def _close_stream(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    @property
    def synced(self) -> bool:
        """True once the first list has landed. It stays true while the watch reconnects: the
        store is still the best answer there is, and readiness must not flap with the apiserver."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener(key)`` on the watch thread for every JobSink that changes or goes away,
        and for every JobSink after each (re)list. It must be quick and must not raise."""
        self._listeners.append(listener)

    # -- reads -------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._store)

    def sink_keys(self) -> list[Key]:
        """(namespace, name) of every watched JobSink, as a snapshot."""
        return list(self._store)

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The watched JobSink, or None. No I/O: safe to call on the event loop."""
        found = self._store.get((namespace, name))
        if found is not None:
            HIT.inc()
        return found

    def watched(self, namespace: str, name: str) -> dict[str, Any] | None:
        """Like ``cached`` but not counted as an event lookup (the status reconciler reads here)."""
        return self._store.get((namespace, name))

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The JobSink, from the watch or else from a live GET; None when it does not exist.

        Blocks on a miss (one apiserver round trip): call it from a worker thread. API errors
        propagate, so that the caller can answer 5xx rather than a wrong 404.
        """
        key = (namespace, name)
        found = self._store.get(key)
        if found is not None:
            HIT.inc()
            return found
        remembered = self._remembered.get(key)
        if remembered is not None and remembered[0] > time.monotonic():
            REMEMBERED.inc()
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
        (FETCHED if found is not None else MISSING).inc()
        with self._lock:
            # Whatever the watch delivered while the GET was in flight may be newer than the GET's
            # answer (a delete, say), so the answer is remembered only if the watch stayed quiet.
            if self._changes == changes_before:
                ttl = self._found_ttl if found is not None else self._missing_ttl
                self._remember(key, time.monotonic() + ttl, found)
            watched = self._store.get(key)
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

    # -- the watch thread --------------------------------------------------------------------

    def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                self._list()
                backoff = 0.0
                self._watch_until_gone()
            except Gone:
                WATCH_RESTARTS.labels("gone").inc()
                log.info("JobSink watch expired; listing again")
            except Exception as error:
                WATCH_RESTARTS.labels("list_error").inc()
                backoff = min(max(backoff * 2, 0.5), self._max_backoff)
                log.warning(
                    "listing JobSinks failed (%s); retrying in %.1fs", one_line(error), backoff
                )
                self._stopping.wait(backoff)

    def _list(self) -> None:
        items, resource_version = self._jobsinks.list(self._namespace)
        fresh = {key_of(item): slim(item) for item in items}
        with self._lock:
            gone = [key for key in self._store if key not in fresh]
            self._store = fresh
            self._remembered = {}
            self._changes += 1
            self.resource_version = resource_version
        CACHED.set(len(fresh))
        self._synced.set()
        log.info("listed %d JobSinks at resourceVersion %s", len(fresh), resource_version)
        for key in [*fresh, *gone]:
            self._notify(key)

    def _watch_until_gone(self) -> None:
        """Watch from the listed resourceVersion until stopped; raises Gone to ask for a re-list."""
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                stream = self._jobsinks.watch(
                    self.resource_version, self._namespace, timeout_seconds=self._watch_timeout
                )
                with self._lock:
                    # stop() may have run while the watch was opening, and found nothing to close.
                    if self._stopping.is_set():
                        stream.close()
                        break
                    self._stream = stream
                for event in stream:
                    self._apply(event)
                    backoff = 0.0
                    if self._stopping.is_set():
                        break
            except Gone:
                raise
            except Exception as error:
                if self._stopping.is_set():
                    break
                WATCH_RESTARTS.labels("watch_error").inc()
                backoff = min(max(backoff * 2, 0.2), self._max_backoff)
                log.warning("JobSink watch broke (%s); resuming in %.1fs", one_line(error), backoff)
                self._stopping.wait(backoff)
            finally:
                self._stream = None

    def _apply(self, event: WatchEvent) -> None:
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.type == "BOOKMARK":
            return
        key = key_of(event.object)
        with self._lock:
            if event.type == "DELETED":
                self._store.pop(key, None)
            else:
                self._store[key] = slim(event.object)
            self._remembered.pop(key, None)
            self._changes += 1
        CACHED.set(len(self._store))
        self._notify(key)

    def _notify(self, key: Key) -> None:
        for listener in self._listeners:
            try:
                listener(key)
            except Exception:
                log.exception("JobSink cache listener failed for %s/%s", *key)
