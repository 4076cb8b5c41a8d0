"""Aggregation of like Events into series, and the bounds on how many Event writes there are.

Pure bookkeeping, with the clock passed in: :class:`SeriesBook` decides what to write and when;
``receiver.outcomes.events`` does the writing.

Two Events are alike when everything but their time is the same (the key of client-go's
events.k8s.io recorder: regarding, related, reporting controller, action, reason, note, type).
The first of a kind is written at once as a new Event; the ones after it only add to a count,
and the Event's ``series`` (``count``: occurrences so far, the first included, so at least 2 as
the API requires; ``lastObservedTime``) is patched at most once per ``interval``. A kind not seen
for ``window`` seconds starts a new Event. So a storm of 10,000 like events over a minute is one
create and one patch per interval.

Bounds, so that no storm floods etcd: creates of new Events take a token from their JobSink's
bucket (``sink_burst``, refilled at ``sink_rate`` per second) and every write takes one from a
global bucket (``global_burst``, ``global_rate``); at most ``max_series`` kinds are tracked at
once. What a bound refuses is counted by the caller, not written.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Literal

Drop = Literal["sink_rate", "global_rate", "full"]


@dataclass
class Bucket:
    """A token bucket on a caller's clock that never waits: ``take`` says yes or no."""

    rate: float
    burst: float
    tokens: float = -1.0
    stamp: float = 0.0

    def take(self, now: float) -> bool:
        if self.tokens < 0:
            self.tokens, self.stamp = self.burst, now
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


@dataclass
class Series:
    """One kind of Event: its name once written, and occurrences counted and written."""

    sink: Hashable
    count: int = 1
    written: int = 0
    name: str | None = None
    last_seen: float = 0.0
    last_written: float = float("-inf")
    last_observed_wall: float = 0.0


@dataclass(frozen=True)
class Write:
    """One Event write: a create (``name`` None) or a series patch of the Event ``name``."""

    key: Hashable
    name: str | None
    count: int
    last_observed_wall: float


@dataclass
class SeriesBook:
    interval: float = 10.0
    window: float = 360.0
    sink_rate: float = 1 / 30
    sink_burst: float = 25
    global_rate: float = 5.0
    global_burst: float = 50
    max_series: int = 4096
    series: dict[Hashable, Series] = field(default_factory=dict)
    _sinks: dict[Hashable, Bucket] = field(default_factory=dict)
    _global: Bucket | None = None

    def observe(self, key: Hashable, sink: Hashable, now: float, wall: float) -> Drop | None:
        """Count one occurrence; the reason when it is dropped, None when it is kept."""
        entry = self.series.get(key)
        if entry is not None and now - entry.last_seen <= self.window:
            entry.count += 1
            entry.last_seen, entry.last_observed_wall = now, wall
            return None
        if entry is None and len(self.series) >= self.max_series:
            self.expire(now)
            if len(self.series) >= self.max_series:
                return "full"
        bucket = self._sinks.get(sink)
        if bucket is None:
            bucket = self._sinks[sink] = Bucket(self.sink_rate, self.sink_burst)
        if not bucket.take(now):
            return "sink_rate"
        self.series[key] = Series(sink, last_seen=now, last_observed_wall=wall)
        return None

    def due(self, now: float) -> list[Write]:
        """The writes to make now: new kinds first, then series with news at least ``interval``
        after their last write."""
        fresh = [(k, s) for k, s in self.series.items() if s.name is None and s.written == 0]
        counted = [
            (k, s)
            for k, s in self.series.items()
            if s.name is not None and s.count > s.written and now - s.last_written >= self.interval
        ]
        return [Write(k, s.name, s.count, s.last_observed_wall) for k, s in (*fresh, *counted)]

    def allow_write(self, now: float) -> bool:
        """Take a token of the global bucket for one write."""
        if self._global is None:
            self._global = Bucket(self.global_rate, self.global_burst)
        return self._global.take(now)

    def written(self, write: Write, name: str | None, now: float) -> None:
        """Record that ``write`` landed as the Event ``name``; None means it failed or the Event
        is gone, and the kind is forgotten (the next occurrence starts a new Event)."""
        entry = self.series.get(write.key)
        if entry is None:
            return
        if name is None:
            del self.series[write.key]
            return
        entry.name, entry.written, entry.last_written = name, write.count, now

    def expire(self, now: float) -> None:
        """Forget kinds quiet for longer than ``window`` whose count is all written, and the
        buckets of JobSinks with no kind left that are full again."""
        for key in [
            k
            for k, s in self.series.items()
            if now - s.last_seen > self.window and s.written >= s.count
        ]:
            del self.series[key]
        active = {s.sink for s in self.series.values()}
        for sink in [
            k
            for k, b in self._sinks.items()
            if k not in active and b.tokens + (now - b.stamp) * b.rate >= b.burst
        ]:
            del self._sinks[sink]
