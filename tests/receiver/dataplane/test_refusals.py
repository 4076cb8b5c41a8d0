"""Every failure's status, metric reason and headers: a refusal carries its own, the apiserver's
and the write protocol's trouble earns a Retry-After."""

from __future__ import annotations

import pytest

from kubeapi.errors import KubeError
from receiver.dataplane.refusals import Failure, Rejection, headers_of, reason_of, status_of
from receiver.protocol import Busy, EventConflict

DEFAULT_RETRY_AFTER = 2


@pytest.mark.parametrize(
    ("failure", "status", "reason", "headers"),
    [
        pytest.param(Rejection(400, "bad", "id"), 400, "invalid", {}, id="invalid"),
        pytest.param(Rejection(404, "gone", "jobsink"), 404, "not_found", {}, id="not-found"),
        pytest.param(
            Rejection.method_not_allowed("PUT", ("GET", "HEAD")),
            405,
            "method",
            {"Allow": "GET, HEAD"},
            id="method-carries-allow",
        ),
        pytest.param(
            Rejection.overloaded(7), 429, "overloaded", {"Retry-After": "7"}, id="overloaded"
        ),
        pytest.param(Rejection(413, "big"), 413, "too_large", {}, id="too-large"),
        pytest.param(Rejection(418, "odd"), 418, "invalid", {}, id="unlisted-status"),
        pytest.param(EventConflict("x"), 409, "conflict", {}, id="conflict"),
        pytest.param(Busy(), 503, "job_deleting", {"Retry-After": "2"}, id="busy"),
        pytest.param(
            KubeError(503, "ServiceUnavailable", "x"),
            503,
            "kube_unavailable",
            {"Retry-After": "2"},
            id="kube-unavailable-default",
        ),
        pytest.param(
            KubeError(429, "TooManyRequests", "x", retry_after=4.2),
            503,
            "kube_unavailable",
            {"Retry-After": "5"},
            id="kube-hint-rounded-up",
        ),
        pytest.param(
            KubeError(0, "Timeout", "x", retry_after=0.1),
            503,
            "kube_unavailable",
            {"Retry-After": "2"},
            id="kube-hint-never-below-default",
        ),
        pytest.param(
            KubeError(403, "Forbidden", "x"), 500, "kube_error", {}, id="kube-refusal-is-ours"
        ),
    ],
)
def test_failure_semantics(
    failure: Failure, status: int, reason: str, headers: dict[str, str]
) -> None:
    assert status_of(failure) == status
    assert reason_of(failure) == reason
    assert headers_of(failure, DEFAULT_RETRY_AFTER) == headers
