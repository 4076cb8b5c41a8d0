"""A Broker and a Trigger with the documentation's filter deliver to a JobSink: the event posted
to the Broker's ingress becomes exactly one Job, whose event file holds the event as the Broker
delivered it (with the Broker's own extension), a second copy of it makes no second Job, and an
event the filter leaves out makes none. Whichever data plane serves Knative's job-sink Service
(the ``data_plane`` fixture), the scenario is the same."""

from __future__ import annotations

import json
import time

from tests.e2e.knative.broker_replies import replies_through_a_broker
from tests.e2e.knative.cluster import (
    apply,
    broker,
    cloudevent_headers,
    eventually,
    trigger,
    wait_ready,
)
from tests.e2e.knative.conftest import DataPlane, KnativeCluster
from tests.e2e.knative.jobsinks import (
    complete,
    copies,
    jobsink_address,
    jobsink_ref,
    logger_jobsink,
    stored_events,
)
from tests.e2e.knative.senders import post_all_from_pod

DOCS_EVENT_TYPE = "dev.knative.foo.bar"
DOCS_EVENT_BODY = '{"details":"JobSinkDemo"}'
SOURCE = "my/curl/command"
SINK = "job-sink-logger"
#: How long the Job count must stay put once every POST was answered (the Broker answers once
#: the Trigger's delivery ended: nothing should still be on its way).
SETTLE = 3.0


def test_the_docs_event_through_a_broker_and_trigger_becomes_exactly_one_job(
    knative_cluster: KnativeCluster, data_plane: DataPlane, knative_namespace: str
) -> None:
    plane, namespace = knative_cluster.plane, knative_namespace
    apply(plane, logger_jobsink(namespace, SINK), broker(namespace))
    apply(
        plane,
        trigger(
            namespace, "docs-filter", jobsink_ref(SINK), filter_attributes={"type": DOCS_EVENT_TYPE}
        ),
    )
    ready_sink = wait_ready(plane, namespace, "jobsink", SINK)
    assert ready_sink["status"]["address"]["url"] == jobsink_address(namespace, SINK)
    url = wait_ready(plane, namespace, "broker", "default")["status"]["address"]["url"]
    wait_ready(plane, namespace, "trigger", "docs-filter")

    with replies_through_a_broker(plane):
        sent = [
            cloudevent_headers("dev.knative.other", "other-1", SOURCE),
            cloudevent_headers(DOCS_EVENT_TYPE, "docs-1", SOURCE),
            cloudevent_headers(DOCS_EVENT_TYPE, "docs-1", SOURCE),  # the same event again
            cloudevent_headers(DOCS_EVENT_TYPE, "docs-2", SOURCE),
        ]
        # At once: the copy may reach the JobSink while the first is still being written.
        answers = post_all_from_pod(
            plane, namespace, "curl-broker", url, sent, DOCS_EVENT_BODY, at_once=True
        )
        assert answers == ["202"] * len(sent)

        def last_stored() -> bool:
            events = stored_events(plane, namespace, SINK)
            return complete(events) and copies(events)[(SOURCE, "docs-2")] == 1

        eventually(last_stored, "the Job of the second event, with its event")
        time.sleep(SETTLE)
        events = stored_events(plane, namespace, SINK)
        assert copies(events) == {(SOURCE, "docs-1"): 1, (SOURCE, "docs-2"): 1}

        (first,) = [stored for stored in events if stored.key == (SOURCE, "docs-1")]
        assert first.event is not None
        assert first.event["type"] == DOCS_EVENT_TYPE
        assert first.event["data"] == {"details": "JobSinkDemo"}
        # Added by the Broker's ingress: the event the Job holds is the event as the Broker
        # delivered it, not as the curl Pod sent it.
        assert "knativearrivaltime" in first.event

        # The Job's Pod reads the same event from its event file (the documentation's logger
        # prints it).
        plane.kubectl(
            "wait", "-n", namespace, "--for=condition=Complete", "--timeout=120s",
            f"job/{first.job}", timeout=130,
        )  # fmt: skip
        printed = json.loads(plane.kubectl("logs", "-n", namespace, f"job/{first.job}").stdout)
        assert printed == first.event
