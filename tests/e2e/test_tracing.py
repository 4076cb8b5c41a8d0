"""Trace context end to end: a ``traceparent`` sent with the documentation's curl reaches the
Job (annotation, and the variable in its container), and a receiver configured with the standard
``OTEL_EXPORTER_OTLP_ENDPOINT`` exports its four spans, children of the sender's span, to a real
OTLP/HTTP receiver (``tests.otlp_collector``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from cli import stack
from controlplane import ControlPlane
from controlplane.ports import free_ports
from tests.e2e.support import EXAMPLES
from tests.otlp_collector import Collector

pytestmark = pytest.mark.usefixtures("jobsink_crd")

Kubectl = Callable[..., subprocess.CompletedProcess[str]]
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
SENDER_SPAN = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{SENDER_SPAN}-01"
SPANS = {"receive", "decode", "create Job", "create Secret"}


@pytest.fixture(scope="module")
def traced(control_plane: ControlPlane) -> Iterator[tuple[str, Collector]]:
    """A receiver exporting spans to a collector stand-in: (its URL, the collector)."""
    with Collector() as collector:
        port = free_ports(1)[0]
        process = stack.start_receiver(
            control_plane,
            port,
            name="receiver-otlp",
            env={
                "OTEL_EXPORTER_OTLP_ENDPOINT": collector.endpoint,
                "OTEL_BSP_SCHEDULE_DELAY": "100",  # ms: export soon, not after 5 s
            },
        )
        try:
            yield f"http://127.0.0.1:{port}", collector
        finally:
            process.stop()


def docs_curl(url: str, *extra_headers: str) -> None:
    """The documentation's trigger (step 4), sent from this machine, plus ``extra_headers``."""
    headers = [
        "content-type: application/json",
        "ce-specversion: 1.0",
        "ce-source: my/curl/command",
        "ce-type: my.demo.event",
        "ce-id: 123",
        *extra_headers,
    ]
    argv = ["curl", "-sS", "--noproxy", "*", "-X", "POST", "-o", "/dev/null", "-w", "%{http_code}"]
    for header in headers:
        argv += ["-H", header]
    argv += ["-d", '{"details":"JobSinkDemo"}', url]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=True)
    assert done.stdout == "202", done.stderr


def only_job(kubectl: Kubectl, namespace: str) -> dict[str, Any]:
    listed = json.loads(kubectl("get", "jobs", "-n", namespace, "-o", "json").stdout)
    (job,) = listed["items"]
    return dict(job)


def test_a_traceparent_sent_with_the_docs_curl_reaches_the_job_and_the_spans(
    traced: tuple[str, Collector], kubectl: Kubectl, namespace: str
) -> None:
    url, collector = traced
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "job-sink-logger.yaml"))
    docs_curl(
        f"{url}/{namespace}/job-sink-logger",
        f"traceparent: {TRACEPARENT}",
        "tracestate: rojo=00f067aa0ba902b7",
    )

    job = only_job(kubectl, namespace)
    annotations = job["metadata"]["annotations"]
    assert annotations["sinks.knative.dev/traceparent"] == TRACEPARENT
    assert annotations["sinks.knative.dev/tracestate"] == "rojo=00f067aa0ba902b7"
    (container,) = job["spec"]["template"]["spec"]["containers"]
    env = {var["name"]: var.get("value") for var in container["env"]}
    assert env["TRACEPARENT"] == TRACEPARENT
    assert env["TRACESTATE"] == "rojo=00f067aa0ba902b7"
    # and `kubectl get job -o yaml` shows it as a user reads it
    as_yaml = kubectl("get", "job", job["metadata"]["name"], "-n", namespace, "-o", "yaml").stdout
    assert f"value: {TRACEPARENT}" in as_yaml

    spans = [s for s in collector.wait_for(4) if s.trace_id == TRACE_ID]
    by_name = {s.name: s for s in spans}
    assert set(by_name) == SPANS
    receive = by_name["receive"]
    assert receive.parent_span_id == SENDER_SPAN
    assert receive.service == "jobsink-receiver"
    assert receive.attributes["http.response.status_code"] == 202
    for child in SPANS - {"receive"}:
        assert by_name[child].parent_span_id == receive.span_id, child


def test_a_malformed_traceparent_is_not_copied_to_the_job(
    traced: tuple[str, Collector], kubectl: Kubectl, namespace: str
) -> None:
    url, _ = traced
    kubectl("apply", "-n", namespace, "-f", str(EXAMPLES / "job-sink-logger.yaml"))
    docs_curl(f"{url}/{namespace}/job-sink-logger", "traceparent: 00-not-a-trace-01")
    job = only_job(kubectl, namespace)
    assert "sinks.knative.dev/traceparent" not in job["metadata"]["annotations"]
    (container,) = job["spec"]["template"]["spec"]["containers"]
    assert "TRACEPARENT" not in {var["name"] for var in container["env"]}
