"""A Job's end: read from its conditions, told once per Job (across watch replays and re-lists),
counted per JobSink and said in an Event."""

from __future__ import annotations

from typing import Any, cast

import pytest

from receiver.metrics import Metrics
from receiver.outcomes.events import EventRecorder
from receiver.outcomes.jobs import Ended, EndedJobs, JobOutcomes, ended, jobsink_of, timestamp
from receiver.outcomes.series import SeriesBook
from tests.kubeapi.fake_source import FakeListWatch, wait_for

CREATED = "2026-01-01T00:00:00Z"


def job(
    uid: str = "u1",
    conditions: list[dict[str, Any]] | None = None,
    completion: str | None = None,
    name: str = "sink-abc",
) -> dict[str, Any]:
    status: dict[str, Any] = {"conditions": conditions or []}
    if completion:
        status["completionTime"] = completion
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "uid": uid,
            "creationTimestamp": CREATED,
            "labels": {"sinks.knative.dev/job-sink-name": "sink"},
            "ownerReferences": [
                {
                    "apiVersion": "sinks.knative.dev/v1alpha1",
                    "kind": "JobSink",
                    "name": "sink",
                    "uid": "sink-uid",
                    "controller": True,
                }
            ],
        },
        "status": status,
    }


def cond(kind: str, at: str = "2026-01-01T00:01:00Z", **extra: str) -> dict[str, Any]:
    return {"type": kind, "status": "True", "lastTransitionTime": at, **extra}


@pytest.mark.parametrize(
    ("conditions", "completion", "expected"),
    [
        ([], None, None),
        ([cond("SuccessCriteriaMet")], None, None),  # not the end yet
        ([cond("FailureTarget")], None, None),
        ([{**cond("Complete"), "status": "False"}], None, None),
        ([cond("Complete")], "2026-01-01T00:00:42Z", (True, 42.0, "")),
        ([cond("Complete")], None, (True, 60.0, "")),  # no completionTime: the condition's time
        (
            [cond("FailureTarget"), cond("Failed", reason="BackoffLimitExceeded")],
            None,
            (False, 60.0, "BackoffLimitExceeded"),
        ),
        ([cond("Failed", at="2026-01-01T02:00:00Z")], None, (False, 7200.0, "")),
    ],
)
def test_ended(
    conditions: list[dict[str, Any]],
    completion: str | None,
    expected: tuple[bool, float, str] | None,
) -> None:
    end = ended(job(conditions=conditions, completion=completion))
    if expected is None:
        assert end is None
        return
    assert end is not None
    assert (end.succeeded, end.seconds, end.reason) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [(CREATED, 1767225600.0), ("2026-01-01T00:00:00.5Z", 1767225600.5), ("", None), (None, None),
     ("yesterday", None)],
)  # fmt: skip
def test_timestamp(value: object, expected: float | None) -> None:
    assert timestamp(value) == expected


def test_jobsink_of_prefers_the_controller_owner_then_the_label() -> None:
    owned = job()
    assert jobsink_of(owned) == {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "namespace": "ns",
        "name": "sink",
        "uid": "sink-uid",
    }
    owned["metadata"]["ownerReferences"] = []
    assert jobsink_of(owned) == {"kind": "JobSink", "namespace": "ns", "name": "sink"}
    owned["metadata"]["labels"] = {}
    assert jobsink_of(owned) is None


FAILED = [cond("Failed", reason="BackoffLimitExceeded")]
DONE = [cond("Complete")]
SINCE = timestamp("2026-01-01T00:00:30Z") or 0.0


@pytest.mark.parametrize(
    ("steps", "told"),
    [
        # a watch replaying the same ended Job tells it once
        ([("put", job("a", DONE)), ("put", job("a", DONE))], ["a"]),
        # a running Job is told when it ends
        ([("put", job("a")), ("put", job("a", FAILED))], ["a"]),
        # a re-list of Jobs told already tells nothing
        ([("put", job("a", DONE)), ("replace", [job("a", DONE), job("b", FAILED)])], ["a", "b"]),
        # the first list after taking the Lease: only ends after `since`
        ([("replace", [job("old", [cond("Complete", at="2026-01-01T00:00:10Z")]),
                       job("new", DONE)])], ["new"]),
        # deleted as it ended, never seen ended before
        ([("put", job("a")), ("remove", job("a", FAILED))], ["a"]),
        # deleted after it was told
        ([("put", job("a", FAILED)), ("remove", job("a", FAILED))], ["a"]),
    ],
)  # fmt: skip
def test_each_end_is_told_once(steps: list[tuple[str, Any]], told: list[str]) -> None:
    seen: list[str] = []
    store = EndedJobs(SINCE, lambda j, _: seen.append(j["metadata"]["uid"]))
    for operation, argument in steps:
        getattr(store, operation)(argument)
    assert seen == told


def test_a_list_that_fails_halfway_does_not_tell_twice() -> None:
    seen: list[str] = []
    store = EndedJobs(SINCE, lambda j, _: seen.append(j["metadata"]["uid"]))

    def failing() -> Any:
        yield job("a", DONE)
        raise ConnectionError("page 2")

    with pytest.raises(ConnectionError):
        store.replace(failing())
    store.replace([job("a", DONE), job("b", DONE)])
    assert seen == ["a", "b"]


def test_tell_counts_per_jobsink_and_records_events() -> None:
    metrics = Metrics()
    recorder = EventRecorder(None, metrics=metrics, book=SeriesBook())
    outcomes = JobOutcomes(None, recorder, metrics=metrics)  # type: ignore[arg-type]
    for uid in ("a", "b"):
        done = job(uid, DONE, completion="2026-01-01T00:00:42Z")
        outcomes.tell(done, ended(done))  # type: ignore[arg-type]
    failed = job("c", FAILED, name="sink-c")
    outcomes.tell(failed, ended(failed))  # type: ignore[arg-type]
    assert metrics.sink_jobs_succeeded.labels("ns", "sink")._value.get() == 2
    assert metrics.sink_jobs_failed.labels("ns", "sink")._value.get() == 1
    duration = metrics.registry.get_sample_value(
        "jobsink_sink_job_duration_seconds_sum",
        {"namespace": "ns", "jobsink": "sink", "outcome": "succeeded"},
    )
    assert duration == 84.0
    kinds = sorted((cast(tuple[Any, ...], k)[3], s.count) for k, s in recorder.book.series.items())
    assert kinds == [("Completed", 2), ("JobFailed", 1)]


def test_sink_labels_are_bounded() -> None:
    metrics = Metrics()
    pairs = {metrics.sink("ns", f"s{i}") for i in range(1500)}
    assert len(pairs) == 1001
    assert ("_other", "_other") in pairs
    assert metrics.sink("ns", "s1") == ("ns", "s1")


def test_ended_seconds_never_negative() -> None:
    assert Ended(True, started=10.0, finished=5.0, reason="", message="").seconds == 0.0


def with_rv(job_: dict[str, Any], rv: int) -> dict[str, Any]:
    job_["metadata"]["resourceVersion"] = str(rv)
    return job_


def test_only_the_lease_holder_watches_and_it_tells_ends_while_it_leads() -> None:
    """With a FAKE list/watch: the grace cut-off at taking the Lease needs Jobs that ended at
    chosen times, which the real apiserver does not write on demand."""
    recent = with_rv(job("recent", [cond("Failed", at="2026-01-01T00:00:55Z")], name="r"), 1)
    old = with_rv(job("old", [cond("Complete", at="2026-01-01T00:00:10Z")], name="o"), 2)
    source = FakeListWatch(recent, old, with_rv(job("running", name="run"), 3))
    metrics = Metrics()
    outcomes = JobOutcomes(
        None,  # type: ignore[arg-type]
        EventRecorder(None, metrics=metrics),
        metrics=metrics,
        grace=15.0,
        source=source,
        wall=lambda: timestamp("2026-01-01T00:01:00Z") or 0.0,
    )
    failed = metrics.sink_jobs_failed.labels("ns", "sink")
    succeeded = metrics.sink_jobs_succeeded.labels("ns", "sink")
    outcomes.leadership_changed(False)  # not leading: nothing watched
    assert source.lists == 0
    outcomes.leadership_changed(True)
    wait_for(lambda: failed._value.get() == 1, "the Job that ended within the grace is told")
    assert succeeded._value.get() == 0  # ended before the Lease was taken, less the grace
    source.send("MODIFIED", with_rv(job("running", DONE, name="run"), 4))
    wait_for(lambda: succeeded._value.get() == 1, "the Job that ends while watched is told")
    outcomes.leadership_changed(False)
    source.send("MODIFIED", with_rv(job("late", FAILED, name="l"), 5))
    outcomes.stop()
    assert failed._value.get() == 1
