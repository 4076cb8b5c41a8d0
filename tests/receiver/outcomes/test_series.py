"""The aggregation of like Events into series and the bounds on Event writes (pure, on a fake
clock)."""

from __future__ import annotations

import pytest

from receiver.outcomes.series import Bucket, SeriesBook

SINK = ("ns", "sink")


def drain(book: SeriesBook, now: float) -> int:
    """Make every due write land (names e-0, e-1...); how many there were."""
    writes = book.due(now)
    for i, write in enumerate(writes):
        book.written(write, write.name or f"e-{i}", now)
    return len(writes)


def test_a_storm_of_like_events_is_one_create_and_a_patch_per_interval() -> None:
    book = SeriesBook(interval=10.0)
    writes = 0
    for i in range(10_000):
        now = i * 0.006  # 10,000 events in 60 s
        assert book.observe("created", SINK, now, wall=1000 + now) is None
        writes += drain(book, now)
    writes += drain(book, 1000.0)
    assert 6 <= writes <= 8
    (series,) = book.series.values()
    assert series.count == series.written == 10_000


@pytest.mark.parametrize(
    ("occurrences", "expected_counts"),
    [
        (1, []),  # a single one: the create, no series
        (2, [2]),  # the series' count includes the first occurrence, as the API wants (>= 2)
        (5, [5]),
    ],
)
def test_series_counts(occurrences: int, expected_counts: list[int]) -> None:
    book = SeriesBook(interval=10.0)
    book.observe("k", SINK, 0.0, 0.0)
    (create,) = book.due(0.0)
    assert create.name is None
    assert create.count == 1
    book.written(create, "e", 0.0)
    for _ in range(occurrences - 1):
        book.observe("k", SINK, 1.0, 1.0)
    assert book.due(5.0) == []  # not before the interval is over
    assert [w.count for w in book.due(10.0)] == expected_counts


def test_a_kind_quiet_past_the_window_starts_a_new_event() -> None:
    book = SeriesBook(interval=1.0, window=60.0)
    book.observe("k", SINK, 0.0, 0.0)
    drain(book, 0.0)
    book.observe("k", SINK, 61.0, 61.0)
    (write,) = book.due(61.0)
    assert write.name is None
    assert write.count == 1


def test_a_failed_write_forgets_the_kind() -> None:
    book = SeriesBook()
    book.observe("k", SINK, 0.0, 0.0)
    (write,) = book.due(0.0)
    book.written(write, None, 0.0)
    assert book.series == {}


@pytest.mark.parametrize(
    ("burst", "rate", "kinds", "at", "kept"),
    [
        (25, 1 / 30, 100, 0.0, 25),  # a burst of distinct Events (a Job failure each) is cut
        (25, 1 / 30, 100, 300.0, 25),  # all within the same instant, even late
        (5, 1.0, 5, 0.0, 5),
    ],
)
def test_per_sink_rate_limit(burst: int, rate: float, kinds: int, at: float, kept: int) -> None:
    book = SeriesBook(sink_burst=burst, sink_rate=rate)
    drops = [book.observe(f"job-{i}", SINK, at, at) for i in range(kinds)]
    assert drops.count(None) == kept
    assert set(drops) - {None} <= {"sink_rate"}
    # another JobSink has its own bucket
    assert book.observe("other", ("ns", "other-sink"), at, at) is None


def test_the_book_holds_at_most_max_series_kinds() -> None:
    book = SeriesBook(max_series=3, sink_burst=100)
    assert [book.observe(i, SINK, 0.0, 0.0) for i in range(4)] == [None, None, None, "full"]
    drain(book, 0.0)
    # once written and quiet past the window they make room again
    assert book.observe(9, SINK, 1000.0, 1000.0) is None


@pytest.mark.parametrize(
    ("rate", "burst", "times", "granted"),
    [
        (1.0, 2, [0.0, 0.0, 0.0], [True, True, False]),
        (1.0, 2, [0.0, 0.0, 0.0, 1.0], [True, True, False, True]),
        (0.5, 1, [0.0, 1.0, 2.0], [True, False, True]),
    ],
)
def test_bucket(rate: float, burst: float, times: list[float], granted: list[bool]) -> None:
    bucket = Bucket(rate, burst)
    assert [bucket.take(t) for t in times] == granted


def test_the_global_bucket_bounds_all_writes() -> None:
    book = SeriesBook(global_burst=3, global_rate=1.0)
    assert [book.allow_write(0.0) for _ in range(4)] == [True, True, True, False]
