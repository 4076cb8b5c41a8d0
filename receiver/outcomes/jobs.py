"""The end of each event's Job, told once: counted in the per-JobSink metrics and, when it
failed, said in an Event on its JobSink.

Only the status Lease holder watches, so the receivers of a Deployment count each Job once
between them (a replica that does not lead watches nothing). It lists and watches the Jobs
labelled ``sinks.knative.dev/job-sink-id`` whole (the Job index watches only their metadata,
which has no status), and keeps of each ended Job only a 64-bit digest of its uid, so that a
watch replaying a Job, or a re-list, does not tell its end twice.

When a process takes the Lease, its first list holds Jobs that ended earlier: it tells only
those that ended after ``since`` (the moment it took the Lease, less ``grace``, the Lease's
duration, which covers the hand-over when no process watched). A Job that ended within that
grace under the previous holder is counted by both: the price of never missing one, and
bounded by the Lease duration.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jobsink.names import LABEL_SINK_ID, LABEL_SINK_NAME
from kubeapi.informer import Informer, Source
from kubeapi.listwatch import ListWatch
from kubeapi.object_client import ObjectClient
from receiver.jobdigest import uid_digest
from receiver.metrics import Metrics
from receiver.outcomes.events import NORMAL, WARNING, EventRecorder

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Ended:
    """How and when a Job ended: its ``Complete`` or ``Failed`` condition."""

    succeeded: bool
    started: float
    """Its creation, which is the event's receipt: the receiver creates it on receipt."""
    finished: float
    reason: str
    message: str

    @property
    def seconds(self) -> float:
        return max(0.0, self.finished - self.started)


def timestamp(value: object) -> float | None:
    """Seconds since the epoch of an RFC 3339 time as the apiserver writes it."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def ended(job: dict[str, Any]) -> Ended | None:
    """The end of ``job``, None while it runs (``SuccessCriteriaMet`` and ``FailureTarget`` are
    not ends yet: the Job ends when its pods are gone)."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        kind = condition.get("type")
        if kind not in ("Complete", "Failed") or condition.get("status") != "True":
            continue
        started = timestamp((job.get("metadata") or {}).get("creationTimestamp")) or 0.0
        finished = (
            timestamp(status.get("completionTime") if kind == "Complete" else None)
            or timestamp(condition.get("lastTransitionTime"))
            or started
        )
        return Ended(
            succeeded=kind == "Complete",
            started=started,
            finished=finished,
            reason=str(condition.get("reason") or ""),
            message=str(condition.get("message") or ""),
        )
    return None


def jobsink_of(job: dict[str, Any]) -> dict[str, str] | None:
    """The reference of the JobSink that owns ``job``."""
    meta = job.get("metadata") or {}
    for owner in meta.get("ownerReferences") or []:
        if owner.get("kind") == "JobSink" and owner.get("controller"):
            return {
                "apiVersion": str(owner.get("apiVersion") or ""),
                "kind": "JobSink",
                "namespace": str(meta.get("namespace") or ""),
                "name": str(owner.get("name") or ""),
                "uid": str(owner.get("uid") or ""),
            }
    name = (meta.get("labels") or {}).get(LABEL_SINK_NAME)
    if not name:
        return None
    return {"kind": "JobSink", "namespace": str(meta.get("namespace") or ""), "name": str(name)}


def failure_note(job: dict[str, Any], end: Ended) -> str:
    name = (job.get("metadata") or {}).get("name")
    why = ": ".join(part for part in (end.reason, end.message) if part)
    return f"Job {name} failed" + (f": {why}" if why else "")


Tell = Callable[[dict[str, Any], Ended], None]


class EndedJobs:
    """The watch's ``kubeapi.informer.Store``: the uid digests of ended Jobs, telling each
    Job's end the first time it is seen ended (and, on a list, only when it ended after
    ``since``)."""

    def __init__(self, since: float, tell: Tell) -> None:
        self.since = since
        self._tell = tell
        self._ended: set[int] = set()

    def __len__(self) -> int:
        return len(self._ended)

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        seen: set[int] = set()
        for job in objects:
            end = ended(job)
            if end is None:
                continue
            key = uid_digest(str((job.get("metadata") or {}).get("uid") or ""))
            seen.add(key)
            if key not in self._ended:
                # Kept at once: a list that fails halfway is listed again, and must not tell
                # what it told already.
                self._ended.add(key)
                if end.finished >= self.since:
                    self._tell(job, end)
        self._ended = seen

    def put(self, job: dict[str, Any]) -> None:
        end = ended(job)
        if end is None:
            return
        key = uid_digest(str((job.get("metadata") or {}).get("uid") or ""))
        if key in self._ended:
            return
        self._ended.add(key)
        self._tell(job, end)

    def remove(self, job: dict[str, Any]) -> None:
        key = uid_digest(str((job.get("metadata") or {}).get("uid") or ""))
        if key in self._ended:
            self._ended.discard(key)
            return
        # Deleted right as it ended (a TTL of 0, or a delete racing the last update).
        end = ended(job)
        if end is not None and end.finished >= self.since:
            self._tell(job, end)


class JobOutcomes:
    """Watches the Jobs of events while ``leading``, counting and telling each end once.

    Hook it to the status Lease with ``elector.on_change(outcomes.leadership_changed)``.
    """

    def __init__(
        self,
        jobs: ObjectClient,
        recorder: EventRecorder,
        *,
        metrics: Metrics,
        namespace: str | None = None,
        grace: float = 15.0,
        source: Source | None = None,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._jobs = jobs
        self._recorder = recorder
        self._metrics = metrics
        self._namespace = namespace
        self._grace = grace
        self._source = source
        self._wall = wall
        self._informer: Informer | None = None
        self._lock = threading.Lock()

    def leadership_changed(self, leading: bool) -> None:
        if leading:
            self.start_watching()
        else:
            self.stop_watching()

    def start_watching(self) -> None:
        with self._lock:
            if self._informer is not None:
                return
            store = EndedJobs(self._wall() - self._grace, self.tell)
            source = self._source or ListWatch(
                self._jobs.caller,
                self._jobs.resource,
                self._namespace,
                label_selector=LABEL_SINK_ID,
            )
            self._informer = Informer(source, name="jobsink-job-outcomes", store=store)
            self._informer.start()

    def stop_watching(self, timeout: float = 5.0) -> None:
        with self._lock:
            informer, self._informer = self._informer, None
        if informer is not None:
            informer.stop(timeout)

    # ``Background``: the watch starts with the Lease, not with the process.
    def start(self) -> None:
        pass

    def stop(self, timeout: float = 5.0) -> None:
        self.stop_watching(timeout)

    def tell(self, job: dict[str, Any], end: Ended) -> None:
        """Count one Job's end, and say it on its JobSink."""
        sink = jobsink_of(job)
        if sink is None:
            return
        labels = self._metrics.sink(sink["namespace"], sink["name"])
        outcome = "succeeded" if end.succeeded else "failed"
        (
            self._metrics.sink_jobs_succeeded if end.succeeded else self._metrics.sink_jobs_failed
        ).labels(*labels).inc()
        self._metrics.sink_job_duration.labels(*labels, outcome).observe(end.seconds)
        meta = job.get("metadata") or {}
        related = {
            "kind": "Job",
            "apiVersion": "batch/v1",
            **{k: str(meta.get(k) or "") for k in ("namespace", "name", "uid")},
        }
        if end.succeeded:
            # Aggregated like the data plane's SuccessfulCreate: one Event with a count.
            self._recorder.emit(sink, NORMAL, "Completed", "Job completed for an event")
        else:
            self._recorder.emit(sink, WARNING, "JobFailed", failure_note(job, end), related=related)
