"""Validating a wire object and dumping it again gives back exactly the same object."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jobsink.models.batch_v1 import Job
from tests.jobsink.models.corpus import JOBS


@pytest.mark.parametrize("job", JOBS.values(), ids=JOBS.keys())
def test_round_trip_is_exact(job: dict[str, Any]) -> None:
    dumped = Job.model_validate(job).model_dump(mode="json", exclude_unset=True)
    assert dumped == job
    # Equal as JSON text too: numbers keep their type (0.25 stays a float, 8080 an int).
    assert json.dumps(dumped, sort_keys=True) == json.dumps(job, sort_keys=True)


@pytest.mark.parametrize("job", JOBS.values(), ids=JOBS.keys())
def test_round_trip_through_json_text(job: dict[str, Any]) -> None:
    text = json.dumps(job)
    assert json.loads(Job.model_validate_json(text).model_dump_json(exclude_unset=True)) == job


def test_explicit_null_round_trips_as_null() -> None:
    job = {"spec": {"suspend": None, "template": {"spec": None}}}
    assert Job.model_validate(job).model_dump(mode="json", exclude_unset=True) == job


def test_values_are_kept_as_given() -> None:
    job = Job.model_validate(JOBS["probes-and-quantities"])
    assert job.spec is not None
    assert job.spec.template.spec is not None
    container = job.spec.template.spec.containers[0]
    assert container.resources is not None
    assert container.resources.limits is not None
    assert container.resources.requests is not None
    assert container.resources.requests["cpu"] == 0.25
    assert container.resources.requests["ephemeral-storage"] == "1e3"
    assert container.resources.limits["cpu"] == "500m"
    assert container.readinessProbe is not None
    assert container.readinessProbe.httpGet is not None
    assert container.readinessProbe.httpGet.port == "http"
