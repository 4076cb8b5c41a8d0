"""The store of failed Jobs awaiting their dead letter (the informer feeds it; no apiserver)."""

from __future__ import annotations

from typing import Any

from jobsink.names import LABEL_SINK_NAME
from receiver.deadletter.pending import PendingJobs, pending_job


def job(name: str, uid: str = "u1", *, failed: bool = True) -> dict[str, Any]:
    conditions = [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]
    return {
        "metadata": {"namespace": "ns", "name": name, "uid": uid,
                     "labels": {LABEL_SINK_NAME: "failing"}},
        "status": {"conditions": conditions if failed else []},
    }  # fmt: skip


class Leading:
    def __init__(self, value: bool) -> None:
        self.value = value
        self.wakes = 0

    def __call__(self) -> bool:
        return self.value

    def wake(self) -> None:
        self.wakes += 1


def test_only_failed_jobs_are_kept_and_each_new_one_wakes_the_sender() -> None:
    leading = Leading(True)
    store = PendingJobs(leading, leading.wake)
    store.replace([job("a"), job("running", failed=False)])
    store.put(job("a"))  # the same Job again: no new wake
    store.put(job("b"))
    assert sorted(j.name for j in store.snapshot()) == ["a", "b"]
    assert leading.wakes == 2
    (b,) = [j for j in store.snapshot() if j.name == "b"]
    assert (b.sink, b.failure.reason) == ("failing", "BackoffLimitExceeded")


def test_a_deleted_job_stays_for_the_leader_to_send_or_report() -> None:
    leading = Leading(True)
    store = PendingJobs(leading, leading.wake)
    store.put(job("a"))
    store.remove(job("a"))
    assert len(store) == 1
    leading.value = False
    store.remove(job("a"))  # elsewhere the leader owns the outcome
    assert len(store) == 0


def test_done_forgets_only_that_very_job() -> None:
    leading = Leading(True)
    store = PendingJobs(leading, leading.wake)
    store.put(job("a", "old"))
    old = pending_job(job("a", "old"))
    assert old is not None
    store.put(job("a", "new"))  # a namesake replaced it
    store.done(old)
    assert [j.uid for j in store.snapshot()] == ["new"]
