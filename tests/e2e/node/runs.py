"""Helpers of the node scenarios: apply a JobSink, send events, wait for Jobs and read logs."""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from controlplane import ControlPlane
from controlplane.node import node_unavailable_reason
from controlplane.readiness import wait_for
from jobsink.names import LABEL_SINK_NAME
from tests.e2e.services import RunningReceiver, RunningWebhook
from tests.e2e.support import EXAMPLES
from tests.seed import SEED_BODY, SEED_HEADERS

WAIT = 120.0
REQUIRE_NODE = "JOBSINK_REQUIRE_NODE"


def require_node() -> None:
    """Skip (or, with JOBSINK_REQUIRE_NODE=1, fail) when no node can run on this machine."""
    reason = node_unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_NODE) == "1":
        pytest.fail(f"{REQUIRE_NODE}=1 but no node can run here: {reason}", pytrace=False)
    pytest.skip(f"no node can run here: {reason}")


@dataclass
class NodeStack:
    """The node plane with the CRD installed and our webhook and receiver serving it."""

    plane: ControlPlane
    webhook: RunningWebhook
    receiver: RunningReceiver


def example(name: str) -> dict[str, Any]:
    """A JobSink of ``examples/`` as a document, to apply as is or adapted."""
    document: dict[str, Any] = yaml.safe_load((EXAMPLES / name).read_text())
    return copy.deepcopy(document)


def main_container(sink: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = sink["spec"]["job"]["spec"]["template"]["spec"]["containers"][0]
    return container


def apply_sink(plane: ControlPlane, namespace: str, sink: dict[str, Any]) -> str:
    """Apply and wait until Ready; returns its name."""
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(sink))
    name = str(sink["metadata"]["name"])
    plane.kubectl(
        "wait", "--for=condition=Ready", "--timeout=60s", f"jobsinks.sinks.knative.dev/{name}",
        "-n", namespace,
    )  # fmt: skip
    return name


def post(
    stack: NodeStack, namespace: str, sink: str, event_id: str = "123", body: bytes = SEED_BODY
) -> httpx.Response:
    # JSON asked for: the answer then names the Job (a plain 202 has an empty body).
    headers = {**SEED_HEADERS, "ce-id": event_id, "accept": "application/json"}
    response = httpx.post(
        f"{stack.receiver.url}/{namespace}/{sink}",
        content=body,
        headers=headers,
        timeout=30,
        trust_env=False,
    )
    assert response.status_code == httpx.codes.ACCEPTED, response.text
    return response


def get_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def jobs_of(plane: ControlPlane, namespace: str, sink: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json(
        plane, "jobs", "-n", namespace, "-l", f"{LABEL_SINK_NAME}={sink}"
    )["items"]
    return items


def condition(job: dict[str, Any], kind: str) -> dict[str, Any] | None:
    for found in (job.get("status") or {}).get("conditions") or []:
        if found["type"] == kind and found["status"] == "True":
            return dict(found)
    return None


def wait_jobs_finished(
    plane: ControlPlane, namespace: str, sink: str, count: int, kind: str = "Complete"
) -> list[dict[str, Any]]:
    """Wait until ``count`` Jobs of ``sink`` have condition ``kind``; returns them."""
    finished: list[dict[str, Any]] = []

    def done() -> bool:
        nonlocal finished
        finished = [job for job in jobs_of(plane, namespace, sink) if condition(job, kind)]
        return len(finished) >= count

    wait_for(done, what=f"{count} Jobs of {sink} to be {kind}", timeout=WAIT)
    return finished


def logs(plane: ControlPlane, namespace: str, job: str) -> str:
    return plane.kubectl("logs", f"job/{job}", "-n", namespace).stdout


def eventually(condition_: Callable[[], bool], what: str, timeout: float = WAIT) -> float:
    return wait_for(condition_, what=what, timeout=timeout)


def location_state(stack: NodeStack, location: str) -> httpx.Response:
    return httpx.get(f"{stack.receiver.url}{location}", timeout=30, trust_env=False)


def pods_of(plane: ControlPlane, namespace: str, job: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = get_json(plane, "pods", "-n", namespace, "-l", f"job-name={job}")[
        "items"
    ]
    return items
