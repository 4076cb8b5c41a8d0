"""Backpressure: a hard in-flight limit answered at once, and an optional client-side QPS limit.

The in-flight limit is the receiver's memory bound: a request takes a slot before its body is
read, and a request that finds none gets 429 + Retry-After immediately instead of waiting in a
queue, so 10x overload costs a few hundred bytes per refused request and nothing more.
"""

from __future__ import annotations

import threading
import time

from kubeapi.errors import KubeError


class InflightLimit:
    """A counter of slots, used only from the event loop (so it needs no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.current = 0

    def try_acquire(self) -> bool:
        if self.current >= self.limit:
            return False
        self.current += 1
        return True

    def release(self) -> None:
        self.current -= 1


class TokenBucket:
    """``rate`` calls per second on average, ``burst`` at once; shared by worker threads."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, deadline: float) -> None:
        """Take a token, sleeping for it if need be; ``KubeError`` if it would pass ``deadline``."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= 1  # reserve now, so concurrent callers queue fairly
            pause = -self._tokens / self._rate if self._tokens < 0 else 0.0
            if now + pause >= deadline:
                self._tokens += 1
                raise KubeError(429, "Throttled", "client-side QPS limit", retry_after=pause)
        if pause:
            time.sleep(pause)
