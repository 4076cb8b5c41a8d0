"""Every answer the receiver gives, judged by Knative's dispatcher: what it retries and what it
takes as final.

Knative's senders (the broker filter, the channel dispatchers, the sources' adapters) decide
with ``SelectiveRetry`` in ``knative.dev/eventing``'s ``pkg/kncloudevents/retries.go``: a
connection error, 404, 408, 409, 429 and every 5xx are retried; any other status is final, so a
400 loses the event (or sends it to the dead-letter sink) at once. A condition of ours that
passes by itself must therefore never be answered 400, nor any other status Knative gives up on.
"""

from __future__ import annotations

import pytest

from kubeapi.errors import RETRY_STATUSES, KubeError
from receiver.dataplane.authenticate import published_audience
from receiver.dataplane.refusals import Failure, Rejection, status_of
from receiver.protocol import Busy, EventConflict

RETRY_AFTER = 2


def knative_retries(status: int) -> bool:
    """``SelectiveRetry``'s decision for an HTTP answer."""
    return status >= 500 or status in (404, 408, 409, 429)


def _refusal(raise_it: object) -> Rejection:
    assert callable(raise_it)
    with pytest.raises(Rejection) as refused:
        raise_it()
    return refused.value


TRANSIENT: list[tuple[str, Failure]] = [
    ("in-flight limit full", Rejection.overloaded(RETRY_AFTER)),
    ("request bodies over their budget", Rejection.out_of_body_budget(RETRY_AFTER)),
    (
        "JobSink's audience not published yet",
        _refusal(lambda: published_audience({"metadata": {"name": "s"}}, RETRY_AFTER)),
    ),
    ("Job of this event being deleted", Busy()),
    *(
        (f"apiserver answered {status}", KubeError(status, "x", "the apiserver's trouble"))
        for status in sorted(RETRY_STATUSES)
    ),
    ("apiserver unreachable", KubeError(0, "Timeout", "no answer")),
    # An admission webhook of the cluster failing closed on our Secret or Job write (the
    # apiserver answers 500 InternalError: "failed calling webhook ...").
    ("a failing admission webhook", KubeError(500, "InternalError", "failed calling webhook")),
    # RBAC being granted, or a JobSink the webhook never checked: ours to fix, not the sender's.
    ("apiserver refused our write (403)", KubeError(403, "Forbidden", "RBAC")),
    ("apiserver refused our write (422)", KubeError(422, "Invalid", "a JobSink never checked")),
    # The JobSink is not yet in this replica's cache, or not yet created.
    ("JobSink not found", Rejection(404, "JobSink ns/s not found", "jobsink")),
    ("body not complete in time", Rejection(408, "body not complete")),
]

FINAL: list[tuple[str, Failure]] = [
    ("a malformed event", Rejection(400, "id: missing", "id")),
    ("no token", Rejection(401, "authentication required")),
    ("an EventPolicy refuses the sender", Rejection(403, "forbidden")),
    ("a method other than POST", Rejection.method_not_allowed("PUT", ("POST",))),
    ("larger than a Secret holds", Rejection(413, "too large")),
    ("a content type that is no CloudEvent", Rejection(415, "unsupported")),
]


@pytest.mark.parametrize(("condition", "failure"), TRANSIENT, ids=[c for c, _ in TRANSIENT])
def test_knative_retries_every_condition_that_passes(condition: str, failure: Failure) -> None:
    status = status_of(failure)
    assert status != 400, condition
    assert knative_retries(status), f"{condition}: {status} is final for Knative"


@pytest.mark.parametrize(("condition", "failure"), FINAL, ids=[c for c, _ in FINAL])
def test_knative_gives_up_on_what_only_the_sender_can_fix(condition: str, failure: Failure) -> None:
    assert not knative_retries(status_of(failure)), condition


def test_a_clash_of_job_names_is_retried_by_knative_though_it_cannot_pass() -> None:
    """A Job of this event's name that another event made (only by hand: the name is 130 bits
    of SHA-256) is 409, which Knative retries until its retries run out, then dead-letters."""
    assert knative_retries(status_of(EventConflict("taken")))
