"""One-line descriptions of failed Kubernetes calls."""

from __future__ import annotations

import json

import pytest
from kubernetes.client.exceptions import ApiException

from kubeapi.errors import KubeError
from kubeapi.messages import one_line


def with_body(status: int, reason: str, body: str | None) -> ApiException:
    error = ApiException(status=status, reason=reason)
    error.body = body
    return error


@pytest.mark.parametrize(
    ("error", "line"),
    [
        pytest.param(
            with_body(404, "Not Found", json.dumps({"message": 'namespaces "x" not found'})),
            'HTTP 404: namespaces "x" not found',
            id="status-body",
        ),
        pytest.param(with_body(503, "Unavailable", None), "HTTP 503: Unavailable", id="no-body"),
        pytest.param(with_body(500, "Oops", "<html>"), "HTTP 500: Oops", id="not-json"),
        pytest.param(with_body(500, "Oops", "[1]"), "HTTP 500: Oops", id="json-not-object"),
        pytest.param(
            KubeError(404, "NotFound", 'namespaces "x" not found'),
            'HTTP 404: namespaces "x" not found',
            id="kube-error",
        ),
        pytest.param(KubeError(503, "Unavailable", ""), "HTTP 503: Unavailable", id="kube-no-msg"),
        pytest.param(
            KubeError(0, "MaxRetryError", "GET /x: refused"),
            "no answer MaxRetryError: GET /x: refused",
            id="kube-no-answer",
        ),
        pytest.param(
            ConnectionRefusedError("refused"), "ConnectionRefusedError: refused", id="network"
        ),
    ],
)
def test_one_line(error: BaseException, line: str) -> None:
    assert one_line(error) == line
