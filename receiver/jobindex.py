"""A watch-backed index of the Jobs JobSinks created: what makes duplicates and new events cheap.

Only the metadata that the write protocol checks is kept (uid, the event labels and annotations,
owners, deletion), from a metadata-only list+watch of the Jobs labelled
``sinks.knative.dev/job-sink-id`` (``PartialObjectMetadata``: no spec, no status), so a Job costs
a few hundred bytes here.

With it, a new event skips the read-only duplicate check (the index says there is no Job: go
straight to create, where a stale index only means a 409), and a redelivery of an event this
process completed costs no call at all: the index still shows the very Job (same uid) that this
process saw its Secret attached to. A Job deleted since drops out of the index, and with it the
shortcut. While the index is not synced (start-up, or after a watch failure until the re-list),
the protocol reads the apiserver instead.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    LABEL_SINK_ID,
    LABEL_SINK_NAME,
)
from kubeapi.events import Resource
from kubeapi.jobsinks import Gone, WatchStream
from receiver.daemon import Daemon

log = logging.getLogger(__name__)

Key = tuple[str, str]
LIST_TIMEOUT = 60.0


def _key(meta: dict[str, Any]) -> Key:
    return str(meta.get("namespace")), str(meta.get("name"))


def slim(meta: dict[str, Any]) -> dict[str, Any]:
    """The fields ``WriteProtocol`` checks, in the shape of a Job dict."""
    labels = meta.get("labels") or {}
    annotations = meta.get("annotations") or {}
    kept = {
        "name": meta.get("name"),
        "namespace": meta.get("namespace"),
        "uid": meta.get("uid"),
        "labels": {k: labels[k] for k in (LABEL_SINK_NAME, LABEL_SINK_ID) if k in labels},
        "annotations": {
            k: annotations[k]
            for k in (ANNOTATION_EVENT_SOURCE, ANNOTATION_EVENT_ID)
            if k in annotations
        },
        "ownerReferences": [{"uid": ref.get("uid")} for ref in meta.get("ownerReferences") or []],
    }
    if meta.get("deletionTimestamp"):
        kept["deletionTimestamp"] = meta["deletionTimestamp"]
    return {"metadata": kept}


class JobIndex:
    def __init__(
        self,
        jobs: Resource,
        *,
        namespace: str | None = None,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
        completed_size: int = 100_000,
    ) -> None:
        self._jobs = jobs
        self._namespace = namespace
        self._watch_timeout = watch_timeout
        self._max_backoff = max_backoff
        self._store: dict[Key, dict[str, Any]] = {}
        self._completed: OrderedDict[Key, str] = OrderedDict()
        self._completed_size = completed_size
        self._lock = threading.Lock()
        self._synced = threading.Event()
        self._stream: WatchStream | None = None
        self._daemon = Daemon("jobsink-job-index", self._run, interrupt=self._close_stream)
        self._stopping = self._daemon.stopping

    # -- what the write protocol asks ---------------------------------------------------------

    @property
    def synced(self) -> bool:
        return self._synced.is_set()

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self._store.get((namespace, name))

    def completed(self, namespace: str, name: str) -> bool:
        """True when this process saw the current Job of that name get its Secret."""
        job = self._store.get((namespace, name))
        with self._lock:
            uid = self._completed.get((namespace, name))
        return job is not None and uid is not None and job["metadata"]["uid"] == uid

    def mark_completed(self, namespace: str, name: str, job_uid: str) -> None:
        with self._lock:
            self._completed[(namespace, name)] = job_uid
            self._completed.move_to_end((namespace, name))
            while len(self._completed) > self._completed_size:
                self._completed.popitem(last=False)

    def __len__(self) -> int:
        return len(self._store)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._daemon.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._daemon.stop(timeout)

    def _close_stream(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    def _run(self) -> None:
        backoff = 0.0
        while not self._stopping.is_set():
            try:
                version = self._list()
                backoff = 0.0
                self._watch(version)
            except Gone:
                log.info("Job watch expired; listing again")
            except Exception as error:
                # Until the re-list, the index may miss deletions: let the protocol read instead.
                self._synced.clear()
                backoff = min(max(backoff * 2, 0.5), self._max_backoff)
                log.warning("Job index: %s; retrying in %.1fs", error, backoff)
                self._stopping.wait(backoff)

    def _list(self) -> str:
        deadline = time.monotonic() + LIST_TIMEOUT
        items, version = self._jobs.list_metadata(self._namespace, LABEL_SINK_ID, deadline=deadline)
        self.replace(item.get("metadata") or {} for item in items)
        return version

    def replace(self, metas: Iterable[dict[str, Any]]) -> None:
        """Start over from a full list (of ``metadata`` dicts); the index is synced from now on."""
        self._store = {_key(meta): slim(meta) for meta in metas}
        self._synced.set()

    def apply(self, event_type: str, meta: dict[str, Any]) -> None:
        """One watch event: ADDED, MODIFIED or DELETED (BOOKMARKs never get here)."""
        if event_type == "DELETED":
            self._store.pop(_key(meta), None)
        else:
            self._store[_key(meta)] = slim(meta)

    def _watch(self, version: str) -> None:
        while not self._stopping.is_set():
            response = self._jobs.watch_metadata(
                self._namespace, LABEL_SINK_ID, version, timeout_seconds=self._watch_timeout
            )
            stream = WatchStream(response)
            with self._lock:
                if self._stopping.is_set():
                    stream.close()
                    return
                self._stream = stream
            for event in stream:
                meta = event.object.get("metadata") or {}
                version = str(meta.get("resourceVersion") or version)
                if event.type != "BOOKMARK":
                    self.apply(event.type, meta)
