"""A watch-backed index of the Jobs JobSinks created: what makes duplicates and new events cheap.

Only the metadata that the write protocol checks is kept (uid, the event labels and annotations,
owners, deletion), from a metadata-only list+watch of the Jobs labelled
``sinks.knative.dev/job-sink-id`` (``PartialObjectMetadata``: no spec, no status), so a Job costs
a few hundred bytes here.

With it, a new event skips the read-only duplicate check (the index says there is no Job: go
straight to create, where a stale index only means a 409), and a redelivery of an event this
process completed costs no call at all: the index still shows the very Job (same uid) that this
process saw its Secret attached to. A Job deleted since drops out of the index, and with it the
shortcut.

The index is a :class:`kubeapi.informer.Informer`, and ``synced`` here is the informer's
``current``, not its ``synced``: a store that may have missed a deletion would answer "duplicate,
nothing to do" for an event whose Job is gone, and the event would be lost. So from any failure
until the watch is open again (or the list is done, after a 410), the protocol reads the
apiserver instead. A re-list after every watch failure is not needed for that: resuming the
watch from the last resourceVersion misses nothing (the apiserver replays since that version or
answers 410), and costs no list of every Job.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    LABEL_SINK_ID,
    LABEL_SINK_NAME,
)
from kubeapi.informer import Informer, Source
from kubeapi.listwatch import ListWatch
from kubeapi.object_client import ObjectClient

Key = tuple[str, str]


def slim(job: dict[str, Any]) -> dict[str, Any]:
    """The fields ``WriteProtocol`` checks, in the shape of a Job dict."""
    meta = job.get("metadata") or {}
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
        jobs: ObjectClient,
        *,
        namespace: str | None = None,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
        completed_size: int = 100_000,
        source: Source | None = None,
    ) -> None:
        """``source`` defaults to a metadata-only list/watch of ``jobs``; tests pass a fake."""
        self.informer = Informer(
            source
            or ListWatch(
                jobs.caller,
                jobs.resource,
                namespace or None,
                label_selector=LABEL_SINK_ID,
                metadata_only=True,
            ),
            name="jobsink-job-index",
            transform=slim,
            watch_timeout=watch_timeout,
            max_backoff=max_backoff,
        )
        self._completed: OrderedDict[Key, str] = OrderedDict()
        self._completed_size = completed_size
        self._lock = threading.Lock()

    # -- what the write protocol asks ---------------------------------------------------------

    @property
    def synced(self) -> bool:
        """True while the index is known to miss nothing (see the module doc)."""
        return self.informer.current

    def job(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.informer.get(namespace, name)

    def completed(self, namespace: str, name: str) -> bool:
        """True when this process saw the current Job of that name get its Secret."""
        job = self.informer.get(namespace, name)
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
        return len(self.informer)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.informer.stop(timeout)
