"""Five events into a queued JobSink, a ClusterQueue with room for two Jobs, Kueue's own manager.

The receiver answers every event at once (the Job exists, suspended by Kueue's webhook); Kueue
admits two Jobs, then one more each time one finishes; every Job ends Complete. What is checked
comes from the Jobs as a poller sees them and from Kueue's Workloads, the figures (event to
admission, event to completion) are printed for docs/benchmarks.md.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
from kubernetes import client

from receiver.dataplane.answers import QUEUE_NAME_LABEL
from tests.e2e.node.kueue.scenario import (
    WorkloadTimes,
    cluster_queue_quota,
    cpu_request,
    millicpu,
    most_admitted_at_once,
    queued_sink,
    workload_times,
)
from tests.e2e.node.runs import NodeStack, apply_sink, location_state, post

EVENTS = 5
ALL_DONE = 240.0  # five Jobs of ~5 s, two at a time, on a shared 2-core machine
POLL = 0.2


@dataclass
class Seen:
    """One Job as the poller saw it: when it was first unsuspended and first Complete."""

    sent: float
    answered: float
    location: str
    admitted: float | None = None
    complete: float | None = None


def _complete(job: Any) -> bool:
    conditions = (job.status and job.status.conditions) or []
    return any(c.type == "Complete" and c.status == "True" for c in conditions)


def test_five_events_wait_in_the_queue_and_run_two_at_a_time(
    node_stack: NodeStack, kueue_namespace: str, node_api_client: client.ApiClient
) -> None:
    plane, namespace = node_stack.plane, kueue_namespace
    sink = queued_sink()
    # The arithmetic the scenario rests on: the quota holds exactly two of these Jobs.
    assert millicpu(cluster_queue_quota()) // millicpu(cpu_request(sink)) == 2
    name = apply_sink(plane, namespace, sink)

    def send(index: int) -> tuple[str, Seen]:
        sent = time.monotonic()
        answer = post(node_stack, namespace, name, event_id=f"queued-{index}")
        return answer.json()["job"], Seen(sent, time.monotonic(), answer.headers["location"])

    with ThreadPoolExecutor(EVENTS) as pool:
        seen = dict(pool.map(send, range(EVENTS)))
    all_answered = time.monotonic()

    batch = client.BatchV1Api(node_api_client)
    jobs = batch.list_namespaced_job(namespace).items
    assert sorted(job.metadata.name for job in jobs) == sorted(seen)
    assert all(job.metadata.labels[QUEUE_NAME_LABEL] == "user-queue" for job in jobs)
    # Every answer came while Jobs were still waiting: the receiver does not wait for admission.
    held = [job.metadata.name for job in jobs if job.spec.suspend]
    assert len(held) >= EVENTS - 2, [(j.metadata.name, j.spec.suspend) for j in jobs]

    # Kueue may admit two of the held Jobs between that list and these reads; the others wait
    # until one of those finishes, which takes seconds.
    answers = {seen[job].location: location_state(node_stack, seen[job].location) for job in held}
    assert all(a.status_code == httpx.codes.ACCEPTED for a in answers.values()), answers
    queued = {where: a for where, a in answers.items() if a.json()["state"] == "Queued"}
    assert len(queued) >= len(held) - 2, [a.json() for a in answers.values()]
    for where, answer in queued.items():
        assert answer.json()["queue"] == "user-queue", answer.json()
        assert answer.headers["location"] == where

    most_running = 0
    deadline = time.monotonic() + ALL_DONE
    while any(s.complete is None for s in seen.values()):
        assert time.monotonic() < deadline, f"not all Jobs completed in {ALL_DONE:.0f}s: {seen}"
        now = time.monotonic()
        running = set()
        for job in batch.list_namespaced_job(namespace).items:
            mine = seen[job.metadata.name]
            if not job.spec.suspend and mine.admitted is None:
                mine.admitted = now
            if _complete(job) and mine.complete is None:
                mine.complete = now
            if not job.spec.suspend and not _complete(job):
                running.add(job.metadata.name)
        most_running = max(most_running, len(running))
        time.sleep(POLL)
    assert most_running <= 2

    times = workload_times(plane, namespace)
    assert sorted(t.job for t in times) == sorted(seen)
    assert most_admitted_at_once(times) == 2
    finishes = sorted(t.finished for t in times)
    for number, admitted in enumerate(sorted(t.admitted for t in times)[2:]):
        # The third admission waits for the first finish, the fourth for the second, ...
        assert admitted >= finishes[number], times

    _print_figures(seen, all_answered, times)


def _print_figures(seen: dict[str, Seen], all_answered: float, times: list[WorkloadTimes]) -> None:
    first = min(s.sent for s in seen.values())
    print(f"\nall {len(seen)} answers {all_answered - first:.2f}s after the first send")
    order = {t.job: number for number, t in enumerate(times, 1)}
    for job, s in sorted(seen.items(), key=lambda item: order[item[0]]):
        assert s.admitted is not None
        assert s.complete is not None
        print(
            f"admission #{order[job]}: answered {s.answered - s.sent:.2f}s, "
            f"admitted {s.admitted - s.sent:.1f}s, complete {s.complete - s.sent:.1f}s "
            f"after its event"
        )
    spans = [(t.job[-8:], t.admitted.time(), t.finished.time()) for t in times]
    print("workloads (admitted, finished):", [(j, str(a), str(f)) for j, a, f in spans])
