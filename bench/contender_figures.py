"""The figures of the side-by-side receiver benchmark, from what its windows measured (pure).

A *window* is one contender receiving one batch of events: unique ones, or the same ones again
(duplicates). For each it records the sender's view (events, seconds, latencies) and two CPU
readings over exactly that time: the receiver process's and the apiserver's. A contender's figure
of one kind sums all its windows of that kind (rate = events / seconds, CPU = CPU / events), so a
contender run in alternating windows gets each window's conditions in proportion to its events.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

UNIQUE = "unique"
DUPLICATE = "duplicate"


@dataclass(frozen=True)
class Window:
    contender: str
    kind: str
    events: int
    seconds: float
    latencies: Sequence[float]
    receiver_cpu_seconds: float
    apiserver_cpu_seconds: float | None
    statuses: Mapping[int, int] = field(default_factory=dict)
    retries: int = 0


def percentile(values: Iterable[float], fraction: float) -> float:
    """The nearest-rank percentile (the load generator's definition), 0 for no values."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass(frozen=True)
class KindFigures:
    """One contender's unique (or duplicate) windows taken together."""

    events: int
    events_per_s: float
    p50_ms: float
    p99_ms: float
    receiver_cpu_ms_per_event: float
    apiserver_cpu_ms_per_event: float | None
    statuses: dict[int, int]
    retries: int

    @classmethod
    def of(cls, windows: Sequence[Window]) -> KindFigures:
        if not windows:
            raise ValueError("no windows of this kind were run")
        events = sum(w.events for w in windows)
        seconds = sum(w.seconds for w in windows)
        latencies = [latency for w in windows for latency in w.latencies]
        apiserver = [w.apiserver_cpu_seconds for w in windows]
        statuses: dict[int, int] = {}
        for window in windows:
            for status, count in window.statuses.items():
                statuses[status] = statuses.get(status, 0) + count
        return cls(
            events=events,
            events_per_s=events / seconds if seconds else 0.0,
            p50_ms=percentile(latencies, 0.5) * 1000,
            p99_ms=percentile(latencies, 0.99) * 1000,
            receiver_cpu_ms_per_event=sum(w.receiver_cpu_seconds for w in windows) * 1000 / events,
            apiserver_cpu_ms_per_event=None
            if any(value is None for value in apiserver)
            else sum(value or 0.0 for value in apiserver) * 1000 / events,
            statuses=statuses,
            retries=sum(w.retries for w in windows),
        )


@dataclass(frozen=True)
class ContenderFigures:
    name: str
    unique: KindFigures
    duplicate: KindFigures
    peak_rss_mb: float
    ready_rss_mb: float
    audit: Mapping[str, Any]

    def as_dict(self) -> dict[str, Any]:
        def kind(figures: KindFigures) -> dict[str, Any]:
            return {
                "events": figures.events,
                "events_per_s": round(figures.events_per_s, 1),
                "p50_ms": round(figures.p50_ms, 1),
                "p99_ms": round(figures.p99_ms, 1),
                "receiver_cpu_ms_per_event": round(figures.receiver_cpu_ms_per_event, 3),
                "apiserver_cpu_ms_per_event": _rounded(figures.apiserver_cpu_ms_per_event, 3),
                "statuses": figures.statuses,
                "retries": figures.retries,
            }

        return {
            "unique": kind(self.unique),
            "duplicate": kind(self.duplicate),
            "peak_rss_mb": round(self.peak_rss_mb, 1),
            "ready_rss_mb": round(self.ready_rss_mb, 1),
            "audit": dict(self.audit),
        }


def _rounded(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def contender_figures(
    name: str,
    windows: Iterable[Window],
    peak_rss_mb: float,
    ready_rss_mb: float,
    audit: Mapping[str, Any],
) -> ContenderFigures:
    own = [w for w in windows if w.contender == name]
    return ContenderFigures(
        name=name,
        unique=KindFigures.of([w for w in own if w.kind == UNIQUE]),
        duplicate=KindFigures.of([w for w in own if w.kind == DUPLICATE]),
        peak_rss_mb=peak_rss_mb,
        ready_rss_mb=ready_rss_mb,
        audit=audit,
    )


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def ratios(ours: ContenderFigures, theirs: ContenderFigures) -> dict[str, float | None]:
    """ours / theirs for each figure (and the RSS difference in MB, which is what a target on
    memory is stated in)."""
    pairs = {
        "unique_events_per_s": (ours.unique.events_per_s, theirs.unique.events_per_s),
        "duplicate_events_per_s": (ours.duplicate.events_per_s, theirs.duplicate.events_per_s),
        "receiver_cpu_per_unique": (
            ours.unique.receiver_cpu_ms_per_event,
            theirs.unique.receiver_cpu_ms_per_event,
        ),
        "receiver_cpu_per_duplicate": (
            ours.duplicate.receiver_cpu_ms_per_event,
            theirs.duplicate.receiver_cpu_ms_per_event,
        ),
        "peak_rss": (ours.peak_rss_mb, theirs.peak_rss_mb),
        "apiserver_cpu_per_unique": (
            ours.unique.apiserver_cpu_ms_per_event,
            theirs.unique.apiserver_cpu_ms_per_event,
        ),
        "apiserver_cpu_per_duplicate": (
            ours.duplicate.apiserver_cpu_ms_per_event,
            theirs.duplicate.apiserver_cpu_ms_per_event,
        ),
    }
    result = {key: _rounded(_ratio(a, b), 2) for key, (a, b) in pairs.items()}
    result["peak_rss_difference_mb"] = round(ours.peak_rss_mb - theirs.peak_rss_mb, 1)
    return result


def _number(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "n/a"
    return f"{value:,.{digits}f}"


def _times(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def table(contenders: Sequence[ContenderFigures], labels: Mapping[str, str]) -> str:
    """The side-by-side table in Markdown: a column per contender (``labels``: its heading)
    and, when both ``ours`` and ``knative`` ran, the ratio ours / Knative."""
    by_name = {c.name: c for c in contenders}
    compared = (
        ratios(by_name["ours"], by_name["knative"])
        if "ours" in by_name and "knative" in by_name
        else None
    )
    rows: list[tuple[str, list[str], str]] = []

    def row(title: str, cell: Any, ratio_key: str | None, extra: str = "") -> None:
        ratio = "" if compared is None or ratio_key is None else _times(compared[ratio_key])
        rows.append((title, [cell(c) for c in contenders], ratio + extra))

    row(
        "unique events/s (p50 / p99 ms)",
        lambda c: (
            f"{_number(c.unique.events_per_s)} ({_number(c.unique.p50_ms, 0)} / "
            f"{_number(c.unique.p99_ms, 0)})"
        ),
        "unique_events_per_s",
    )
    row(
        "duplicates/s (p50 / p99 ms)",
        lambda c: (
            f"{_number(c.duplicate.events_per_s)} ({_number(c.duplicate.p50_ms, 0)} / "
            f"{_number(c.duplicate.p99_ms, 0)})"
        ),
        "duplicate_events_per_s",
    )
    row(
        "receiver CPU per unique event, ms",
        lambda c: _number(c.unique.receiver_cpu_ms_per_event, 2),
        "receiver_cpu_per_unique",
    )
    row(
        "receiver CPU per duplicate, ms",
        lambda c: _number(c.duplicate.receiver_cpu_ms_per_event, 2),
        "receiver_cpu_per_duplicate",
    )
    row(
        "receiver peak RSS, MB (at ready)",
        lambda c: f"{_number(c.peak_rss_mb, 0)} ({_number(c.ready_rss_mb, 0)})",
        "peak_rss",
        "" if compared is None else f" ({compared['peak_rss_difference_mb'] or 0.0:+.0f} MB)",
    )
    row(
        "apiserver CPU per unique event, ms",
        lambda c: _number(c.unique.apiserver_cpu_ms_per_event, 2),
        "apiserver_cpu_per_unique",
    )
    row(
        "apiserver CPU per duplicate, ms",
        lambda c: _number(c.duplicate.apiserver_cpu_ms_per_event, 2),
        "apiserver_cpu_per_duplicate",
    )
    row(
        "exactly once (distinct events / Jobs / Secrets)",
        lambda c: (
            ("✔" if c.audit.get("exactly_once") else "✘")
            + f" ({c.audit.get('distinct_events')} / {c.audit.get('jobs')} / "
            f"{c.audit.get('secrets')})"
        ),
        None,
    )
    heading = ["figure", *(labels.get(c.name, c.name) for c in contenders)]
    if compared is not None:
        heading.append(f"ours / {labels.get('knative', 'knative')}")
    lines = ["| " + " | ".join(heading) + " |", "|" + "---|" * len(heading)]
    for title, cells, ratio in rows:
        lines.append("| " + " | ".join([title, *cells, *([ratio] if compared else [])]) + " |")
    return "\n".join(lines)
