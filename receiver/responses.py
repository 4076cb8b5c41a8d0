"""Response bodies and the mapping from failures to HTTP status codes.

Senders retry 5xx and 429 and give up on other 4xx, so every code here is a promise:
4xx only when the request itself is wrong, 503 + Retry-After when trying again will work.
"""

from __future__ import annotations

from typing import Any

from fastapi.responses import JSONResponse

from kubeapi.errors import KubeError
from receiver.protocol import Accepted, Busy, EventConflict
from receiver.wire import Rejection

Failure = Rejection | KubeError | EventConflict | Busy


def error_body(message: str, attribute: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if attribute is not None:
        body["attribute"] = attribute
    return body


def status_of(failure: Failure) -> int:
    if isinstance(failure, Rejection):
        return failure.status
    if isinstance(failure, EventConflict):
        return 409
    if isinstance(failure, Busy):
        return 503
    # The apiserver's own 4xx on our write (403 RBAC, 422 a JobSink the webhook never checked)
    # is not the sender's fault and can be fixed: 500, so the sender keeps the event and retries.
    return 503 if failure.retryable else 500


def reason_of(failure: Failure) -> str:
    """The ``reason`` label of the rejected-events counter."""
    if isinstance(failure, Rejection):
        return {
            400: "invalid",
            404: "not_found",
            405: "method",
            408: "body_timeout",
            413: "too_large",
            415: "unsupported_format",
            429: "overloaded",
        }.get(failure.status, "invalid")
    if isinstance(failure, EventConflict):
        return "conflict"
    if isinstance(failure, Busy):
        return "job_deleting"
    return "kube_unavailable" if failure.retryable else "kube_error"


def failure_body(failure: Failure) -> dict[str, Any]:
    attribute = failure.attribute if isinstance(failure, Rejection) else None
    message = str(failure)
    if isinstance(failure, KubeError):
        message = f"kubernetes API: {failure}"
    return error_body(message, attribute)


def retry_after_of(failure: Failure, default: int) -> int | None:
    status = status_of(failure)
    if status not in (429, 503):
        return None
    if isinstance(failure, Busy):
        return failure.retry_after
    if isinstance(failure, KubeError) and failure.retry_after is not None:
        return max(default, int(failure.retry_after + 0.999))
    return default


def failure_response(failure: Failure, retry_after: int) -> JSONResponse:
    headers = {}
    seconds = retry_after_of(failure, retry_after)
    if seconds is not None:
        headers["Retry-After"] = str(seconds)
    if isinstance(failure, Rejection) and failure.status == 405:
        headers["Allow"] = failure.attribute or ""
        return JSONResponse(error_body(failure.message), status_code=405, headers=headers)
    return JSONResponse(failure_body(failure), status_code=status_of(failure), headers=headers)


def accepted_body(accepted: Accepted, location: str) -> dict[str, Any]:
    return {
        "namespace": accepted.namespace,
        "job": accepted.name,
        "location": location,
        "outcome": accepted.outcome.value,
    }


JOB_STATES = (
    # (condition type, HTTP status, Reason header): first True condition wins, failure first.
    ("Failed", 400, "Failed"),
    ("FailureTarget", 400, "Failed"),
    ("Complete", 200, "Complete"),
    ("SuccessCriteriaMet", 200, "Complete"),
)


def job_state(job: dict[str, Any]) -> tuple[int, str]:
    """(HTTP status, state) of a Job: 200 Complete, 400 Failed or 202 Running.

    ``FailureTarget`` and ``SuccessCriteriaMet`` (Kubernetes 1.31+) are set before the terminal
    ``Failed``/``Complete`` while the Job's pods are being terminated; the outcome is decided then.
    """
    conditions = (job.get("status") or {}).get("conditions") or []
    true_types = {c.get("type") for c in conditions if c.get("status") == "True"}
    for condition, status, state in JOB_STATES:
        if condition in true_types:
            return status, state
    return 202, "Running"
