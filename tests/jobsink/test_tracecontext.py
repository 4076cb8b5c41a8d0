"""Trace context: which traceparent and tracestate values are valid, what an event keeps of its
request's headers, and what its Job gets (annotations, and variables in every container)."""

from __future__ import annotations

from typing import Any

import pytest

from jobsink import tracecontext
from jobsink.render import render
from jobsink.tracecontext import TraceContext
from tests.jobsink.test_render import curl_event, example

VALID = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (VALID, True),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00", True),
        ("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds", True),
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-", False),  # 00 is exactly 55
        ("ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", False),  # version ff
        ("00-00000000000000000000000000000000-00f067aa0ba902b7-01", False),  # zero trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01", False),  # zero parent id
        ("00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01", False),  # uppercase
        ("00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", False),  # short trace id
        ("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7", False),  # no flags
        ("", False),
        (12, False),
        (None, False),
        ("$(rm -rf /)", False),
    ],
)
def test_traceparent_validation(value: object, valid: bool) -> None:
    assert tracecontext.valid_traceparent(value) == (value if valid else None)


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("rojo=00f067aa0ba902b7", True),
        ("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE", True),
        ("rojo=1, ,congo=2", True),  # empty members are allowed
        ("tenant@vendor=x", True),
        ("Rojo=1", False),  # keys are lowercase
        ("rojo=1,rojo=2", False),  # a key twice
        ("rojo", False),
        ("rojo=a=b,", False),  # "=" is not a value character
        (",", False),
        ("k=" + "v" * 600, False),  # over 512 characters
        (",".join(f"k{i}=v" for i in range(33)), False),  # over 32 members
        (None, False),
    ],
)
def test_tracestate_validation(value: object, valid: bool) -> None:
    assert (tracecontext.valid_tracestate(value) is not None) is valid


def test_an_invalid_tracestate_does_not_spoil_the_traceparent() -> None:
    assert tracecontext.parse(VALID, "Bad=") == TraceContext(VALID, None)
    assert tracecontext.parse("nope", "rojo=1") is None


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], None),
        ([(b"traceparent", VALID.encode())], TraceContext(VALID)),
        ([(b"Traceparent", VALID.encode() + b" ")], TraceContext(VALID)),
        (
            [(b"traceparent", VALID.encode()), (b"tracestate", b"a=1"), (b"tracestate", b"b=2")],
            TraceContext(VALID, "a=1,b=2"),
        ),
        ([(b"traceparent", VALID.encode())] * 2, None),  # sent twice: not one traceparent
        ([(b"traceparent", b"00-garbage")], None),
        ([(b"ce-traceparent", VALID.encode())], None),  # an extension header, not the W3C one
    ],
)
def test_context_of_request_headers(
    headers: list[tuple[bytes, bytes]], expected: TraceContext | None
) -> None:
    assert tracecontext.of_headers(headers) == expected


@pytest.mark.parametrize(
    ("attributes", "request_context", "added"),
    [
        ({}, None, {}),
        ({}, TraceContext(VALID), {"traceparent": VALID}),
        ({}, TraceContext(VALID, "a=1"), {"traceparent": VALID, "tracestate": "a=1"}),
        # the event's own extension is kept as sent, even a malformed one
        ({"traceparent": "00-mine"}, TraceContext(VALID, "a=1"), {}),
        ({"tracestate": "x=1"}, TraceContext(VALID, "a=1"), {"traceparent": VALID}),
    ],
)
def test_missing_extensions(
    attributes: dict[str, object], request_context: TraceContext | None, added: dict[str, str]
) -> None:
    assert tracecontext.missing_extensions(attributes, request_context) == added


def test_the_job_gets_the_context_in_annotations_and_every_container() -> None:
    sink = example("job-sink-logger")
    pod = sink["spec"]["job"]["spec"]["template"]["spec"]
    pod["initContainers"] = [{"name": "init", "image": "busybox"}]
    pod["containers"].append(
        {"name": "own", "image": "busybox", "env": [{"name": "TRACEPARENT", "value": "mine"}]}
    )
    job = render(sink, curl_event(), TraceContext(VALID, "rojo=1")).job
    annotations = job["metadata"]["annotations"]
    assert annotations["sinks.knative.dev/traceparent"] == VALID
    assert annotations["sinks.knative.dev/tracestate"] == "rojo=1"
    pod = job["spec"]["template"]["spec"]

    def env(container: dict[str, Any]) -> dict[str, str]:
        return {var["name"]: var.get("value", "") for var in container["env"]}

    main, own = pod["containers"]
    (init,) = pod["initContainers"]
    for container in (main, init):
        assert env(container)["TRACEPARENT"] == VALID
        assert env(container)["TRACESTATE"] == "rojo=1"
    assert env(own)["TRACEPARENT"] == "mine"  # the user's own is not overridden
    assert [v["name"] for v in own["env"]].count("TRACEPARENT") == 1
    assert env(own)["TRACESTATE"] == "rojo=1"


def test_no_context_changes_nothing() -> None:
    sink = example("job-sink-logger")
    assert render(sink, curl_event()) == render(sink, curl_event(), None)
    job = render(sink, curl_event()).job
    assert not any(k.endswith("/traceparent") for k in job["metadata"]["annotations"])


def test_the_secret_holds_the_event_not_the_trace_annotations() -> None:
    rendered = render(example("job-sink-logger"), curl_event(), TraceContext(VALID))
    assert "sinks.knative.dev/traceparent" not in rendered.secret["metadata"]["annotations"]
