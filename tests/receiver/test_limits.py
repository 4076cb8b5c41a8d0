"""Backpressure primitives: the in-flight counter and the client-side QPS bucket."""

from __future__ import annotations

import time

import pytest

from kubeapi.errors import KubeError
from receiver.limits import InflightLimit, TokenBucket


def test_inflight_limit_refuses_beyond_its_slots() -> None:
    limit = InflightLimit(2)
    assert [limit.try_acquire() for _ in range(3)] == [True, True, False]
    limit.release()
    assert limit.try_acquire()


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
