"""bench-knative's arithmetic and table, from windows made up here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bench.knative_bench import table, window_figures

START = datetime(2026, 1, 1, tzinfo=UTC)
REPORT = {"accepted_per_second": 2.5, "tally": {"final:202": 500}}


@pytest.mark.parametrize(
    ("events", "created_after", "jobs", "seconds", "per_second"),
    [
        pytest.param(500, [10.0, 200.0], 2, 200.0, 2.5, id="last-job-decides"),
        pytest.param(500, [200.0, 10.0], 2, 200.0, 2.5, id="order-of-stamps-irrelevant"),
        pytest.param(10, [0.0], 1, 1.0, 10.0, id="same-second-counts-as-one"),
        pytest.param(10, [], 0, 1.0, 10.0, id="no-job-yet"),
    ],
)
def test_events_per_second_run_from_the_senders_start_to_the_last_job(
    events: int, created_after: list[float], jobs: int, seconds: float, per_second: float
) -> None:
    created = [START + timedelta(seconds=after) for after in created_after]
    window = window_figures("direct", events, START, created, REPORT)
    assert (window.jobs, window.seconds_to_jobs, window.events_per_second) == (
        jobs,
        seconds,
        per_second,
    )
    assert window.sender_tally == {"final:202": 500}


def test_the_table_has_a_row_per_window_and_the_start_up_line() -> None:
    windows = [
        window_figures("direct", 500, START, [START + timedelta(seconds=201)], REPORT).__dict__,
        window_figures("broker", 500, START, [START + timedelta(seconds=250)], REPORT).__dict__,
    ]
    figures = {
        "windows": windows,
        "plane_seconds": 18.2,
        "knative_startup": {"images": 22.7, "apply": 22.3, "ready": 29.8, "total": 74.7},
    }
    lines = table(figures).splitlines()
    assert lines[2] == "| direct | 500 | 1 | 201 | 2.5 | 2.5 |"
    assert lines[3] == "| broker | 500 | 1 | 250 | 2.0 | 2.5 |"
    assert lines[-1].endswith("74.7 s in all (control plane and node: 18.2 s)")
