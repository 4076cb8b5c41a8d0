"""Every way a request or one of its events fails, and what each failure promises the sender.

Senders retry 5xx and 429 and give up on other 4xx, so every status here is a promise: 4xx only
when the request itself is wrong, 503 + Retry-After when trying again will work.
"""

from __future__ import annotations

from dataclasses import dataclass

from kubeapi.errors import KubeError
from receiver.protocol import Busy, EventConflict

Headers = tuple[tuple[str, str], ...]

CLOSE: Headers = (("Connection", "close"),)
"""Sent with a refusal that leaves part of the request unread: the connection is closed after it."""


@dataclass(frozen=True)
class Rejection(Exception):
    """The request (or one event of a batch) is refused before anything is written.

    ``attribute`` names the culprit for the sender (a CloudEvents attribute, ``body``, ``path``...);
    ``headers`` go out with the answer: ``Allow`` with a 405, ``Retry-After`` with a 429 or 503,
    ``Connection: close`` when part of the request is left unread, ``WWW-Authenticate`` with a
    401. ``reason``, when given, is a stable word for programs (``expired``, ``wrong_audience``).
    """

    status: int
    message: str
    attribute: str | None = None
    headers: Headers = ()
    reason: str | None = None

    def __str__(self) -> str:
        return self.message

    @classmethod
    def method_not_allowed(cls, method: str, allowed: tuple[str, ...]) -> Rejection:
        allow = ", ".join(allowed)
        return cls(405, f"method {method} not allowed here", headers=(("Allow", allow),))

    @classmethod
    def overloaded(cls, retry_after: int) -> Rejection:
        return cls(
            429,
            "too many requests in flight; retry shortly",
            headers=(("Retry-After", str(retry_after)),),
        )

    @classmethod
    def out_of_body_budget(cls, retry_after: int) -> Rejection:
        return cls(
            503,
            "too many request bodies arriving at once; retry shortly",
            headers=(("Retry-After", str(retry_after)), *CLOSE),
        )


Failure = Rejection | KubeError | EventConflict | Busy
FAILURES = (Rejection, KubeError, EventConflict, Busy)
"""The failures answered with their own status; anything else is a 500."""

_REASONS = {
    400: "invalid",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method",
    408: "body_timeout",
    413: "too_large",
    415: "unsupported_format",
    429: "overloaded",
    503: "body_budget",
}


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


_WAITING_FOR_AUTHENTICATION = frozenset({"audience_not_published", "keys_unavailable"})
"""Refusal reasons of a 503 that only waits for authentication to be ready (not a body budget)."""


def reason_of(failure: Failure) -> str:
    """The ``reason`` label of the rejected-events counter."""
    if isinstance(failure, Rejection):
        if failure.reason in _WAITING_FOR_AUTHENTICATION:
            return "authentication_not_ready"
        if failure.reason == "policies_not_loaded":
            return "authorization_not_ready"
        return _REASONS.get(failure.status, "invalid")
    if isinstance(failure, EventConflict):
        return "conflict"
    if isinstance(failure, Busy):
        return "job_deleting"
    return "kube_unavailable" if failure.retryable else "kube_error"


def headers_of(failure: Failure, retry_after: int) -> dict[str, str]:
    """The answer's headers: a refusal's own, or ``Retry-After`` when retrying will work
    (the apiserver's or the protocol's hint when it has one, never less than ``retry_after``)."""
    if isinstance(failure, Rejection):
        return dict(failure.headers)
    if isinstance(failure, Busy):
        return {"Retry-After": str(failure.retry_after)}
    if isinstance(failure, KubeError) and failure.retryable:
        hint = failure.retry_after
        seconds = retry_after if hint is None else max(retry_after, int(hint + 0.999))
        return {"Retry-After": str(seconds)}
    return {}
