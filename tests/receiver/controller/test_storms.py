"""The write-storm guard, on a fake clock."""

from __future__ import annotations

import pytest

from receiver.controller.storms import StormGuard
from receiver.metrics import Metrics
from tests.receiver.figures import figure

KEY = ("default", "sink")


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def guard(clock: Clock, metrics: Metrics | None = None) -> StormGuard:
    return StormGuard(window=2.0, tolerated=3, max_hold=8.0, clock=clock, metrics=metrics)


@pytest.mark.parametrize(
    ("gaps", "held_for", "holds"),
    [
        pytest.param([], None, 0, id="one-write"),
        pytest.param([0.1, 0.1], None, 0, id="tolerated-quick-writes"),
        pytest.param([0.1, 0.1, 0.1], 1.0, 1, id="fourth-quick-write-held"),
        pytest.param([0.1, 0.1, 0.1, 1.0], 2.0, 2, id="hold-doubles"),
        pytest.param([0.1, 0.1, 0.1, 1.0, 2.0, 4.0, 8.0], 8.0, 5, id="hold-capped"),
        pytest.param([5.0, 5.0, 5.0, 5.0], None, 0, id="slow-writes-never-held"),
        pytest.param([0.1, 0.1, 0.1, 1.0, 30.0], None, 2, id="quiet-resets"),
    ],
)
def test_holds(gaps: list[float], held_for: float | None, holds: int) -> None:
    """``gaps``: seconds between consecutive writes, each made once the previous hold ended;
    ``holds``: how many writes were followed by a hold, as counted in the metrics."""
    clock, metrics = Clock(), Metrics()
    storms = guard(clock, metrics)
    storms.written(KEY)
    for gap in gaps:
        clock.now += gap
        assert storms.held_until(KEY) is None, "writes happen only when not held"
        storms.written(KEY)
    held = storms.held_until(KEY)
    assert (None if held is None else held - clock.now) == held_for
    assert figure(metrics, "jobsink_status_writes_held_total") == holds


def test_hold_ends() -> None:
    clock = Clock()
    storms = guard(clock)
    for _ in range(4):
        storms.written(KEY)
    assert storms.held_until(KEY) == 101.0
    clock.now += 1.0
    assert storms.held_until(KEY) is None


def test_keys_are_independent_and_forgotten() -> None:
    clock = Clock()
    storms = guard(clock)
    for _ in range(4):
        storms.written(KEY)
    storms.written(("default", "other"))
    assert storms.held_until(("default", "other")) is None
    storms.forget(KEY)
    assert storms.held_until(KEY) is None
    storms.written(KEY)
    assert storms.held_until(KEY) is None, "a forgotten key starts afresh"
