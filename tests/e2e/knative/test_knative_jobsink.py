"""Knative's own JobSink data plane (``cmd/jobsink``, its ``job-sink`` Deployment) behind a Broker
and Trigger on the local node: the evidence the coexistence notes of docs/knative.md rest on.

Nothing of JobSink for Python runs on this plane: the JobSink CRD, its webhook, its status and
its receiver are all Knative's. The documentation's logger JobSink, applied as it is, gets its
address from Knative's controller; the documentation's event, posted to the Broker from a Pod,
becomes one Job whose name Knative derives from the event's source and id, so a second copy of
the event makes no second Job, and an event the Trigger filters out makes none.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import yaml

from controlplane import ControlPlane
from controlplane.knative.manifests import KNATIVE_NAMESPACE
from tests.e2e.knative.cluster import (
    apply,
    broker,
    cloudevent_headers,
    eventually,
    post_from_pod,
    trigger,
    wait_ready,
)
from tests.e2e.knative.conftest import KnativeCluster
from tests.e2e.support import EXAMPLES

DOCS_EVENT_TYPE = "dev.knative.foo.bar"
DOCS_EVENT_BODY = '{"details":"JobSinkDemo"}'
SOURCE = "my/curl/command"
SINK = "job-sink-logger"
NAME_LABEL = "sinks.knative.dev/job-sink-name"


def knative_job_name(sink: str, source: str, event_id: str) -> str:
    """Knative's job name: the sink's name, a dash and the MD5 of source + id (short enough
    here that ``kmeta.ChildName`` keeps it as it is)."""
    return f"{sink}-{hashlib.md5((source + event_id).encode()).hexdigest()}"


def jobs(plane: ControlPlane, namespace: str) -> list[dict[str, Any]]:
    listed = plane.kubectl(
        "get", "jobs", "-n", namespace, "-l", f"{NAME_LABEL}={SINK}", "-o", "json"
    )
    items: list[dict[str, Any]] = json.loads(listed.stdout)["items"]
    return items


def test_knatives_jobsink_turns_the_docs_event_from_a_broker_into_one_job(
    knative_cluster: KnativeCluster, knatives_job_sink: None, knative_namespace: str
) -> None:
    plane, namespace = knative_cluster.plane, knative_namespace
    (sink,) = yaml.safe_load_all((EXAMPLES / "job-sink-logger.yaml").read_text())
    sink["metadata"]["namespace"] = namespace
    apply(plane, sink, broker(namespace))
    subscriber = {
        "ref": {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": SINK}
    }
    apply(
        plane,
        trigger(namespace, "docs-filter", subscriber, filter_attributes={"type": DOCS_EVENT_TYPE}),
    )
    ready_sink = wait_ready(plane, namespace, "jobsink", SINK)
    assert ready_sink["status"]["address"]["url"] == (
        f"http://job-sink.{KNATIVE_NAMESPACE}.svc.cluster.local/{namespace}/{SINK}"
    )
    url = wait_ready(plane, namespace, "broker", "default")["status"]["address"]["url"]
    wait_ready(plane, namespace, "trigger", "docs-filter")

    sent = [
        ("other", "dev.knative.other", "other-1"),
        ("first", DOCS_EVENT_TYPE, "docs-1"),
        ("copy", DOCS_EVENT_TYPE, "docs-1"),
        ("second", DOCS_EVENT_TYPE, "docs-2"),
    ]
    for pod, event_type, event_id in sent:
        status = post_from_pod(
            plane, namespace, f"curl-{pod}", url,
            cloudevent_headers(event_type, event_id, SOURCE), DOCS_EVENT_BODY,
        )  # fmt: skip
        assert status == "202", pod

    expected = {knative_job_name(SINK, SOURCE, "docs-1"), knative_job_name(SINK, SOURCE, "docs-2")}
    # The last event's Job appearing means the Broker has dispatched everything sent before it.
    eventually(
        lambda: (
            knative_job_name(SINK, SOURCE, "docs-2")
            in {j["metadata"]["name"] for j in jobs(plane, namespace)}
        ),
        "the Job of the last event",
    )
    assert {job["metadata"]["name"] for job in jobs(plane, namespace)} == expected

    first = knative_job_name(SINK, SOURCE, "docs-1")
    plane.kubectl(
        "wait", "-n", namespace, "--for=condition=Complete", "--timeout=120s", f"job/{first}",
        timeout=130,
    )  # fmt: skip
    event = json.loads(plane.kubectl("logs", "-n", namespace, f"job/{first}").stdout)
    assert event["id"] == "docs-1"
    assert event["type"] == DOCS_EVENT_TYPE
    assert event["data"] == {"details": "JobSinkDemo"}
    # Added by the Broker's ingress: the event in the Job is the event as the Broker delivered it.
    assert "knativearrivaltime" in event
