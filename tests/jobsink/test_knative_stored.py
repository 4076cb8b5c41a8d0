"""A JobSink as Knative's webhook stores it validates, and renders the Job ours would render.

Knative's defaulting webhook (``knative.dev/eventing`` v0.50.0) adds ``spec.job.status: {}``,
``spec.job.metadata: {}`` and ``spec.job.spec.template.metadata: {}`` (its Go type embeds a
whole ``batchv1.Job``) and the annotations ``sinks.knative.dev/creator`` and
``sinks.knative.dev/lastModifier``. With Knative's components installed, such objects reach our
receiver and, where our webhook is installed too, our validation.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jobsink.defaults import default
from jobsink.render import render
from jobsink.validation import FieldError, validate
from tests.jobsink.sinks import sink
from tests.jobsink.test_render import curl_event

USER = "system:admin"


def knative_stored(status: Any = None) -> dict[str, Any]:
    """The documentation's shape of JobSink after Knative's defaulting webhook."""
    obj = sink()
    obj["metadata"]["annotations"] = {
        "sinks.knative.dev/creator": USER,
        "sinks.knative.dev/lastModifier": USER,
    }
    job = obj["spec"]["job"]
    job["metadata"] = {}
    job["spec"]["template"]["metadata"] = {}
    job["status"] = {} if status is None else status
    return obj


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        pytest.param({}, [], id="empty-status-accepted"),
        pytest.param(
            {"active": 1},
            [
                FieldError(
                    "spec.job.status",
                    "Forbidden: a Job template has no status; only an empty one ({}, as "
                    "Knative's webhook stores it) is accepted, got object",
                )
            ],
            id="status-with-content-refused",
        ),
        pytest.param(
            "done",
            [
                FieldError(
                    "spec.job.status",
                    "Forbidden: a Job template has no status; only an empty one ({}, as "
                    'Knative\'s webhook stores it) is accepted, got "done"',
                )
            ],
            id="status-not-an-object-refused",
        ),
    ],
)
def test_validation_of_knative_stored_jobsinks(status: Any, expected: list[FieldError]) -> None:
    obj = knative_stored(status)
    assert validate(obj) == expected
    assert validate(default(obj)) == expected


def test_a_refused_status_comes_with_the_other_structural_errors() -> None:
    obj = knative_stored({"active": 1})
    obj["spec"]["job"]["spec"]["completion"] = 1
    assert [e.path for e in validate(obj)] == ["spec.job.status", "spec.job.spec.completion"]


def test_validation_leaves_the_object_alone() -> None:
    obj = knative_stored()
    before = copy.deepcopy(obj)
    validate(obj)
    assert obj == before


def test_the_receiver_renders_a_knative_stored_jobsink_like_ours() -> None:
    event = curl_event()
    stored, plain = render(knative_stored(), event), render(sink(), event)
    assert stored.name == plain.name
    assert "status" not in stored.job
    stored_template = stored.job["spec"]["template"]
    assert stored_template.pop("metadata") == {}
    assert stored.job["spec"] == plain.job["spec"]
    assert stored.secret == plain.secret
