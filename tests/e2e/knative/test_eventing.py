"""Knative Eventing on the local node, on its own: its components Ready, and its data path (a
Broker over an InMemoryChannel, a Trigger with the documentation's filter) delivering an event
posted from a Pod to an in-cluster subscriber that is Knative's own event logger, not ours."""

from __future__ import annotations

import json

from controlplane.knative.manifests import KNATIVE_NAMESPACE
from tests.e2e.knative.cluster import (
    ECHO_NAME,
    apply,
    broker,
    cloudevent_headers,
    deployment_logs,
    echo_subscriber,
    eventually,
    post_from_pod,
    service_ref,
    trigger,
    wait_ready,
)
from tests.e2e.knative.conftest import KnativeCluster

DOCS_EVENT_TYPE = "dev.knative.foo.bar"
DOCS_EVENT_BODY = '{"details":"JobSinkDemo"}'


def test_every_knative_deployment_is_available_and_its_webhook_defaults(
    knative_cluster: KnativeCluster,
) -> None:
    plane = knative_cluster.plane
    listed = json.loads(
        plane.kubectl("get", "deployments", "-n", KNATIVE_NAMESPACE, "-o", "json").stdout
    )
    by_name = {item["metadata"]["name"]: item for item in listed["items"]}
    assert set(by_name) >= {
        "eventing-controller",
        "eventing-webhook",
        "job-sink",
        "pingsource-mt-adapter",
        "imc-controller",
        "imc-dispatcher",
        "mt-broker-controller",
        "mt-broker-ingress",
        "mt-broker-filter",
    }
    for name, deployment in by_name.items():
        wanted = deployment["spec"].get("replicas", 1)
        assert deployment["status"].get("availableReplicas", 0) == wanted, name
    times = knative_cluster.knative.times
    assert times.total > 0
    print(f"Knative start-up: {times}")


def test_a_broker_and_trigger_deliver_the_docs_event_to_an_in_cluster_subscriber(
    knative_cluster: KnativeCluster, knative_namespace: str
) -> None:
    plane, namespace = knative_cluster.plane, knative_namespace
    apply(plane, *echo_subscriber(namespace), broker(namespace))
    apply(
        plane,
        trigger(
            namespace,
            "docs-filter",
            service_ref(ECHO_NAME),
            filter_attributes={"type": DOCS_EVENT_TYPE},
        ),
    )
    ready_broker = wait_ready(plane, namespace, "broker", "default")
    wait_ready(plane, namespace, "trigger", "docs-filter")
    url = ready_broker["status"]["address"]["url"]
    assert url == (
        f"http://broker-ingress.{KNATIVE_NAMESPACE}.svc.cluster.local/{namespace}/default"
    )

    # The other type first: once the docs event (sent after it) is logged, the filter has
    # had its turn on the other one.
    other = post_from_pod(
        plane, namespace, "curl-other", url,
        cloudevent_headers("dev.knative.other", "other-event-1"), DOCS_EVENT_BODY,
    )  # fmt: skip
    matching = post_from_pod(
        plane, namespace, "curl-matching", url,
        cloudevent_headers(DOCS_EVENT_TYPE, "docs-event-1"), DOCS_EVENT_BODY,
    )  # fmt: skip
    assert (matching, other) == ("202", "202")

    eventually(
        lambda: "docs-event-1" in deployment_logs(plane, namespace, ECHO_NAME),
        "the subscriber to log the docs event",
    )
    logged = deployment_logs(plane, namespace, ECHO_NAME)
    assert "JobSinkDemo" in logged
    # The Broker's own extension, added on ingress: the event went through Knative.
    assert "knativearrivaltime" in logged
    assert "other-event-1" not in logged
