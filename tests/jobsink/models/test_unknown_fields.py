"""Unknown fields are rejected, never dropped, and the error names their path."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jobsink.models.batch_v1 import Job
from jobsink.types import JobSink

UNKNOWN: dict[str, tuple[dict[str, Any], tuple[str | int, ...]]] = {
    "top level": ({"spex": {}}, ("spex",)),
    "job spec": ({"spec": {"template": {}, "completion": 1}}, ("spec", "completion")),
    "container": (
        {"spec": {"template": {"spec": {"containers": [{"name": "a", "imagee": "b"}]}}}},
        ("spec", "template", "spec", "containers", 0, "imagee"),
    ),
    "second container": (
        {
            "spec": {
                "template": {"spec": {"containers": [{"name": "a"}, {"name": "b", "mem": "1Gi"}]}}
            }
        },
        ("spec", "template", "spec", "containers", 1, "mem"),
    ),
    "probe": (
        {
            "spec": {
                "template": {
                    "spec": {
                        "containers": [
                            {"name": "a", "livenessProbe": {"httpGet": {"port": 80, "url": "/"}}}
                        ]
                    }
                }
            }
        },
        ("spec", "template", "spec", "containers", 0, "livenessProbe", "httpGet", "url"),
    ),
    "wrong case": ({"spec": {"template": {}, "BackoffLimit": 1}}, ("spec", "BackoffLimit")),
}


@pytest.mark.parametrize(("job", "loc"), UNKNOWN.values(), ids=UNKNOWN.keys())
def test_unknown_field_is_rejected_with_its_path(
    job: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Job.model_validate(job)
    errors = caught.value.errors()
    assert [(error["loc"], error["type"]) for error in errors] == [(loc, "extra_forbidden")]


def test_unknown_field_in_a_jobsink_template() -> None:
    sink = {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "spec": {"job": {"metadata": {"name": "fixed"}, "spec": {"template": {}}}},
    }
    with pytest.raises(ValidationError) as caught:
        JobSink.model_validate(sink)
    assert [error["loc"] for error in caught.value.errors()] == [
        ("spec", "job", "metadata", "name")
    ]
