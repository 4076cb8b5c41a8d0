"""A JobSink as a Trigger's dead-letter sink: the Trigger's subscriber answers every event 500;
after the Trigger's retries Knative's broker filter gives the event to the JobSink, which makes
one Job holding the event with Knative's dead-letter extensions (the error code, the
destination that failed and its answer's body)."""

from __future__ import annotations

import base64
import time

from tests.e2e.knative.cluster import (
    apply,
    broker,
    cloudevent_headers,
    eventually,
    service_ref,
    trigger,
    wait_ready,
)
from tests.e2e.knative.conftest import DataPlane, KnativeCluster
from tests.e2e.knative.jobsinks import complete, copies, jobsink_ref, logger_jobsink, stored_events
from tests.e2e.knative.senders import (
    FAILING_BODY,
    FAILING_NAME,
    failing_subscriber,
    post_all_from_pod,
    with_delivery,
)

DOCS_EVENT_TYPE = "dev.knative.foo.bar"
SOURCE = "my/curl/command"
SINK = "dead-letters"
RETRIES = 2


def test_a_trigger_gives_what_its_subscriber_refuses_to_a_jobsink_dead_letter_sink(
    knative_cluster: KnativeCluster,
    data_plane: DataPlane,
    knative_namespace: str,
    python_base_on_node: str,
) -> None:
    plane, namespace = knative_cluster.plane, knative_namespace
    apply(
        plane,
        *failing_subscriber(namespace),
        logger_jobsink(namespace, SINK, suspend=True),
        broker(namespace),
    )
    docs_filter = {"type": DOCS_EVENT_TYPE}
    refusing = trigger(
        namespace, "refusing", service_ref(FAILING_NAME), filter_attributes=docs_filter
    )
    delivery = {
        "deadLetterSink": jobsink_ref(SINK),
        "retry": RETRIES,
        "backoffPolicy": "linear",
        "backoffDelay": "PT0.5S",
    }
    apply(plane, with_delivery(refusing, delivery))
    plane.kubectl(
        "wait", "-n", namespace, "--for=condition=Available", "--timeout=120s",
        f"deployment/{FAILING_NAME}", timeout=130,
    )  # fmt: skip
    wait_ready(plane, namespace, "jobsink", SINK)
    url = wait_ready(plane, namespace, "broker", "default")["status"]["address"]["url"]
    ready_trigger = wait_ready(plane, namespace, "trigger", "refusing")
    assert ready_trigger["status"]["deadLetterSinkUri"].endswith(f"/{namespace}/{SINK}")

    sent = [cloudevent_headers(DOCS_EVENT_TYPE, "undeliverable-1", SOURCE)]
    answers = post_all_from_pod(plane, namespace, "curl-broker", url, sent, '{"n":1}')
    assert answers == ["202"]

    def dead_lettered() -> bool:
        events = stored_events(plane, namespace, SINK)
        return complete(events) and bool(events)

    eventually(dead_lettered, "the dead-lettered event's Job")
    time.sleep(2.0)  # no later copy
    events = stored_events(plane, namespace, SINK)
    assert copies(events) == {(SOURCE, "undeliverable-1"): 1}
    (stored,) = events
    event = stored.event
    assert event is not None
    assert event["type"] == DOCS_EVENT_TYPE
    assert event["data"] == {"n": 1}
    assert event["knativeerrorcode"] == "500"
    assert event["knativeerrordest"].startswith(
        f"http://{FAILING_NAME}.{namespace}.svc.cluster.local"
    )
    assert base64.b64decode(event["knativeerrordata"]).decode() == FAILING_BODY
    assert "knativearrivaltime" in event

    # The first attempt and every retry reached the subscriber before Knative gave up.
    log = str(plane.kubectl("logs", "-n", namespace, f"deployment/{FAILING_NAME}").stdout)
    assert log.count("refused undeliverable-1") == 1 + RETRIES
