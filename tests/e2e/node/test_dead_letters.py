"""On the local node: the documentation's failure example, whose container really exits 42, with
a second JobSink (the logger example) as its dead-letter sink. The logger's Job prints the letter
it got: the original event with Knative's three extensions."""

from __future__ import annotations

import base64
import json

from jobsink.names import LABEL_DEAD_LETTER
from tests.e2e.node.runs import (
    NodeStack,
    apply_sink,
    eventually,
    example,
    get_json,
    jobs_of,
    logs,
    post,
    wait_jobs_finished,
)
from tests.seed import SEED_EVENT


def test_the_failure_examples_event_reaches_the_dead_letter_jobsink_once(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    dead = example("job-sink-logger.yaml")
    dead["metadata"]["name"] = "dead-letters"
    apply_sink(plane, node_namespace, dead)
    failing = example("job-sink-failure.yaml")
    ref = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": "dead-letters"}
    failing["spec"]["delivery"] = {"deadLetterSink": {"ref": ref}, "retry": 3}
    sink = apply_sink(plane, node_namespace, failing)

    post(node_stack, node_namespace, sink)
    (failed,) = wait_jobs_finished(plane, node_namespace, sink, 1, kind="Failed")
    (letter_job,) = wait_jobs_finished(plane, node_namespace, "dead-letters", 1)

    letter = json.loads(logs(plane, node_namespace, letter_job["metadata"]["name"]))
    extensions = {
        k: letter.pop(k) for k in ("knativeerrordest", "knativeerrorcode", "knativeerrordata")
    }
    assert letter == json.loads(SEED_EVENT)
    address = get_json(plane, "jobsink", sink, "-n", node_namespace)["status"]["address"]["url"]
    assert extensions["knativeerrordest"] == address
    assert extensions["knativeerrorcode"] == 500
    data = json.loads(base64.b64decode(extensions["knativeerrordata"]))
    assert data["job"] == failed["metadata"]["name"]
    assert data["reason"] == "PodFailurePolicy"

    def recorded() -> bool:
        job = get_json(plane, "job", failed["metadata"]["name"], "-n", node_namespace)
        return bool(job["metadata"]["labels"].get(LABEL_DEAD_LETTER) == "delivered")

    eventually(recorded, "the failed Job to record its dead letter as delivered")
    eventually(
        lambda: (
            "DeadLetterDelivered"
            in plane.kubectl("describe", "jobsink", sink, "-n", node_namespace).stdout
        ),
        "kubectl describe to show the DeadLetterDelivered Event",
    )
    assert len(jobs_of(plane, node_namespace, "dead-letters")) == 1
