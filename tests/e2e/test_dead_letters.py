"""Dead letters end to end: the documentation's failure example with ``spec.delivery``.

A control plane of this module's own (no other receiver may hold the Lease: the scenarios kill
and start receivers and count what each sends). There is no node: the test plays the kubelet and
fails the Job's Pods through their status, with the example's exit code 42, and the real job
controller turns that into a Failed Job (podFailurePolicy FailJob). The dead-letter sinks are a
second JobSink (through its ref, or through a loopback server that forwards to it) and a loopback
server that answers what the scenario wants.
"""

from __future__ import annotations

import base64
import copy
import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from cli import stack
from controlplane import ControlPlane
from controlplane.ports import free_ports
from controlplane.readiness import wait_for
from jobsink.names import ANNOTATION_DEAD_LETTER, LABEL_DEAD_LETTER, LABEL_SINK_NAME
from tests.e2e.letterbox import Letter, forward_to, letter_box
from tests.e2e.services import RunningReceiver, apply_crds, create_namespace, delete_namespace
from tests.e2e.support import EXAMPLES, unique_name
from tests.e2e.test_events import get_json, stored_event
from tests.seed import SEED_BODY, SEED_HEADERS

WAIT = 90.0
LEASE = {
    "JOBSINK_RECEIVER_LEASE_DURATION_SECONDS": "3",
    "JOBSINK_RECEIVER_LEASE_RENEW_SECONDS": "1",
}
EXTENSIONS = ("knativeerrordest", "knativeerrorcode", "knativeerrordata")


@pytest.fixture(scope="module")
def plane() -> Iterator[ControlPlane]:
    started = ControlPlane(keep_workdir=os.environ.get("JOBSINK_E2E_KEEP") == "1")
    started.start()
    try:
        apply_crds(started)
        started.kubectl("create", "namespace", "knative-eventing")  # the status Lease
        yield started
    finally:
        started.stop()


@pytest.fixture(scope="module")
def api(plane: ControlPlane) -> Iterator[client.ApiClient]:
    api_client = plane.api_client()
    try:
        yield api_client
    finally:
        api_client.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(api: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_name("dl", request.node.name)
    create_namespace(api, name)
    yield name
    delete_namespace(api, name)


def start_receiver(plane: ControlPlane, name: str) -> RunningReceiver:
    port = free_ports(1)[0]
    return RunningReceiver(stack.start_receiver(plane, port, name=name, env=LEASE), port)


@pytest.fixture
def receiver(plane: ControlPlane) -> Iterator[RunningReceiver]:
    running = start_receiver(plane, "dl-receiver")
    try:
        yield running
    finally:
        running.stop()


def eventually(condition: Callable[[], bool], what: str) -> None:
    wait_for(condition, what=what, timeout=WAIT)


def failing_sink(delivery: dict[str, Any]) -> dict[str, Any]:
    """The documentation's failure example, with ``spec.delivery``."""
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-failure.yaml").read_text())
    sink["spec"]["delivery"] = copy.deepcopy(delivery)
    return sink


def logger_sink(name: str) -> dict[str, Any]:
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-logger.yaml").read_text())
    sink["metadata"]["name"] = name
    return sink


def apply(plane: ControlPlane, namespace: str, sink: dict[str, Any]) -> str:
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(sink))
    return str(sink["metadata"]["name"])


def condition_of(plane: ControlPlane, namespace: str, sink: str, kind: str) -> dict[str, Any]:
    status = get_json(plane, "jobsink", sink, "-n", namespace).get("status") or {}
    found = [c for c in status.get("conditions") or [] if c["type"] == kind]
    return dict(found[0]) if found else {}


def resolved(plane: ControlPlane, namespace: str, sink: str) -> None:
    eventually(
        lambda: (
            condition_of(plane, namespace, sink, "DeadLetterSinkResolved").get("status") == "True"
        ),
        f"{sink}'s dead-letter sink to resolve",
    )


def fail_a_pod(plane: ControlPlane, namespace: str, job: str) -> None:
    """Play the kubelet (there is none): one of the Job's Pods exits 42, which the example's
    podFailurePolicy turns into a Failed Job (the job controller then deletes the others)."""

    def pods() -> list[dict[str, Any]]:
        return list(get_json(plane, "pods", "-n", namespace, "-l", f"job-name={job}")["items"])

    eventually(lambda: bool(pods()), f"the job controller to create a Pod for {job}")
    pod = pods()[0]
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    ended = {"exitCode": 42, "startedAt": now, "finishedAt": now, "reason": "Error"}
    statuses = [
        {"name": c["name"], "image": c["image"], "imageID": "", "ready": False,
         "restartCount": 0, "state": {"terminated": ended}}
        for c in pod["spec"]["containers"]
    ]  # fmt: skip
    status = {"phase": "Failed", "containerStatuses": statuses}
    plane.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", namespace, "--subresource=status",
        "--type=merge", "-p", json.dumps({"status": status}),
    )  # fmt: skip


def fail_a_job(plane: ControlPlane, receiver: RunningReceiver, namespace: str, sink: str) -> str:
    """POST the seed event to ``sink`` and fail its Job's Pods with the example's exit code."""
    answer = httpx.post(
        f"{receiver.url}/{namespace}/{sink}",
        content=SEED_BODY,
        timeout=30,
        headers={**SEED_HEADERS, "accept": "application/json"},
    )
    assert answer.status_code == 202, answer.text
    job = str(answer.json()["job"])
    fail_a_pod(plane, namespace, job)
    return job


def dead_letter_outcome(plane: ControlPlane, namespace: str, job: str) -> tuple[str, str]:
    meta = get_json(plane, "job", job, "-n", namespace)["metadata"]
    label = (meta.get("labels") or {}).get(LABEL_DEAD_LETTER, "")
    return str(label), str((meta.get("annotations") or {}).get(ANNOTATION_DEAD_LETTER, ""))


def jobs_of(plane: ControlPlane, namespace: str, sink: str) -> list[dict[str, Any]]:
    listed = get_json(plane, "jobs", "-n", namespace, "-l", f"{LABEL_SINK_NAME}={sink}")
    return list(listed["items"])


def described(plane: ControlPlane, namespace: str, sink: str) -> str:
    return plane.kubectl("describe", "jobsink", sink, "-n", namespace).stdout


def without_extensions(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key not in EXTENSIONS}


def check_letter(letter: bytes, original: bytes, job: str, destination: str) -> None:
    """``letter`` is ``original`` with Knative's three extensions about ``job``."""
    sent, stored = json.loads(letter), json.loads(original)
    assert without_extensions(sent) == stored
    assert sent["knativeerrordest"] == destination
    assert sent["knativeerrorcode"] == 500
    data = json.loads(base64.b64decode(sent["knativeerrordata"]))
    assert data["job"] == job
    assert data["reason"] == "PodFailurePolicy"
    assert "exit code 42" in data["message"]


def test_the_failure_example_dead_letters_its_event_to_a_second_jobsink(
    plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    dead = apply(plane, namespace, logger_sink("dead-letters"))
    ref = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": dead}
    sink = apply(plane, namespace, failing_sink({"deadLetterSink": {"ref": ref}, "retry": 3}))
    resolved(plane, namespace, sink)
    status = get_json(plane, "jobsink", sink, "-n", namespace)["status"]
    assert status["deadLetterSinkUri"] == f"{receiver.url}/{namespace}/{dead}"
    assert condition_of(plane, namespace, sink, "Ready")["status"] == "True"

    job = fail_a_job(plane, receiver, namespace, sink)
    eventually(lambda: len(jobs_of(plane, namespace, dead)) == 1, "one dead-letter Job")
    eventually(
        lambda: dead_letter_outcome(plane, namespace, job)[0] == "delivered",
        "the failed Job to record its dead letter as delivered",
    )
    (letter_job,) = jobs_of(plane, namespace, dead)
    check_letter(
        stored_event(plane, namespace, letter_job["metadata"]["name"]),
        stored_event(plane, namespace, job),
        job,
        status["address"]["url"],
    )
    eventually(
        lambda: "DeadLetterDelivered" in described(plane, namespace, sink),
        "kubectl describe to show the DeadLetterDelivered Event",
    )
    time.sleep(3)  # nothing more comes
    assert len(jobs_of(plane, namespace, dead)) == 1


def test_an_unresolvable_dead_letter_sink_leaves_the_jobsink_ready(
    plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    ref = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": "not-yet"}
    sink = apply(plane, namespace, failing_sink({"deadLetterSink": {"ref": ref}}))
    eventually(
        lambda: (
            condition_of(plane, namespace, sink, "DeadLetterSinkResolved").get("reason")
            == "NotFound"
        ),
        "DeadLetterSinkResolved False with NotFound",
    )
    assert condition_of(plane, namespace, sink, "Ready")["status"] == "True"
    apply(plane, namespace, logger_sink("not-yet"))
    resolved(plane, namespace, sink)  # the referent's status change re-resolves at once


def test_a_dead_letter_sink_down_for_a_while_gets_the_letter_after_retries(
    plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    with letter_box(lambda number, _: 503 if number <= 2 else 202) as box:
        delivery = {
            "deadLetterSink": {"uri": box.url},
            "retry": 4,
            "backoffPolicy": "linear",
            "backoffDelay": "PT0.5S",
        }
        sink = apply(plane, namespace, failing_sink(delivery))
        resolved(plane, namespace, sink)
        job = fail_a_job(plane, receiver, namespace, sink)
        eventually(
            lambda: dead_letter_outcome(plane, namespace, job)[0] == "delivered",
            "the dead letter to be delivered on the third attempt",
        )
        assert box.count() == 3
        check_letter(box.letters[-1].body, stored_event(plane, namespace, job), job,
                     f"{receiver.url}/{namespace}/{sink}")  # fmt: skip
        assert box.letters[-1].headers["content-type"].startswith("application/cloudevents+json")


def test_a_dead_letter_sink_that_stays_down_is_given_up_and_an_event_says_so(
    plane: ControlPlane, receiver: RunningReceiver, namespace: str
) -> None:
    with letter_box(lambda _number, _letter: 503) as box:
        delivery = {"deadLetterSink": {"uri": box.url}, "retry": 2, "backoffDelay": "PT0.2S"}
        sink = apply(plane, namespace, failing_sink(delivery))
        resolved(plane, namespace, sink)
        job = fail_a_job(plane, receiver, namespace, sink)
        eventually(
            lambda: dead_letter_outcome(plane, namespace, job)[0] == "gave-up",
            "the dead letter to be given up",
        )
        assert box.count() == 3  # the first attempt and two retries
        assert "HTTP 503" in dead_letter_outcome(plane, namespace, job)[1]
        eventually(
            lambda: "DeadLetterGaveUp" in described(plane, namespace, sink),
            "kubectl describe to show the DeadLetterGaveUp Event",
        )
        time.sleep(2)
        assert box.count() == 3  # given up means no more attempts


def lease_holder(plane: ControlPlane) -> str:
    lease = get_json(plane, "lease", "jobsink-status-reconciler", "-n", "knative-eventing")
    return str(lease["spec"].get("holderIdentity") or "")


def test_a_receiver_killed_between_sending_and_recording_delivers_once(
    plane: ControlPlane, namespace: str
) -> None:
    first = start_receiver(plane, "dl-receiver-a")
    eventually(lambda: lease_holder(plane).endswith(f"_{first.process.pid}"), "A to lead")
    second = start_receiver(plane, "dl-receiver-b")
    try:
        dead = apply(plane, namespace, logger_sink("dead-letters"))
        forward = forward_to(f"{second.url}/{namespace}/{dead}")

        def kill_the_sender_after_forwarding(number: int, letter: Letter) -> int:
            status = forward(letter)
            if number == 1:  # sent and stored, but the sender never hears of it
                os.killpg(first.process.pid, signal.SIGKILL)
            return status

        with letter_box(kill_the_sender_after_forwarding) as box:
            delivery = {"deadLetterSink": {"uri": box.url}, "backoffDelay": "PT0.2S"}
            sink = apply(plane, namespace, failing_sink(delivery))
            resolved(plane, namespace, sink)
            job = fail_a_job(plane, second, namespace, sink)
            eventually(
                lambda: dead_letter_outcome(plane, namespace, job)[0] == "delivered",
                "B to take the Lease and deliver the letter A never recorded",
            )
            assert box.count() == 2
            # The same letter twice; only knativeerrordest may differ, because each test
            # receiver publishes its own address (in a cluster both have the Service's).
            first_letter, again = (json.loads(letter.body) for letter in box.letters)
            del first_letter["knativeerrordest"], again["knativeerrordest"]
            assert first_letter == again
        assert lease_holder(plane).endswith(f"_{second.process.pid}")
        assert len(jobs_of(plane, namespace, dead)) == 1
    finally:
        second.stop()
        first.stop()
