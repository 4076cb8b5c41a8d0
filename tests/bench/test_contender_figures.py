"""The side-by-side benchmark's arithmetic and table, from windows made up here."""

from __future__ import annotations

import pytest

from bench.contender_figures import (
    DUPLICATE,
    UNIQUE,
    ContenderFigures,
    KindFigures,
    Window,
    contender_figures,
    percentile,
    ratios,
    table,
)


def window(
    contender: str,
    kind: str,
    events: int,
    seconds: float,
    cpu: float,
    apiserver: float | None = 1.0,
    latency: float = 0.1,
) -> Window:
    return Window(
        contender, kind, events, seconds, [latency] * events, cpu, apiserver, {202: events}
    )


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([], 0.5, 0.0), ([3.0], 0.99, 3.0), ([4.0, 1.0, 3.0, 2.0], 0.5, 3.0), ([1.0, 2.0], 0.99, 2.0)],
)
def test_percentile_is_the_load_generators_nearest_rank(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == expected


@pytest.mark.parametrize(
    ("windows", "rate", "cpu_ms", "apiserver_ms"),
    [
        # One window: events / seconds, CPU / events.
        ([window("a", UNIQUE, 100, 2.0, 0.5, 0.25)], 50.0, 5.0, 2.5),
        # Several: sums over sums, so a long slow window weighs by its events, not 1/n.
        (
            [window("a", UNIQUE, 100, 1.0, 0.1, 0.2), window("a", UNIQUE, 300, 5.0, 0.5, 0.2)],
            400 / 6.0, 1.5, 1.0,
        ),
        # One window without an apiserver reading: no apiserver figure at all.
        (
            [window("a", UNIQUE, 100, 1.0, 0.1), window("a", UNIQUE, 100, 1.0, 0.1, None)],
            100.0, 1.0, None,
        ),
    ],
)  # fmt: skip
def test_kind_figures_sum_the_windows(
    windows: list[Window], rate: float, cpu_ms: float, apiserver_ms: float | None
) -> None:
    figures = KindFigures.of(windows)
    assert figures.events_per_s == pytest.approx(rate)
    assert figures.receiver_cpu_ms_per_event == pytest.approx(cpu_ms)
    if apiserver_ms is None:
        assert figures.apiserver_cpu_ms_per_event is None
    else:
        assert figures.apiserver_cpu_ms_per_event == pytest.approx(apiserver_ms)
    assert figures.statuses == {202: sum(w.events for w in windows)}


def test_kind_figures_refuse_no_windows() -> None:
    with pytest.raises(ValueError, match="no windows"):
        KindFigures.of([])


AUDIT_OK = {"exactly_once": True, "distinct_events": 200, "jobs": 200, "secrets": 200}
WINDOWS = [
    window("ours", UNIQUE, 100, 1.0, 0.3, 0.2, 0.05),
    window("knative", UNIQUE, 100, 1.0, 0.1, 0.4, 0.2),
    window("ours", DUPLICATE, 100, 0.1, 0.07, 0.01),
    window("knative", DUPLICATE, 100, 0.2, 0.1, 0.16),
    window("knative", UNIQUE, 100, 1.0, 0.1, 0.4, 0.2),
    window("ours", UNIQUE, 100, 1.0, 0.3, 0.2, 0.05),
    window("knative", DUPLICATE, 100, 0.2, 0.1, 0.16),
    window("ours", DUPLICATE, 100, 0.1, 0.07, 0.01),
]


def _both() -> tuple[ContenderFigures, ContenderFigures]:
    ours = contender_figures("ours", WINDOWS, 140.0, 90.0, AUDIT_OK)
    knative = contender_figures("knative", WINDOWS, 60.0, 45.0, AUDIT_OK)
    return ours, knative


def test_contender_figures_take_only_their_own_windows() -> None:
    ours, knative = _both()
    assert ours.unique.events == 200
    assert ours.unique.receiver_cpu_ms_per_event == pytest.approx(3.0)
    assert knative.unique.receiver_cpu_ms_per_event == pytest.approx(1.0)
    assert ours.duplicate.events_per_s == pytest.approx(1000.0)
    assert knative.duplicate.events_per_s == pytest.approx(500.0)


def test_ratios_are_ours_over_knative_and_the_rss_difference() -> None:
    ours, knative = _both()
    assert ratios(ours, knative) == {
        "unique_events_per_s": 1.0,
        "duplicate_events_per_s": 2.0,
        "receiver_cpu_per_unique": 3.0,
        "receiver_cpu_per_duplicate": 0.7,
        "peak_rss": 2.33,
        "apiserver_cpu_per_unique": 0.5,
        "apiserver_cpu_per_duplicate": 0.06,
        "peak_rss_difference_mb": 80.0,
    }


def test_table_has_a_column_per_contender_and_the_ratio() -> None:
    ours, knative = _both()
    rendered = table([ours, knative], {"ours": "Ours", "knative": "Knative raised"})
    lines = rendered.splitlines()
    assert lines[0] == "| figure | Ours | Knative raised | ours / Knative raised |"
    assert lines[1] == "|---|---|---|---|"
    rows = {line.split(" | ")[0].removeprefix("| "): line for line in lines[2:]}
    assert rows["unique events/s (p50 / p99 ms)"].endswith(
        "| 100.0 (50 / 50) | 100.0 (200 / 200) | 1.00x |"
    )
    assert rows["receiver CPU per unique event, ms"].endswith("| 3.00 | 1.00 | 3.00x |")
    assert rows["receiver peak RSS, MB (at ready)"].endswith(
        "| 140 (90) | 60 (45) | 2.33x (+80 MB) |"
    )
    assert rows["exactly once (distinct events / Jobs / Secrets)"].endswith(
        "| ✔ (200 / 200 / 200) | ✔ (200 / 200 / 200) |  |"
    )


def test_table_without_knative_has_no_ratio_column() -> None:
    failed = contender_figures("ours", WINDOWS, 140.0, 90.0, {**AUDIT_OK, "exactly_once": False})
    lines = table([failed], {}).splitlines()
    assert lines[0] == "| figure | ours |"
    assert lines[-1] == "| exactly once (distinct events / Jobs / Secrets) | ✘ (200 / 200 / 200) |"
