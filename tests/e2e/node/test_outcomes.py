"""How Jobs end, as an operator sees it, on the local node: a Job that succeeds and one that
exits 1 are counted on the receiver's /metrics per JobSink, and ``kubectl describe jobsink``
shows the Events (Jobs created, completed, failed)."""

from __future__ import annotations

import re

import httpx

from tests.e2e.node.runs import (
    NodeStack,
    apply_sink,
    eventually,
    example,
    main_container,
    post,
    wait_jobs_finished,
)


def sample(metrics: str, name: str, namespace: str, sink: str, extra: str = "") -> float:
    """One sample of ``metrics`` (the exposition text), 0 when absent."""
    labels = f'jobsink="{sink}",namespace="{namespace}"{extra}'
    found = re.search(rf"^{re.escape(name)}\{{{re.escape(labels)}\}} (\S+)$", metrics, re.M)
    return float(found.group(1)) if found else 0.0


def test_ended_jobs_are_counted_and_described(node_stack: NodeStack, node_namespace: str) -> None:
    plane = node_stack.plane
    fine = apply_sink(plane, node_namespace, example("job-sink-logger.yaml"))
    broken = example("job-sink-logger.yaml")
    broken["metadata"]["name"] = "job-sink-exit-1"
    broken["spec"]["job"]["spec"]["backoffLimit"] = 0
    main_container(broken)["command"] = ["bash", "-c", "exit 1"]
    main_container(broken).pop("args", None)
    failing = apply_sink(plane, node_namespace, broken)

    post(node_stack, node_namespace, fine)
    post(node_stack, node_namespace, failing)
    (done,) = wait_jobs_finished(plane, node_namespace, fine, 1)
    (failed,) = wait_jobs_finished(plane, node_namespace, failing, 1, kind="Failed")

    def exposition() -> str:
        answer = httpx.get(f"{node_stack.receiver.url}/metrics", timeout=10, trust_env=False)
        return answer.text

    def counted() -> bool:
        text = exposition()
        return (
            sample(text, "jobsink_sink_jobs_succeeded_total", node_namespace, fine) == 1
            and sample(text, "jobsink_sink_jobs_failed_total", node_namespace, failing) == 1
        )

    eventually(counted, what="the receiver to count one succeeded and one failed Job", timeout=60)
    text = exposition()
    assert sample(text, "jobsink_sink_jobs_created_total", node_namespace, fine) == 1
    assert sample(text, "jobsink_sink_jobs_failed_total", node_namespace, fine) == 0
    seconds = sample(
        text, "jobsink_sink_job_duration_seconds_count", node_namespace, failing,
        ',outcome="failed"',
    )  # fmt: skip
    assert seconds == 1

    def described(sink: str, *reasons: str) -> bool:
        shown = plane.kubectl("describe", "jobsink", sink, "-n", node_namespace).stdout
        events = shown[shown.index("Events:") :]
        return all(reason in events for reason in reasons)

    eventually(
        lambda: described(fine, "SuccessfulCreate", "Completed"),
        what="kubectl describe to show SuccessfulCreate and Completed",
        timeout=60,
    )
    eventually(
        lambda: described(failing, "SuccessfulCreate", "JobFailed", failed["metadata"]["name"]),
        what="kubectl describe to show the JobFailed Event naming the Job",
        timeout=60,
    )
    assert done["metadata"]["name"] != failed["metadata"]["name"]
