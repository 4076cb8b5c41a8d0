"""The Event recorder on the real apiserver: like Events aggregate into one Event with a
``series``, each Event has the fields controllers write, and ``kubectl describe jobsink`` shows
them."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from typing import Any

import pytest
from kubernetes import client

from kubeapi.calls import Caller
from kubeapi.events import EventClient
from receiver.metrics import Metrics
from receiver.outcomes.events import NORMAL, REPORTING_CONTROLLER, WARNING, EventRecorder
from receiver.outcomes.series import SeriesBook
from tests.e2e.support import EXAMPLES

pytestmark = pytest.mark.usefixtures("jobsink_crd")

Kubectl = Callable[..., subprocess.CompletedProcess[str]]


def events_of(kubectl: Kubectl, namespace: str) -> list[dict[str, Any]]:
    listed = kubectl("get", "events.v1.events.k8s.io", "-n", namespace, "-o", "json")
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


def test_like_events_make_one_event_with_a_series_and_describe_shows_them(
    api_client: client.ApiClient, kubectl: Kubectl, namespace: str
) -> None:
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "job-sink-logger.yaml"))
    sink = json.loads(
        kubectl("get", "jobsink", "job-sink-logger", "-n", namespace, "-o", "json").stdout
    )
    metrics = Metrics()
    recorder = EventRecorder(
        EventClient(Caller(api_client)),
        instance="receiver-test-0",
        book=SeriesBook(interval=0.0),
        metrics=metrics,
    )
    job = {"metadata": {"namespace": namespace, "name": "job-sink-logger-abc", "uid": "u-1"}}
    for _ in range(500):
        recorder.emit(sink, NORMAL, "SuccessfulCreate", "Created Job for an event")
    recorder.emit(
        sink,
        WARNING,
        "JobFailed",
        "Job job-sink-logger-abc failed: BackoffLimitExceeded",
        related=job,
    )
    assert recorder.flush() == 2
    for _ in range(99):
        recorder.emit(sink, NORMAL, "SuccessfulCreate", "Created Job for an event")
    assert recorder.flush() == 1  # the patch of the series

    events = {e["reason"]: e for e in events_of(kubectl, namespace)}
    assert set(events) == {"SuccessfulCreate", "JobFailed"}
    created, failed = events["SuccessfulCreate"], events["JobFailed"]
    assert created["series"]["count"] == 599
    assert created["type"] == "Normal"
    assert created["action"] == "CreateJob"
    assert created["reportingController"] == REPORTING_CONTROLLER
    assert created["reportingInstance"] == "receiver-test-0"
    regarding = created["regarding"]
    assert (regarding["kind"], regarding["name"], regarding["uid"]) == (
        "JobSink",
        "job-sink-logger",
        sink["metadata"]["uid"],
    )
    assert "series" not in failed
    assert failed["related"]["kind"] == "Job"
    assert failed["related"]["name"] == "job-sink-logger-abc"

    described = kubectl("describe", "jobsink", "job-sink-logger", "-n", namespace).stdout
    events_part = described[described.index("Events:") :]
    assert "SuccessfulCreate" in events_part
    assert "JobFailed" in events_part
    assert "Created Job for an event" in events_part
    assert REPORTING_CONTROLLER in events_part


def test_a_refused_event_write_is_counted_and_never_raises(
    api_client: client.ApiClient, namespace: str
) -> None:
    metrics = Metrics()
    recorder = EventRecorder(EventClient(Caller(api_client)), metrics=metrics)
    # a name the apiserver refuses for an Event's namespace: the write fails, nothing raises
    recorder.emit(
        {"kind": "JobSink", "namespace": "no-such-namespace-xyz", "name": "s"}, NORMAL, "X", "y"
    )
    assert recorder.flush() == 1
    assert metrics.kube_events.labels("write_failed")._value.get() == 1
