"""The state model of ``GET <Location>``, from the Job alone: a table of Jobs and their states."""

from __future__ import annotations

from typing import Any

import pytest

from receiver.dataplane.answers import QUEUE_NAME_LABEL, JobState, describe_job, job_state

KUEUE_SUSPENDED = {
    "type": "Suspended",
    "status": "True",
    "reason": "JobSuspended",
    "message": "Job suspended",
}
RESUMED = {"type": "Suspended", "status": "False", "reason": "JobResumed", "message": "Job resumed"}


def _job(
    *,
    suspend: bool | None = None,
    queue: str | None = None,
    conditions: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    job: dict[str, Any] = {"metadata": {"name": "j", "labels": {}}, "spec": {}, "status": {}}
    if suspend is not None:
        job["spec"]["suspend"] = suspend
    if queue is not None:
        job["metadata"]["labels"][QUEUE_NAME_LABEL] = queue
    if conditions is not None:
        job["status"]["conditions"] = conditions
    return job


def _true(kind: str) -> dict[str, str]:
    return {"type": kind, "status": "True"}


@pytest.mark.parametrize(
    ("job", "expected"),
    [
        pytest.param(_job(), JobState(202, "Running"), id="new"),
        pytest.param(_job(suspend=False, queue="q"), JobState(202, "Running"), id="admitted"),
        pytest.param(
            _job(suspend=False, queue="q", conditions=[RESUMED]),
            JobState(202, "Running"),
            id="admitted-and-resumed",
        ),
        pytest.param(
            _job(suspend=True, queue="q"),
            JobState(202, "Queued", queue="q"),
            id="queued-before-the-job-controller-saw-it",
        ),
        pytest.param(
            _job(suspend=True, queue="q", conditions=[KUEUE_SUSPENDED]),
            JobState(202, "Queued", queue="q", reason="JobSuspended", message="Job suspended"),
            id="queued",
        ),
        pytest.param(
            _job(suspend=True, queue="q", conditions=[RESUMED]),
            JobState(202, "Queued", queue="q"),
            id="preempted-back-into-the-queue",
        ),
        pytest.param(
            _job(suspend=True, conditions=[KUEUE_SUSPENDED]),
            JobState(202, "Suspended", reason="JobSuspended", message="Job suspended"),
            id="suspended-without-a-queue",
        ),
        pytest.param(
            _job(suspend=True, queue=""), JobState(202, "Suspended"), id="empty-queue-name"
        ),
        pytest.param(
            _job(conditions=[KUEUE_SUSPENDED]),
            JobState(202, "Running"),
            id="condition-left-from-before-a-resume",
        ),
        pytest.param(
            _job(suspend=True, queue="q", conditions=[KUEUE_SUSPENDED, _true("Complete")]),
            JobState(200, "Complete"),
            id="complete-wins",
        ),
        pytest.param(
            _job(suspend=True, queue="q", conditions=[_true("FailureTarget")]),
            JobState(400, "Failed"),
            id="failure-target-wins",
        ),
        pytest.param(
            _job(conditions=[_true("SuccessCriteriaMet")]), JobState(200, "Complete"), id="success"
        ),
        pytest.param(
            _job(conditions=[_true("Complete"), _true("Failed")]),
            JobState(400, "Failed"),
            id="failure-first",
        ),
        pytest.param(
            {"metadata": None, "spec": None, "status": None},
            JobState(202, "Running"),
            id="nulls",
        ),
    ],
)
def test_the_state_of_a_job(job: dict[str, Any], expected: JobState) -> None:
    assert describe_job(job) == expected
    assert job_state(job) == (expected.status, expected.state)


@pytest.mark.parametrize(
    ("state", "details"),
    [
        pytest.param(JobState(202, "Running"), {}, id="running"),
        pytest.param(JobState(202, "Queued", queue="q"), {"queue": "q"}, id="queued"),
        pytest.param(
            JobState(202, "Suspended", reason="JobSuspended", message="Job suspended"),
            {"reason": "JobSuspended", "message": "Job suspended"},
            id="suspended",
        ),
    ],
)
def test_only_known_details_are_reported(state: JobState, details: dict[str, str]) -> None:
    assert state.details() == details
