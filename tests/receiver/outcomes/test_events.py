"""The recorder's bookkeeping without an apiserver: what an Event refers to, which occurrences are
alike, and that recording never raises (the writes are tested on the real apiserver, e2e)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from receiver.metrics import Metrics
from receiver.outcomes.events import (
    MAX_NOTE,
    NORMAL,
    WARNING,
    EventRecorder,
    event_name,
    micro_time,
    reference,
)
from receiver.outcomes.series import SeriesBook


def sink(name: str, uid: str = "u") -> dict[str, Any]:
    return {"metadata": {"namespace": "ns", "name": name, "uid": uid}, "spec": {}}


@pytest.mark.parametrize(
    ("obj", "kind", "expected"),
    [
        (sink("a"), "JobSink",
         {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "namespace": "ns",
          "name": "a", "uid": "u"}),
        ({"kind": "JobSink", "namespace": "ns", "name": "a"}, "JobSink",
         {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "namespace": "ns",
          "name": "a"}),
        ({"metadata": {"namespace": "ns", "name": "j", "uid": "x"}, "apiVersion": "batch/v1",
          "kind": "Job", "status": {}}, "Job",
         {"apiVersion": "batch/v1", "kind": "Job", "namespace": "ns", "name": "j", "uid": "x"}),
    ],
)  # fmt: skip
def test_reference(obj: dict[str, Any], kind: str, expected: dict[str, str]) -> None:
    assert reference(obj, kind=kind) == expected


def kinds(recorder: EventRecorder) -> list[tuple[str, str, int]]:
    return sorted(
        (key[0][2][1], key[3], series.count)  # type: ignore[index]
        for key, series in recorder.book.series.items()
    )


def test_alike_occurrences_share_a_series_and_others_do_not() -> None:
    recorder = EventRecorder(None, book=SeriesBook())
    for _ in range(3):
        recorder.emit(sink("a"), NORMAL, "SuccessfulCreate", "Created Job for an event")
    recorder.emit(sink("b"), NORMAL, "SuccessfulCreate", "Created Job for an event")
    recorder.emit(sink("a", uid="new"), NORMAL, "SuccessfulCreate", "Created Job for an event")
    job = {"metadata": {"namespace": "ns", "name": "j1", "uid": "1"}}
    recorder.emit(sink("a"), WARNING, "JobFailed", "Job j1 failed", related=job)
    recorder.emit(sink("a"), WARNING, "JobFailed", "Job j1 failed", related=job)
    assert kinds(recorder) == [
        ("a", "JobFailed", 2),
        ("a", "SuccessfulCreate", 1),  # a JobSink of the same name, replaced: another object
        ("a", "SuccessfulCreate", 3),
        ("b", "SuccessfulCreate", 1),
    ]


def test_a_long_note_is_cut_to_what_the_api_takes() -> None:
    recorder = EventRecorder(None, book=SeriesBook())
    recorder.emit(sink("a"), WARNING, "JobFailed", "x" * 5000)
    ((key, _),) = recorder.book.series.items()
    assert len(key[5]) == MAX_NOTE  # type: ignore[index]


def test_recording_never_raises_and_counts_what_bounds_drop() -> None:
    metrics = Metrics()
    recorder = EventRecorder(None, book=SeriesBook(sink_burst=1, sink_rate=0.0), metrics=metrics)
    recorder.emit({"metadata": None}, NORMAL, "X", "y")  # nothing to refer to: logged, no raise
    recorder.emit(sink("a"), WARNING, "JobFailed", "1")
    recorder.emit(sink("a"), WARNING, "JobFailed", "2")
    assert metrics.kube_events.labels("sink_rate")._value.get() == 1


def test_record_is_emit_for_coroutines() -> None:
    recorder = EventRecorder(None, book=SeriesBook())
    asyncio.run(recorder.record(sink("a"), NORMAL, "DeadLetterDelivered", "sent"))
    ((key, _),) = recorder.book.series.items()
    assert key[4] == "DeliverDeadLetter"  # type: ignore[index]


def test_names_and_times_as_the_api_writes_them() -> None:
    assert micro_time(0.5) == "1970-01-01T00:00:00.500000Z"
    name = event_name("job-sink-logger", 1.0)
    assert name.startswith("job-sink-logger.3b9aca00")
    assert len(event_name("x" * 300, 1.0)) < 253
