"""The answers: 202 and the event's Location, a batch's results, a refusal, the state of a Job.

Every answer with a body is JSON. An accepted event's 202 has a body only for a client that asks
for JSON by name (``Accept: application/json``): CloudEvents senders such as Knative's Broker
read the body of a 2xx answer as a reply event, and count one that is not an event as a failed
delivery. A refusal's body names the culprit (``attribute``) when there is one; its
status and headers come from ``refusals``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.responses import JSONResponse, Response

from kubeapi.errors import KubeError
from receiver.dataplane import refusals, routes
from receiver.dataplane.deliver import Delivered
from receiver.dataplane.refusals import Failure, Rejection

#: The label by which a Job names the Kueue LocalQueue it is submitted to.
QUEUE_NAME_LABEL = "kueue.x-k8s.io/queue-name"

JOB_STATES = (
    # (condition type, HTTP status, Reason header): first True condition wins, failure first.
    ("Failed", 400, "Failed"),
    ("FailureTarget", 400, "Failed"),
    ("Complete", 200, "Complete"),
    ("SuccessCriteriaMet", 200, "Complete"),
)


class Json(JSONResponse):
    """A JSON answer encoded by orjson: the same bytes as Starlette's ``json.dumps`` (compact,
    UTF-8, the same escapes; ``tests/receiver/test_answer_bytes.py``) in a tenth of the time."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Located(Response):
    """202 with ``Location`` and no body: the bytes of Starlette's
    ``Response(status_code=202, headers={"Location": where})``, its headers made directly (the
    answer to nearly every event)."""

    def __init__(self, where: str) -> None:
        self.status_code = 202
        self.media_type = None
        self.background = None
        self.body = b""
        # A Location is percent-escaped ASCII (``routes.location``).
        self.raw_headers = [(b"location", where.encode("ascii")), (b"content-length", b"0")]


def error_body(
    message: str, attribute: str | None = None, reason: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {"error": message}
    if attribute is not None:
        body["attribute"] = attribute
    if reason is not None:
        body["reason"] = reason
    return body


def failure_body(failure: Failure) -> dict[str, Any]:
    if isinstance(failure, Rejection):
        return error_body(failure.message, failure.attribute, failure.reason)
    if isinstance(failure, KubeError):
        return error_body(f"kubernetes API: {failure}")
    return error_body(str(failure))


def refused(failure: Failure, retry_after: int, *, close: bool = False) -> Json:
    """The refusal's answer; ``close``: part of the request is left unread, so the connection is
    closed after it."""
    headers = refusals.headers_of(failure, retry_after)
    if close:
        headers.update(refusals.CLOSE)
    return Json(failure_body(failure), status_code=refusals.status_of(failure), headers=headers)


def accepted_body(delivered: Delivered, where: str) -> dict[str, Any]:
    accepted = delivered.accepted
    return {
        "namespace": accepted.namespace,
        "job": accepted.name,
        "location": where,
        "outcome": accepted.outcome.value,
    }


def accepted(route: routes.SinkPath, delivered: Delivered, *, detailed: bool) -> Response:
    """202: the Job and Secret of the event exist; its Location reports the Job's state.
    ``detailed``: the client asked for JSON (``wants_json``), and gets the Job's name and the
    outcome in the body; every other client gets an empty body, as Knative's receiver answers."""
    where = delivered.location
    if not detailed:
        return Located(where)
    return Json(accepted_body(delivered, where), status_code=202, headers={"Location": where})


def wants_json(accept: str | None) -> bool:
    """True when an ``Accept`` header names ``application/json`` itself with a quality above 0;
    a wildcard (``*/*``, curl's default, or ``application/*``) does not count."""
    for element in (accept or "").split(","):
        media, *parameters = (part.strip() for part in element.split(";"))
        if media.lower() != "application/json":
            continue
        quality = next((p[2:] for p in parameters if p.lower().startswith("q=")), "1")
        try:
            return float(quality) > 0
        except ValueError:
            return True
    return False


def batch(
    route: routes.SinkPath, outcomes: Sequence[Delivered | Failure], retry_after: int
) -> Json:
    """Every event's own status and body, in order. The whole answer has the most severe status
    of them: a retryable failure first (the sender retries the whole, idempotent batch), then a
    client error, then success."""
    results: list[dict[str, Any]] = []
    for index, outcome in enumerate(outcomes):
        if isinstance(outcome, Delivered):
            status, body = 202, accepted_body(outcome, outcome.location)
        else:
            status, body = refusals.status_of(outcome), failure_body(outcome)
        results.append({**body, "index": index, "status": status})
    worst = max((result["status"] for result in results), key=_severity, default=202)
    headers = {"Retry-After": str(retry_after)} if worst >= 500 else {}
    return Json({"results": results}, status_code=worst, headers=headers)


@dataclass(frozen=True)
class JobState:
    """What ``GET <Location>`` reports of a Job: its HTTP status and state; for a Job held
    suspended, where it waits and why, as far as the Job itself tells."""

    status: int
    state: str
    #: The Kueue LocalQueue a ``Queued`` Job waits in (its ``kueue.x-k8s.io/queue-name`` label).
    queue: str | None = None
    #: Reason and message of the Job's ``Suspended`` condition, once the job controller set it.
    reason: str | None = None
    message: str | None = None

    def details(self) -> dict[str, str]:
        found = {"queue": self.queue, "reason": self.reason, "message": self.message}
        return {key: value for key, value in found.items() if value is not None}


def describe_job(job: dict[str, Any]) -> JobState:
    """The state of a Job, from the Job alone (no Workload is read: one GET, one API call).

    Ended: 200 ``Complete`` or 400 ``Failed`` (the first True condition of ``JOB_STATES``;
    ``FailureTarget`` and ``SuccessCriteriaMet``, Kubernetes 1.31+, are set before the terminal
    ``Failed``/``Complete`` while the Job's pods are being terminated; the outcome is decided then).
    Not ended and ``spec.suspend`` true: 202 ``Queued`` when the Job names a Kueue queue (Kueue
    holds it until its Workload is admitted, and suspends it again if it is preempted), else 202
    ``Suspended`` (held by whoever set the flag). Otherwise 202 ``Running``: Pods may still be
    pending, but nothing holds the Job back.
    """
    status = job.get("status") or {}
    conditions = status.get("conditions") or []
    true_types = {c.get("type") for c in conditions if c.get("status") == "True"}
    for condition, code, state in JOB_STATES:
        if condition in true_types:
            return JobState(code, state)
    if (job.get("spec") or {}).get("suspend") is not True:
        return JobState(202, "Running")
    suspended: dict[str, Any] = next(
        (c for c in conditions if c.get("type") == "Suspended" and c.get("status") == "True"), {}
    )
    queue = ((job.get("metadata") or {}).get("labels") or {}).get(QUEUE_NAME_LABEL)
    return JobState(
        202,
        "Queued" if queue else "Suspended",
        queue=queue or None,
        reason=suspended.get("reason"),
        message=suspended.get("message"),
    )


def job_state(job: dict[str, Any]) -> tuple[int, str]:
    """(HTTP status, state) of a Job; see ``describe_job``."""
    found = describe_job(job)
    return found.status, found.state


def job(route: routes.EventPath, name: str, found: dict[str, Any]) -> Json:
    """The state of an event's Job: its status code, a ``Reason`` header once it has ended, and
    the ``Location`` to poll again while it runs or waits."""
    state = describe_job(found)
    if state.status == 202:
        headers = {"Location": routes.location(route.namespace, route.name, route.source, route.id)}
    else:
        headers = {"Reason": state.state}
    body = {
        "namespace": route.namespace,
        "job": name,
        "state": state.state,
        **state.details(),
        "conditions": (found.get("status") or {}).get("conditions") or [],
    }
    return Json(body, status_code=state.status, headers=headers)


def _severity(status: int) -> int:
    return 3 if status >= 500 or status == 429 else 2 if status >= 400 else 1
