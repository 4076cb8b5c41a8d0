"""The documentation's examples run to their end on the local node.

Each JobSink is applied as ``examples/`` holds it (adapted only where the scenario says so),
events go through ``jobsink receiver``, and what is checked is what a user sees: the Pod's
phase, ``kubectl logs``, the Job's conditions and the receiver's answer for the Location.
"""

from __future__ import annotations

from typing import Any

import httpx

from receiver.dataplane.answers import job_state
from tests.e2e.node.runs import (
    NodeStack,
    apply_sink,
    condition,
    eventually,
    example,
    get_json,
    jobs_of,
    location_state,
    logs,
    main_container,
    pods_of,
    post,
    wait_jobs_finished,
)
from tests.seed import SEED_EVENT


def test_the_logger_example_prints_the_documented_event(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = apply_sink(plane, node_namespace, example("job-sink-logger.yaml"))

    post(node_stack, node_namespace, sink)
    (job,) = wait_jobs_finished(plane, node_namespace, sink, 1)

    name = job["metadata"]["name"]
    (pod,) = pods_of(plane, node_namespace, name)
    assert pod["status"]["phase"] == "Succeeded"
    assert logs(plane, node_namespace, name).encode() == SEED_EVENT


def test_the_custom_mount_path_example_reads_the_event_at_its_own_path(
    node_stack: NodeStack, node_namespace: str
) -> None:
    sink = example("job-sink-custom-mount-path.yaml")
    container = main_container(sink)
    (mount,) = container["volumeMounts"]
    # The example only says hello; the scenario makes it print what it finds at its path.
    container["args"] = ["-c", f"cat {mount['mountPath']}/event"]
    name = apply_sink(node_stack.plane, node_namespace, sink)

    post(node_stack, node_namespace, name)
    (job,) = wait_jobs_finished(node_stack.plane, node_namespace, name, 1)

    assert mount["mountPath"] == "/etc/custom-path"
    assert logs(node_stack.plane, node_namespace, job["metadata"]["name"]).encode() == SEED_EVENT


def _answer(node_stack: NodeStack, location: str, status: int) -> dict[str, Any]:
    """The receiver's answer once it reports ``status`` (it learns of the Job by a watch)."""
    answers: list[httpx.Response] = []

    def reported() -> bool:
        answers.append(location_state(node_stack, location))
        return answers[-1].status_code == status

    eventually(reported, what=f"GET {location} to answer {status}", timeout=30)
    body: dict[str, Any] = answers[-1].json()
    return body


def test_the_success_example_completes_and_its_location_says_so(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = apply_sink(plane, node_namespace, example("job-sink-success.yaml"))

    location = post(node_stack, node_namespace, sink).headers["location"]
    (job,) = wait_jobs_finished(plane, node_namespace, sink, 1)

    assert job["status"]["succeeded"] == 12  # completions: 12, three at a time
    body = _answer(node_stack, location, httpx.codes.OK)
    assert body["state"] == job_state(job)[1]


def test_the_failure_example_fails_the_job_and_its_location_says_why(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = apply_sink(plane, node_namespace, example("job-sink-failure.yaml"))

    location = post(node_stack, node_namespace, sink).headers["location"]
    (job,) = wait_jobs_finished(plane, node_namespace, sink, 1, kind="Failed")

    failed = condition(job, "Failed")
    assert failed is not None
    # Exit code 42 matches the FailJob rule: the Job fails at once, not after 6 retries.
    assert failed["reason"] == "PodFailurePolicy"
    assert job["status"].get("failed", 0) <= job["spec"]["backoffLimit"]
    body = _answer(node_stack, location, httpx.codes.BAD_REQUEST)
    assert body["state"] == job_state(job)[1]
    reasons = [c.get("reason") for c in body.get("conditions", [])]
    assert "PodFailurePolicy" in reasons


def test_ttl_seconds_after_finished_removes_the_job_and_its_secret(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = example("job-sink-logger.yaml")
    sink["spec"]["job"]["spec"]["ttlSecondsAfterFinished"] = 5
    name = apply_sink(plane, node_namespace, sink)

    post(node_stack, node_namespace, name)
    (job,) = wait_jobs_finished(plane, node_namespace, name, 1)
    job_name = job["metadata"]["name"]

    def gone() -> bool:
        names = {
            item["metadata"]["name"]
            for item in get_json(plane, "secrets", "-n", node_namespace)["items"]
        }
        return not jobs_of(plane, node_namespace, name) and job_name not in names

    eventually(gone, what="the finished Job and its event Secret to be deleted", timeout=60)


def test_a_non_root_container_with_a_read_only_root_can_read_the_event(
    node_stack: NodeStack, node_namespace: str
) -> None:
    sink = example("job-sink-logger.yaml")
    sink["metadata"]["name"] = "job-sink-non-root"
    main_container(sink)["securityContext"] = {
        "runAsUser": 1000,
        "runAsGroup": 1000,
        "runAsNonRoot": True,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    name = apply_sink(node_stack.plane, node_namespace, sink)

    post(node_stack, node_namespace, name)
    (job,) = wait_jobs_finished(node_stack.plane, node_namespace, name, 1)

    assert logs(node_stack.plane, node_namespace, job["metadata"]["name"]).encode() == SEED_EVENT
