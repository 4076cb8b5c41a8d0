"""Many Pods at once, and a JobSink deleted while its Pods run."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from tests.e2e.node.runs import (
    NodeStack,
    apply_sink,
    eventually,
    example,
    get_json,
    jobs_of,
    logs,
    main_container,
    post,
    wait_jobs_finished,
)

BURST = 20


def test_a_burst_of_events_runs_a_pod_per_event_each_printing_its_own(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = apply_sink(plane, node_namespace, example("job-sink-logger.yaml"))
    ids = [f"burst-{number}" for number in range(BURST)]

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        list(pool.map(lambda event_id: post(node_stack, node_namespace, sink, event_id), ids))
    jobs = wait_jobs_finished(plane, node_namespace, sink, BURST)

    printed = {
        json.loads(logs(plane, node_namespace, job["metadata"]["name"]))["id"] for job in jobs
    }
    assert printed == set(ids)


def test_deleting_the_jobsink_while_pods_run_collects_jobs_pods_and_secrets(
    node_stack: NodeStack, node_namespace: str
) -> None:
    plane = node_stack.plane
    sink = example("job-sink-logger.yaml")
    sink["metadata"]["name"] = "job-sink-sleeper"
    main_container(sink).update(command=["bash"], args=["-c", "sleep 300"])
    # bash as PID 1 ignores SIGTERM, so each Pod would take its whole grace period to stop.
    sink["spec"]["job"]["spec"]["template"]["spec"]["terminationGracePeriodSeconds"] = 2
    name = apply_sink(plane, node_namespace, sink)
    for event_id in ("a", "b", "c"):
        post(node_stack, node_namespace, name, event_id)

    def running() -> bool:
        pods = get_json(plane, "pods", "-n", node_namespace)["items"]
        return sum(pod["status"].get("phase") == "Running" for pod in pods) == 3

    eventually(running, what="three Pods to be Running")
    plane.kubectl("delete", "jobsinks.sinks.knative.dev", name, "-n", node_namespace)

    def collected() -> bool:
        left = [
            kind
            for kind in ("jobs", "pods", "secrets")
            for item in get_json(plane, kind, "-n", node_namespace)["items"]
            if item["metadata"]["name"].startswith(name)
        ]
        return not left and not jobs_of(plane, node_namespace, name)

    eventually(collected, what="the Jobs, Pods and Secrets of the deleted JobSink to go")
