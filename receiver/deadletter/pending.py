"""The failed Jobs whose dead letter is still to be sent: an informer's store that keeps only them.

The informer lists and watches the Jobs labelled ``sinks.knative.dev/dead-letter=pending`` (the
Jobs of JobSinks with a dead-letter sink, from their creation until their dead letter is done);
of those, this store keeps the ones whose ``Failed`` condition is True, as a few strings each,
so running and succeeded Jobs cost nothing but the bytes of the watch.

An entry leaves when the dispatcher is done with it (:meth:`PendingJobs.done`). A watch's
DELETED (the Job was deleted, or its label moved on) removes it only in a process that does not
lead: there the leader owns the outcome. In the leader it stays, so that a Job deleted before
its dead letter was sent is still sent from its Secret if that is left, or reported.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from jobsink.names import LABEL_SINK_NAME
from receiver.deadletter.letter import Failure, failure_of

Key = tuple[str, str]


@dataclass(frozen=True)
class PendingJob:
    namespace: str
    name: str
    uid: str
    sink: str
    """The JobSink's name (the Job's ``sinks.knative.dev/job-sink-name`` label)."""
    failure: Failure

    @property
    def key(self) -> Key:
        return self.namespace, self.name


def pending_job(obj: dict[str, Any]) -> PendingJob | None:
    failure = failure_of(obj)
    if failure is None:
        return None
    meta = obj.get("metadata") or {}
    return PendingJob(
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
        sink=str((meta.get("labels") or {}).get(LABEL_SINK_NAME) or ""),
        failure=failure,
    )


class PendingJobs:
    """``kubeapi.informer.Store`` of the failed Jobs awaiting their dead letter. Written on the
    informer's thread, read and emptied on the dispatcher's: every access takes the lock."""

    def __init__(self, leading: Callable[[], bool], wake: Callable[[], None]) -> None:
        self._leading = leading
        self._wake = wake
        self._jobs: dict[Key, PendingJob] = {}
        self._lock = threading.Lock()

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        # A union, not a swap: an entry the list no longer shows may be a Job deleted before
        # its dead letter went out, which the dispatcher still has to send or report.
        for obj in objects:
            self.put(obj)

    def put(self, obj: dict[str, Any]) -> None:
        job = pending_job(obj)
        if job is None:
            return
        with self._lock:
            known = self._jobs.get(job.key)
            self._jobs[job.key] = job
        if known is None or known.uid != job.uid:
            self._wake()

    def remove(self, obj: dict[str, Any]) -> None:
        if self._leading():
            return
        meta = obj.get("metadata") or {}
        with self._lock:
            self._jobs.pop((str(meta.get("namespace") or ""), str(meta.get("name") or "")), None)

    def done(self, job: PendingJob) -> None:
        """The dispatcher is through with ``job`` (that very uid)."""
        with self._lock:
            known = self._jobs.get(job.key)
            if known is not None and known.uid == job.uid:
                del self._jobs[job.key]

    def snapshot(self) -> list[PendingJob]:
        with self._lock:
            return list(self._jobs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)
