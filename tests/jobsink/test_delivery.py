"""spec.delivery: durations, the retry schedule, validation with field paths, defaulting."""

from __future__ import annotations

from typing import Any

import pytest

from jobsink.defaults import default, default_patch
from jobsink.delivery import (
    DurationError,
    RetryPolicy,
    join_uri,
    parse_duration,
    retry_policy,
)
from jobsink.lifecycle import spec_problems
from jobsink.validation import FieldError, validate
from tests.jobsink.sinks import sink

REF = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": "dls"}


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT1S", 1.0),
        ("PT0.2S", 0.2),
        ("PT0,5S", 0.5),
        ("PT1M30S", 90.0),
        ("PT2H", 7200.0),
        ("P1D", 86400.0),
        ("P1W", 7 * 86400.0),
        ("P1DT1S", 86401.0),
        ("PT0S", 0.0),
    ],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "P", "PT", "1S", "PT1", "P1S", "PT-1S", "pt1s", "PT1S "])
def test_not_durations(text: str) -> None:
    with pytest.raises(DurationError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("policy", "schedule"),
    [
        (RetryPolicy(retry=0), []),
        (RetryPolicy(retry=3, backoff_delay=1.0), [2.0, 4.0, 8.0]),
        (RetryPolicy(retry=3, backoff_policy="linear", backoff_delay=0.5), [0.5, 1.0, 1.5]),
        (RetryPolicy(retry=2, backoff_delay=3000.0), [3600.0, 3600.0]),
    ],
)
def test_backoff_schedule(policy: RetryPolicy, schedule: list[float]) -> None:
    assert policy.schedule() == pytest.approx(schedule)
    assert policy.attempts == len(schedule) + 1


@pytest.mark.parametrize(
    ("delivery", "expected"),
    [
        (None, RetryPolicy()),
        ({}, RetryPolicy(retry=10, backoff_policy="exponential", backoff_delay=0.2, timeout=30)),
        (
            {"retry": 2, "backoffPolicy": "linear", "backoffDelay": "PT1S", "timeout": "PT5S"},
            RetryPolicy(retry=2, backoff_policy="linear", backoff_delay=1.0, timeout=5.0),
        ),
        # stored while the webhook was bypassed: unreadable values take their defaults
        (
            {"retry": -1, "backoffPolicy": "x", "backoffDelay": "1s", "timeout": "PT0S"},
            RetryPolicy(),
        ),
    ],
)
def test_retry_policy(delivery: dict[str, Any] | None, expected: RetryPolicy) -> None:
    assert retry_policy(delivery) == expected


@pytest.mark.parametrize(
    ("base", "uri", "joined"),
    [
        ("http://r/ns/dls", None, "http://r/ns/dls"),
        ("http://r/ns/dls", "", "http://r/ns/dls"),
        ("http://r/ns/dls", "/extra", "http://r/extra"),
        ("http://r/ns/", "extra", "http://r/ns/extra"),
        ("http://r/ns/dls", "?q=1", "http://r/ns/dls?q=1"),
    ],
)
def test_uri_resolved_against_the_ref(base: str, uri: str | None, joined: str) -> None:
    assert join_uri(base, uri) == joined


def _with_delivery(delivery: Any) -> dict[str, Any]:
    obj = sink()
    obj["metadata"] = {"name": "failing", "namespace": "team"}
    obj["spec"]["delivery"] = delivery
    return obj


VALID = [
    {"deadLetterSink": {"ref": REF}},
    {"deadLetterSink": {"ref": REF, "uri": "/extra"}},
    {"deadLetterSink": {"uri": "http://127.0.0.1:9/dead"}},
    {"deadLetterSink": {"uri": "https://dls.example/x", "CACerts": "PEM", "audience": "a"}},
    {"retry": 0, "backoffPolicy": "linear", "backoffDelay": "PT0S", "timeout": "PT0.5S"},
    {},
]


@pytest.mark.parametrize("delivery", VALID)
def test_valid_delivery(delivery: dict[str, Any]) -> None:
    assert validate(_with_delivery(delivery)) == []


@pytest.mark.parametrize(
    ("delivery", "errors"),
    [
        (
            {"deadLetterSink": {}},
            [("spec.delivery.deadLetterSink", "Required value: expected at least one, got none")],
        ),
        (
            {"deadLetterSink": {"uri": "/dead"}},
            [("spec.delivery.deadLetterSink.uri", "Relative URI is not allowed")],
        ),
        (
            {"deadLetterSink": {"uri": "http:/dead"}},
            [("spec.delivery.deadLetterSink.uri", "Relative URI is not allowed")],
        ),
        (
            {"deadLetterSink": {"ref": REF, "uri": "http://elsewhere/"}},
            [("spec.delivery.deadLetterSink.uri", "Absolute URI is not allowed")],
        ),
        (
            {"deadLetterSink": {"ref": {"apiVersion": "v1", "kind": "Service"}}},
            [("spec.delivery.deadLetterSink.ref.name", "Required value")],
        ),
        (
            {"deadLetterSink": {"ref": {"name": "x"}}},
            [
                ("spec.delivery.deadLetterSink.ref.apiVersion", "Required value"),
                ("spec.delivery.deadLetterSink.ref.kind", "Required value"),
            ],
        ),
        (
            {"deadLetterSink": {"ref": {**REF, "name": ""}}},
            [("spec.delivery.deadLetterSink.ref.name", "Required value")],
        ),
        ({"retry": -1}, [("spec.delivery.retry", "must be greater than or equal to 0")]),
        ({"retry": "3"}, [("spec.delivery.retry", "must be an integer")]),
        ({"backoffPolicy": "fibonacci"}, [("spec.delivery.backoffPolicy", "Unsupported value")]),
        ({"backoffDelay": "1s"}, [("spec.delivery.backoffDelay", "ISO 8601 duration")]),
        ({"timeout": "PT0S"}, [("spec.delivery.timeout", "must be greater than 0")]),
        ({"timeout": "soon"}, [("spec.delivery.timeout", "ISO 8601 duration")]),
        ({"deadLetterSinks": {}}, [("spec.delivery.deadLetterSinks", "unknown field")]),
    ],
)
def test_invalid_delivery(delivery: dict[str, Any], errors: list[tuple[str, str]]) -> None:
    found = validate(_with_delivery(delivery))
    assert [e.path for e in found] == [path for path, _ in errors]
    for error, (_, words) in zip(found, errors, strict=True):
        assert words in error.message, error


def test_delivery_problems_do_not_make_the_sink_unready() -> None:
    obj = _with_delivery({"retry": -1})
    assert validate(obj) == [
        FieldError("spec.delivery.retry", "Invalid value: -1: must be greater than or equal to 0")
    ]
    assert spec_problems(obj) == []


def test_the_ref_namespace_defaults_to_the_sinks() -> None:
    obj = _with_delivery({"deadLetterSink": {"ref": dict(REF)}})
    patch = default_patch(obj)
    assert {
        "op": "add",
        "path": "/spec/delivery/deadLetterSink/ref/namespace",
        "value": "team",
    } in patch
    assert default(obj)["spec"]["delivery"]["deadLetterSink"]["ref"]["namespace"] == "team"
    assert "namespace" not in obj["spec"]["delivery"]["deadLetterSink"]["ref"]  # not modified


@pytest.mark.parametrize(
    "ref",
    [{**REF, "namespace": "elsewhere"}],
)
def test_a_given_ref_namespace_is_kept(ref: dict[str, str]) -> None:
    obj = _with_delivery({"deadLetterSink": {"ref": ref}})
    assert not [op for op in default_patch(obj) if "delivery" in op["path"]]
    assert default(default(obj)) == default(obj)
