"""Tracing in the receiver: when the OTEL_* variables turn it on, which parent ``receive``
continues, and, on the real uvicorn server over the fake apiserver, the four spans and the trace
context a Job gets (from the event's extension first, else from the request's header)."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.dataplane.handler import DataPlane
from receiver.metrics import Metrics
from receiver.protocol import WriteProtocol
from receiver.settings import LimitSettings
from receiver.tracing import Tracing, carrier, configure, wanted
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import StaticSinks, serve
from tests.seed import SEED_BODY, SEED_HEADERS

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SENDER}-01"
OWN = "00-11111111111111111111111111111111-2222222222222222-01"


@pytest.mark.parametrize(
    ("environ", "on"),
    [
        ({}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4318/v1/traces"}, True),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "  "}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_SDK_DISABLED": "true"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://x", "OTEL_TRACES_EXPORTER": "none"}, False),
        ({"OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "http://x"}, False),  # not traces
    ],
)
def test_wanted(environ: dict[str, str], on: bool) -> None:
    assert wanted(environ) is on
    assert configure(environ).enabled is on


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([], {}),
        ([(b"Traceparent", b"tp"), (b"tracestate", b"ts")],
         {"traceparent": "tp", "tracestate": "ts"}),
        ([(b"ce-traceparent", b"ce")], {"traceparent": "ce"}),
        ([(b"ce-traceparent", b"ce"), (b"traceparent", b"w3c")], {"traceparent": "w3c"}),
    ],
)  # fmt: skip
def test_the_receive_span_continues_the_w3c_header_then_the_binary_extension(
    headers: list[tuple[bytes, bytes]], expected: dict[str, str]
) -> None:
    assert carrier(headers) == expected


def test_off_is_one_shared_do_nothing_context() -> None:
    off = Tracing(None)
    assert off.receive([]) is off.span("decode")
    with off.span("decode") as span:
        assert span is None


@pytest.fixture
def exported() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def traced_url(
    fake: FakeKubeApi, fake_url: str, sink: dict[str, Any], exported: InMemorySpanExporter
) -> Iterator[str]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    tracing = Tracing(provider)
    caller = Caller(FakeKubeApi.api_client(fake_url), attempt_timeout=0.5)
    jobs = object_client.jobs(caller)
    protocol = WriteProtocol(jobs, object_client.secrets(caller), tracing=tracing)
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = DataPlane(LimitSettings(), sinks, protocol, jobs, metrics=Metrics(), tracing=tracing)
    with serve(plane) as url:
        yield url


def env_of(job: dict[str, Any]) -> dict[str, str]:
    (container,) = job["spec"]["template"]["spec"]["containers"]
    return {var["name"]: var.get("value", "") for var in container["env"]}


def stored_event(fake: FakeKubeApi) -> dict[str, Any]:
    (secret,) = fake.of("secrets")
    stored: dict[str, Any] = json.loads(base64.b64decode(secret["data"]["event"]))
    return stored


def test_four_spans_continue_the_request_and_the_job_gets_its_context(
    traced_url: str, fake: FakeKubeApi, exported: InMemorySpanExporter
) -> None:
    headers = {**SEED_HEADERS, "traceparent": TRACEPARENT, "tracestate": "rojo=1"}
    answer = httpx.post(f"{traced_url}/default/job-sink-logger", content=SEED_BODY, headers=headers)
    assert answer.status_code == 202

    spans = {span.name: span for span in exported.get_finished_spans()}
    assert set(spans) == {"receive", "decode", "create Job", "create Secret"}
    receive = spans["receive"]
    assert receive.parent is not None
    assert f"{receive.parent.span_id:016x}" == SENDER
    assert f"{receive.context.trace_id:032x}" == TRACE_ID
    for name in ("decode", "create Job", "create Secret"):
        parent = spans[name].parent
        assert parent is not None
        assert parent.span_id == receive.context.span_id, name
    assert receive.attributes is not None
    assert receive.attributes["http.response.status_code"] == 202

    (job,) = fake.of("jobs")
    assert env_of(job)["TRACEPARENT"] == TRACEPARENT
    assert env_of(job)["TRACESTATE"] == "rojo=1"
    stored = stored_event(fake)
    assert stored["traceparent"] == TRACEPARENT
    assert stored["tracestate"] == "rojo=1"


def test_the_events_own_extension_wins_over_the_header_and_is_stored_as_sent(
    traced_url: str, fake: FakeKubeApi
) -> None:
    event = {"specversion": "1.0", "id": "1", "source": "s", "type": "t", "traceparent": OWN}
    answer = httpx.post(
        f"{traced_url}/default/job-sink-logger",
        content=json.dumps(event),
        headers={"content-type": "application/cloudevents+json", "traceparent": TRACEPARENT},
    )
    assert answer.status_code == 202
    (job,) = fake.of("jobs")
    assert env_of(job)["TRACEPARENT"] == OWN
    assert "TRACESTATE" not in env_of(job)
    assert stored_event(fake) == event
