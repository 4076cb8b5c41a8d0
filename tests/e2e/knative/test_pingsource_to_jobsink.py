"""A PingSource whose ``sink.ref`` is a JobSink (the documentation's KafkaSource shape, with a
source that runs here): Knative's ping adapter sends one event per tick, each becomes one Job,
and a tick delivered again (same source and id: what a sender's retry looks like) makes no
second Job.

Every minute is the finest schedule a PingSource takes; the test waits for two ticks."""

from __future__ import annotations

from datetime import datetime

from tests.e2e.knative.cluster import Document, apply, eventually, wait_ready
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

SINK = "ticks"
PING = "every-minute"
PING_TYPE = "dev.knative.sources.ping"
TICK_DATA = '{"message":"tick"}'
#: The adapter starts when the first PingSource exists; then a tick at each minute's start.
TWO_TICKS = 200.0


def ping_source(namespace: str) -> Document:
    return {
        "apiVersion": "sources.knative.dev/v1",
        "kind": "PingSource",
        "metadata": {"name": PING, "namespace": namespace},
        "spec": {
            "schedule": "* * * * *",
            "contentType": "application/json",
            "data": TICK_DATA,
            "sink": jobsink_ref(SINK),
        },
    }


def test_a_pingsource_makes_one_job_per_tick_and_a_tick_delivered_again_none(
    knative_cluster: KnativeCluster, data_plane: DataPlane, knative_namespace: str
) -> None:
    plane, namespace = knative_cluster.plane, knative_namespace
    apply(plane, logger_jobsink(namespace, SINK, suspend=True))
    wait_ready(plane, namespace, "jobsink", SINK)
    apply(plane, ping_source(namespace))
    try:
        ready_ping = wait_ready(plane, namespace, "pingsource", PING)
        assert ready_ping["status"]["sinkUri"] == jobsink_address(namespace, SINK)

        def two_ticks() -> bool:
            events = stored_events(plane, namespace, SINK)
            return complete(events) and len(events) >= 2

        eventually(two_ticks, "two ticks' Jobs", timeout=TWO_TICKS)
    finally:
        plane.kubectl("delete", "pingsource", PING, "-n", namespace, "--wait=true")

    events = stored_events(plane, namespace, SINK)
    source = f"/apis/v1/namespaces/{namespace}/pingsources/{PING}"
    assert all(count == 1 for count in copies(events).values()), copies(events)
    ticks = [stored.event for stored in events if stored.event is not None]
    assert len(ticks) == len(events) >= 2
    assert {(tick["source"], tick["type"]) for tick in ticks} == {(source, PING_TYPE)}
    assert all(tick["data"] == {"message": "tick"} for tick in ticks)
    created = [
        datetime.fromisoformat(
            plane.kubectl(
                "get", "job", stored.job, "-n", namespace,
                "-o", "jsonpath={.metadata.creationTimestamp}",
            ).stdout.replace("Z", "+00:00")
        )
        for stored in events[:2]
    ]  # fmt: skip
    # One Job per tick: the two are a minute apart, not two copies of one tick.
    assert 50 <= (created[1] - created[0]).total_seconds() <= 70

    # The first tick again, twice, as the adapter sent it: accepted, and no new Job.
    first = ticks[0]
    headers = {
        "Content-Type": "application/json",
        "Ce-Specversion": str(first["specversion"]),
        "Ce-Type": str(first["type"]),
        "Ce-Source": str(first["source"]),
        "Ce-Id": str(first["id"]),
    }
    address = jobsink_address(namespace, SINK)
    answers = post_all_from_pod(
        plane, namespace, "curl-tick-again", address, [headers, headers], TICK_DATA
    )
    assert answers == ["202", "202"]
    again = stored_events(plane, namespace, SINK)
    assert copies(again) == copies(events)
