"""Kubernetes Events (events.k8s.io/v1) about JobSinks and their Jobs, aggregated and bounded.

Written the way the controllers users know write them: ``reason`` in CamelCase, a short
``note``, ``regarding`` the JobSink, ``related`` the Job when there is one, ``action`` what was
done, ``reportingController`` ``sinks.knative.dev/jobsink-receiver`` and ``reportingInstance``
the pod. ``kubectl describe jobsink`` lists them.

Recording never waits and never fails: :meth:`EventRecorder.emit` only counts the occurrence in
a :class:`receiver.outcomes.series.SeriesBook`, and a daemon thread writes what the book says is
due. A write that fails is logged (and counted) and dropped: an Event is a hint to a human,
never a reason to hold up or fail an event's Job.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Hashable
from datetime import UTC, datetime
from typing import Any, Final

from kubeapi.errors import KubeError
from kubeapi.events import EventClient
from kubeapi.messages import one_line
from receiver.metrics import Metrics
from receiver.outcomes.series import SeriesBook, Write

log = logging.getLogger(__name__)

REPORTING_CONTROLLER: Final = "sinks.knative.dev/jobsink-receiver"
NORMAL: Final = "Normal"
WARNING: Final = "Warning"
MAX_NOTE: Final = 1024  # the API refuses a longer note
JOBSINK_API_VERSION: Final = "sinks.knative.dev/v1alpha1"

ACTIONS: Final[dict[str, str]] = {
    "SuccessfulCreate": "CreateJob",
    "Completed": "WatchJob",
    "JobFailed": "WatchJob",
    "DeadLetterDelivered": "DeliverDeadLetter",
    "DeadLetterGaveUp": "DeliverDeadLetter",
    "StatusNotWritten": "UpdateStatus",
}
"""The ``action`` of each reason we record; a reason not listed is its own action."""

REFERENCE_FIELDS: Final = ("apiVersion", "kind", "namespace", "name", "uid", "fieldPath")


def reference(obj: dict[str, Any], *, kind: str = "JobSink") -> dict[str, str]:
    """The ObjectReference of ``obj``: a whole object (with ``metadata``) or already a reference.
    A JobSink's apiVersion and kind are filled in when the object does not carry them (objects
    from a watch list do not)."""
    if "metadata" in obj:
        meta = obj.get("metadata") or {}
        ref = {
            "apiVersion": str(
                obj.get("apiVersion") or (JOBSINK_API_VERSION if kind == "JobSink" else "")
            ),
            "kind": str(obj.get("kind") or kind),
            "namespace": str(meta.get("namespace") or ""),
            "name": str(meta.get("name") or ""),
            "uid": str(meta.get("uid") or ""),
        }
    else:
        ref = {field: str(obj[field]) for field in REFERENCE_FIELDS if obj.get(field)}
        ref.setdefault(
            "apiVersion", JOBSINK_API_VERSION if ref.get("kind", kind) == "JobSink" else ""
        )
        ref.setdefault("kind", kind)
    return {k: v for k, v in ref.items() if v}


def _identity(obj: dict[str, Any] | None) -> Hashable:
    """What tells objects apart for :meth:`EventRecorder.emit`'s cache: the kind, namespace,
    name and uid of a whole object, the fields of a reference."""
    if obj is None:
        return None
    meta = obj.get("metadata")
    if isinstance(meta, dict):
        return (obj.get("kind"), meta.get("namespace"), meta.get("name"), meta.get("uid"))
    return tuple(sorted((k, str(v)) for k, v in obj.items() if k in REFERENCE_FIELDS))


def micro_time(wall: float) -> str:
    """A MicroTime as the API writes it: RFC 3339 in UTC with microseconds."""
    return datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_name(regarding_name: str, wall: float) -> str:
    """client-go's ``<regarding>.<hex nanoseconds>``, with a random tail so that two replicas
    writing in the same nanosecond do not collide."""
    return f"{regarding_name[:200]}.{int(wall * 1e9):x}{secrets.token_hex(2)}"


def default_instance() -> str:
    """The pod's name (the Downward API's ``POD_NAME``, else the hostname a pod is given)."""
    return os.environ.get("POD_NAME") or os.environ.get("HOSTNAME") or "jobsink-receiver"


class EventRecorder:
    """Records Events through ``events`` (None: a recorder that only counts, for a receiver with
    no Event RBAC or for tests). ``start`` runs the writer thread; ``flush`` writes what is due
    on the caller's thread (tests, and a last flush on ``stop``)."""

    def __init__(
        self,
        events: EventClient | None,
        *,
        instance: str | None = None,
        book: SeriesBook | None = None,
        metrics: Metrics | None = None,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self._events = events
        self.instance = (instance or default_instance())[:128]
        self.book = book or SeriesBook()
        self._metrics = metrics or Metrics()
        self._clock, self._wall = clock, wall
        self._bodies: dict[Hashable, tuple[str, dict[str, Any]]] = {}
        self._kinds: dict[Hashable, tuple[Hashable, tuple[str, str], str, dict[str, Any]]] = {}
        """What :meth:`_kind` made of an occurrence, by the identity of its objects: the data
        plane records one per created Job, and this keeps that to a dict lookup."""
        self._observed = self._metrics.kube_events.labels("observed")
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    async def record(self, regarding: dict[str, Any], type_: str, reason: str, note: str) -> None:
        """Record one occurrence about ``regarding`` (a JobSink, or its reference)."""
        self.emit(regarding, type_, reason, note)

    def emit(
        self,
        regarding: dict[str, Any],
        type_: str,
        reason: str,
        note: str,
        *,
        related: dict[str, Any] | None = None,
        action: str | None = None,
    ) -> None:
        """:meth:`record` for threads; ``related`` is a second object (the Job)."""
        try:
            quick = (_identity(regarding), _identity(related), type_, reason, note, action)
            kind = self._kinds.get(quick)
            if kind is None:
                kind = self._kind(regarding, type_, reason, note, related, action)
                if len(self._kinds) >= self.book.max_series:
                    self._kinds.clear()  # a cache: rebuilt as occurrences come
                self._kinds[quick] = kind
            key, sink, namespace, body = kind
            now, wall = self._clock(), self._wall()
            with self._lock:
                dropped = self.book.observe(key, sink, now, wall)
                if dropped is None and key not in self._bodies:
                    self._bodies[key] = (namespace, body)
                    self._wake.set()
            if dropped is None:
                self._observed.inc()
            else:
                self._metrics.kube_events.labels(dropped).inc()
        except Exception:
            log.exception("recording the Event %s failed", reason)

    def _kind(
        self,
        regarding: dict[str, Any],
        type_: str,
        reason: str,
        note: str,
        related: dict[str, Any] | None,
        action: str | None,
    ) -> tuple[Hashable, tuple[str, str], str, dict[str, Any]]:
        """The series key, JobSink, namespace and Event body of one kind of occurrence."""
        ref = reference(regarding)
        rel = reference(related, kind="Job") if related else None
        note = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 3] + "..."
        action = (action or ACTIONS.get(reason, reason))[:128]
        key = (
            tuple(sorted(ref.items())),
            tuple(sorted(rel.items())) if rel else None,
            type_,
            reason[:128],
            action,
            note,
        )
        body: dict[str, Any] = {
            "reportingController": REPORTING_CONTROLLER,
            "reportingInstance": self.instance,
            "action": action,
            "reason": reason[:128],
            "note": note,
            "type": type_,
            "regarding": ref,
        }
        if rel:
            body["related"] = rel
        sink = (ref.get("namespace", ""), ref.get("name", ""))
        return key, sink, ref.get("namespace") or "default", body

    # -- writing -------------------------------------------------------------------------------

    def flush(self) -> int:
        """Write every Event that is due; how many writes were tried."""
        if self._events is None:
            with self._lock:
                self.book.expire(self._clock())
                self._forget_bodies()
            return 0
        with self._lock:
            writes = self.book.due(self._clock())
        tried = 0
        for write in writes:
            with self._lock:
                if not self.book.allow_write(self._clock()):
                    self._metrics.kube_events.labels("global_rate").inc()
                    break
                namespace, body = self._bodies[write.key]
            tried += 1
            name = self._write(namespace, body, write)
            with self._lock:
                self.book.written(write, name, self._clock())
        with self._lock:
            self.book.expire(self._clock())
            self._forget_bodies()
        return tried

    def _forget_bodies(self) -> None:
        for key in [k for k in self._bodies if k not in self.book.series]:
            del self._bodies[key]

    def _write(self, namespace: str, body: dict[str, Any], write: Write) -> str | None:
        assert self._events is not None
        series = (
            {"count": write.count, "lastObservedTime": micro_time(write.last_observed_wall)}
            if write.count >= 2
            else None
        )
        try:
            if write.name is None:
                name = event_name(body["regarding"].get("name", "jobsink"), self._wall())
                new = {
                    **body,
                    "metadata": {"name": name, "namespace": namespace},
                    "eventTime": micro_time(self._wall()),
                }
                if series:
                    new["series"] = series
                self._events.create(namespace, new)
                self._metrics.kube_events.labels("created").inc()
                return name
            if series and self._events.patch_series(namespace, write.name, series):
                self._metrics.kube_events.labels("updated").inc()
                return write.name
            return None
        except KubeError as error:
            self._metrics.kube_events.labels("write_failed").inc()
            log.warning(
                "Event %s on %s/%s not written: %s",
                body["reason"],
                namespace,
                body["regarding"].get("name"),
                one_line(error),
            )
            return None

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self._stopping.clear()
        self._thread = threading.Thread(target=self._run, name="jobsink-events", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.book.interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:
                log.exception("writing Events failed")
        try:
            self.flush()  # what the last moments counted
        except Exception:
            log.exception("writing Events failed")
