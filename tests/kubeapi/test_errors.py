"""The one mapping from an apiserver answer to an error class, with the ``Status`` kept."""

from __future__ import annotations

from typing import Any

import pytest

from kubeapi import errors
from kubeapi.errors import Cause, Details, KubeError, from_status, no_answer
from kubeapi.raw import Answer

INVALID: dict[str, Any] = {
    "kind": "Status",
    "status": "Failure",
    "message": 'Job.batch "x" is invalid: [spec.completions: ..., spec.template...]',
    "reason": "Invalid",
    "details": {
        "name": "x",
        "group": "batch",
        "kind": "Job",
        "causes": [
            {
                "reason": "FieldValueInvalid",
                "message": "Invalid value: -1: must be greater than or equal to 0",
                "field": "spec.completions",
            },
            {"message": "a cause that names no field"},
        ],
    },
    "code": 422,
}


def status(code: int, reason: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "Status", "code": code, "reason": reason, "message": "m", **extra}


@pytest.mark.parametrize(
    ("code", "reason", "error", "retryable"),
    [
        (400, "BadRequest", errors.BadRequest, False),
        (401, "Unauthorized", errors.Unauthorized, False),
        (403, "Forbidden", errors.Forbidden, False),
        (404, "NotFound", errors.NotFound, False),
        (409, "AlreadyExists", errors.AlreadyExists, False),
        (409, "Conflict", errors.Conflict, False),
        (409, "", errors.Conflict, False),
        (410, "Expired", errors.Gone, False),
        (422, "Invalid", errors.Invalid, False),
        (429, "TooManyRequests", errors.TooManyRequests, True),
        (500, "InternalError", errors.ServerError, True),
        (503, "ServiceUnavailable", errors.ServerError, True),
        (504, "Timeout", errors.ServerError, True),
        (501, "NotImplemented", errors.ServerError, False),
        (405, "MethodNotAllowed", KubeError, False),
        (413, "RequestEntityTooLarge", KubeError, False),
    ],
)
def test_each_answer_maps_to_one_class(
    code: int, reason: str, error: type[KubeError], retryable: bool
) -> None:
    mapped = from_status(code, status(code, reason))
    assert type(mapped) is error
    assert (mapped.status, mapped.reason, mapped.message) == (code, reason, "m")
    assert mapped.retryable is retryable


def test_already_exists_is_a_conflict() -> None:
    assert isinstance(from_status(409, status(409, "AlreadyExists")), errors.Conflict)


def test_causes_are_kept_in_order() -> None:
    mapped = from_status(422, INVALID)
    assert isinstance(mapped, errors.Invalid)
    assert mapped.details == Details(
        name="x",
        group="batch",
        kind="Job",
        causes=(
            Cause(
                "spec.completions",
                "FieldValueInvalid",
                "Invalid value: -1: must be greater than or equal to 0",
            ),
            Cause("", "", "a cause that names no field"),
        ),
    )
    assert mapped.causes == mapped.details.causes


@pytest.mark.parametrize(
    ("details", "header", "expected"),
    [
        pytest.param({}, None, None, id="neither"),
        pytest.param({"retryAfterSeconds": 3}, None, 3.0, id="details"),
        pytest.param({"retryAfterSeconds": 3}, 7.0, 7.0, id="header-wins"),
        pytest.param({"retryAfterSeconds": -1}, None, None, id="negative-ignored"),
        pytest.param({"retryAfterSeconds": "3"}, None, None, id="not-a-number-ignored"),
    ],
)
def test_retry_after(details: dict[str, Any], header: float | None, expected: float | None) -> None:
    mapped = from_status(429, status(429, "TooManyRequests", details=details), retry_after=header)
    assert mapped.retry_after == expected


@pytest.mark.parametrize(
    ("body", "http_reason", "reason", "message"),
    [
        pytest.param({}, "Bad Gateway", "Bad Gateway", "", id="empty-body"),
        pytest.param({"reason": 5, "message": ["x"]}, "", "", "", id="wrong-types"),
        pytest.param({"message": "x" * 5000}, "", "", "x" * 1000, id="long-message-cut"),
        pytest.param(
            {"details": {"causes": ["not-a-cause", {"field": 3}]}}, "", "", "", id="bad-causes"
        ),
    ],
)
def test_bodies_that_are_not_a_clean_status(
    body: dict[str, Any], http_reason: str, reason: str, message: str
) -> None:
    mapped = from_status(502, body, http_reason=http_reason)
    assert isinstance(mapped, errors.ServerError)
    assert (mapped.reason, mapped.message) == (reason, message)


def test_an_html_answer_becomes_the_message() -> None:
    answer = Answer(502, "Bad Gateway", b"<html>proxy error</html>", None)
    mapped = answer.error()
    assert isinstance(mapped, errors.ServerError)
    assert mapped.message == "<html>proxy error</html>"
    assert mapped.reason == "Bad Gateway"


def test_no_answer() -> None:
    mapped = no_answer("MaxRetryError", "GET /x: refused")
    assert isinstance(mapped, errors.NoAnswer)
    assert mapped.status == 0
    assert mapped.retryable
    assert str(mapped) == "no answer MaxRetryError: GET /x: refused"
