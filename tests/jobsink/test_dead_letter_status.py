"""The status of a JobSink with a dead-letter sink: DeadLetterSinkResolved and Knative's inline
DeliveryStatus fields, beside an unchanged Ready."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobsink.destinations import Resolution
from jobsink.lifecycle import Addressing, desired_status, status_patch
from jobsink.types import JobSinkStatus
from tests.jobsink.sinks import sink as template_sink

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
ADDRESSING = Addressing.for_service()
DLS = {"ref": {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": "dls"}}


def sink(destination: dict[str, Any] | None = DLS) -> dict[str, Any]:
    obj = template_sink()
    obj["metadata"] = {"name": "failing", "namespace": "team", "generation": 1}
    if destination is not None:
        obj["spec"]["delivery"] = {"deadLetterSink": destination}
    return obj


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


@pytest.mark.parametrize(
    ("resolution", "status", "reason", "fields"),
    [
        (
            Resolution(url="http://r/team/dls", ca_certs="PEM"),
            "True",
            None,
            {"deadLetterSinkUri": "http://r/team/dls", "deadLetterSinkCACerts": "PEM"},
        ),
        (Resolution.failed("NotFound", "JobSink team/dls does not exist"), "False", "NotFound", {}),
        (Resolution.failed("NoAddress", "no status.address.url"), "False", "NoAddress", {}),
        (None, "Unknown", None, {}),
    ],
)
def test_dead_letter_sink_resolved(
    resolution: Resolution | None, status: str, reason: str | None, fields: dict[str, str]
) -> None:
    desired = desired_status(sink(), ADDRESSING, NOW, (), resolution)
    found = conditions(desired)
    assert found["DeadLetterSinkResolved"]["status"] == status
    assert found["DeadLetterSinkResolved"].get("reason") == reason
    assert found["Ready"]["status"] == "True"  # whatever the dead-letter sink does
    assert {k: v for k, v in desired.items() if k.startswith("deadLetter")} == fields
    JobSinkStatus.model_validate(desired)  # the CRD's schema keeps every field


def test_no_dead_letter_sink_no_condition() -> None:
    desired = desired_status(sink(None), ADDRESSING, NOW)
    assert set(conditions(desired)) == {"Addressable", "Ready"}


def test_removing_the_dead_letter_sink_removes_what_it_published() -> None:
    stored = sink()
    stored["status"] = desired_status(stored, ADDRESSING, NOW, (), Resolution(url="http://r/x"))
    del stored["spec"]["delivery"]
    patch = status_patch(stored, ADDRESSING, NOW + timedelta(minutes=1))
    assert patch["deadLetterSinkUri"] is None
    assert [c["type"] for c in patch["conditions"]] == ["Addressable", "Ready"]


def test_a_resolved_sink_is_not_rewritten() -> None:
    stored = sink()
    resolved = Resolution(url="http://r/team/dls")
    stored["status"] = desired_status(stored, ADDRESSING, NOW, (), resolved)
    assert status_patch(stored, ADDRESSING, NOW + timedelta(hours=1), (), resolved) == {}
