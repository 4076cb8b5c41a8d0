"""Backpressure: what the receiver holds at once is bounded, and a request that finds a bound
reached is answered at once instead of waiting in a queue.

* ``InflightLimit``: Kubernetes work at once. A slot is taken just before the work starts (a task
  on the loop, or a worker thread) and given back when the work is done, never by the request: a
  request whose client left, or that was cancelled, does not free a slot its work still uses, so
  running work never exceeds the limit.
* ``BodyBudget``: bytes of request bodies being received at once, counted as they arrive. A
  declared ``Content-Length`` reserves nothing, so announcing large bodies and sending them slowly
  holds nothing but the bytes actually sent.
* ``TokenBucket``: an optional client-side limit on Kubernetes calls per second.
"""

from __future__ import annotations

import asyncio
import threading
import time

from kubeapi.errors import KubeError


class InflightLimit:
    """A counter of slots: taken on the event loop, given back from the loop or worker threads."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.current = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> bool:
        with self._lock:
            if self.current >= self.limit:
                return False
            self.current += 1
            return True

    def release(self) -> None:
        with self._lock:
            self.current -= 1


class BodyBudget:
    """Bytes held by bodies still arriving, all requests together; used only from the event loop
    (so it needs no lock)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.held = 0

    def try_take(self, size: int) -> bool:
        if self.held + size > self.limit:
            return False
        self.held += size
        return True

    def give_back(self, size: int) -> None:
        self.held -= size


class TokenBucket:
    """``rate`` calls per second on average, ``burst`` at once; shared by worker threads and the
    event loop."""

    def __init__(self, rate: float, burst: int) -> None:
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()
        self._lock = threading.Lock()

    def wait(self, deadline: float) -> None:
        """Take a token, sleeping for it if need be; ``KubeError`` if it would pass ``deadline``."""
        pause = self._take(deadline)
        if pause:
            time.sleep(pause)

    async def wait_async(self, deadline: float) -> None:
        """``wait`` on the event loop."""
        pause = self._take(deadline)
        if pause:
            await asyncio.sleep(pause)

    def _take(self, deadline: float) -> float:
        """Take a token; how long to wait until it is due."""
        with self._lock:
            now = time.monotonic()
            self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
            self._stamp = now
            self._tokens -= 1  # reserve now, so concurrent callers queue fairly
            pause = -self._tokens / self._rate if self._tokens < 0 else 0.0
            if now + pause >= deadline:
                self._tokens += 1
                raise KubeError(429, "Throttled", "client-side QPS limit", retry_after=pause)
        return pause
