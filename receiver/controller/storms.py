"""Spotting a write storm: a JobSink whose status is changed back right after every write.

One reconciler never storms on its own (its write comes back through the watch and matches), but
two differently configured writers can: say a second receiver Deployment with another public URL,
or the same one with another Lease name. Each sees the other's status as wrong and rewrites it, as
fast as the apiserver answers. The guard notices writes to one JobSink that keep following each
other within ``window`` seconds and holds that JobSink back, doubling the hold up to ``max_hold``,
so the fight costs a few writes a minute instead of hundreds a second, and says so in the log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Hashable

from receiver.metrics import Metrics

log = logging.getLogger(__name__)


class StormGuard:
    def __init__(
        self,
        *,
        window: float = 2.0,
        tolerated: int = 3,
        max_hold: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._window = window
        self._tolerated = tolerated
        self._max_hold = max_hold
        self._clock = clock
        self._held = (metrics or Metrics()).status_writes_held
        self._last: dict[Hashable, float] = {}
        self._streak: dict[Hashable, int] = {}
        self._held_until: dict[Hashable, float] = {}

    def held_until(self, key: Hashable) -> float | None:
        """When ``key`` may be written again, if it is held back now."""
        until = self._held_until.get(key)
        return until if until is not None and until > self._clock() else None

    def written(self, key: Hashable) -> None:
        """Record a status write of ``key``."""
        now = self._clock()
        last = self._last.get(key)
        # Counted from the end of the previous hold: a write made as soon as one is allowed is
        # as quick as one made right after the previous write.
        since = max(last, self._held_until.get(key, last)) if last is not None else None
        quick = since is not None and now - since < self._window
        streak = self._streak.get(key, 0) + 1 if quick else 0
        self._last[key] = now
        self._streak[key] = streak
        if streak < self._tolerated:
            self._held_until.pop(key, None)
            return
        hold = min(2.0 ** (streak - self._tolerated), self._max_hold)
        self._held_until[key] = now + hold
        self._held.inc()
        if streak == self._tolerated:
            log.warning(
                "status of JobSink %s keeps being changed back right after each write; is another "
                "receiver with a different configuration or Lease writing JobSink status? "
                "Holding its writes back (up to %.0fs apart)",
                "/".join(map(str, key)) if isinstance(key, tuple) else key,
                self._max_hold,
            )

    def forget(self, key: Hashable) -> None:
        """``key`` is gone (or quiet): drop what was kept about it."""
        self._last.pop(key, None)
        self._streak.pop(key, None)
        self._held_until.pop(key, None)
