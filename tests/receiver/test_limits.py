"""Backpressure primitives: the in-flight counter, the body budget and the client-side QPS
bucket."""

from __future__ import annotations

import threading
import time

import pytest

from kubeapi.errors import KubeError
from receiver.limits import BodyBudget, InflightLimit, TokenBucket


def test_inflight_limit_refuses_beyond_its_slots() -> None:
    limit = InflightLimit(2)
    assert [limit.try_acquire() for _ in range(3)] == [True, True, False]
    limit.release()
    assert limit.try_acquire()


def test_inflight_slots_given_back_from_many_threads_are_all_counted() -> None:
    limit = InflightLimit(1000)
    assert all(limit.try_acquire() for _ in range(1000))

    def release_100() -> None:
        for _ in range(100):
            limit.release()

    workers = [threading.Thread(target=release_100) for _ in range(10)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert limit.current == 0


@pytest.mark.parametrize(
    ("takes", "taken"),
    [
        pytest.param([10, 90], [True, True], id="exactly-full"),
        pytest.param([60, 41, 40], [True, False, True], id="a-chunk-past-it-is-refused-alone"),
        pytest.param([101], [False], id="one-chunk-over"),
    ],
)
def test_body_budget_holds_what_fits(takes: list[int], taken: list[bool]) -> None:
    budget = BodyBudget(100)
    assert [budget.try_take(size) for size in takes] == taken
    held = sum(size for size, ok in zip(takes, taken, strict=True) if ok)
    assert budget.held == held
    budget.give_back(held)
    assert budget.try_take(100)


def test_token_bucket_gives_its_burst_at_once_then_refuses_past_the_deadline() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)
    deadline = time.monotonic() + 0.2
    bucket.wait(deadline)
    bucket.wait(deadline)
    with pytest.raises(KubeError) as caught:
        bucket.wait(deadline)  # the next token is a second away
    assert caught.value.retryable
    assert caught.value.retry_after is not None
    assert caught.value.retry_after > 0.5


def test_a_refused_caller_does_not_use_up_a_token() -> None:
    bucket = TokenBucket(rate=1000.0, burst=1)
    bucket.wait(time.monotonic() + 1)
    with pytest.raises(KubeError):
        bucket.wait(time.monotonic())  # already past its deadline
    bucket.wait(time.monotonic() + 1)  # one token a millisecond: available again shortly
