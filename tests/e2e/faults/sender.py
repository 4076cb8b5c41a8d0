"""A sender that retries as an event dispatcher does, and two ways to drive it.

It behaves like a Knative dispatcher with ``backoffPolicy: exponential``: an answer of 429 or
5xx, a connection error or a timeout is retried after ``backoff * 2**attempt`` seconds (capped,
or the ``Retry-After`` if that is longer), until a time budget per event runs out; any other 4xx
is final. Each retry goes to the next target, as a Service spreads connections over replicas.

``storm`` sends a fixed list as fast as ``concurrency`` workers allow; ``paced`` starts events
at a steady rate for a while, however slow the answers, as the sources of a cluster do.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus

import httpx

from tests.e2e.faults.events import EventKey, SentEvent

CONNECTION_ERROR = "connection-error"
TIMEOUT = "timeout"


@dataclass(frozen=True)
class RetryPolicy:
    backoff: float = 0.2
    max_delay: float = 5.0
    #: Seconds from an event's first attempt after which no new attempt starts.
    budget: float = 120.0
    #: Per attempt; longer than the receiver's own 20 s deadline, so it answers first.
    request_timeout: float = 30.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        exponential = min(self.max_delay, self.backoff * 2.0**attempt)
        return max(exponential, min(retry_after or 0.0, self.max_delay))


def retryable(status: int) -> bool:
    return status == HTTPStatus.TOO_MANY_REQUESTS or status >= HTTPStatus.INTERNAL_SERVER_ERROR


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] if ordered else 0.0


@dataclass
class Tally:
    """What a sender saw. Read from another thread only for progress (plain int reads)."""

    #: Every attempt's outcome: the HTTP status as text, or ``connection-error`` / ``timeout``.
    codes: Counter[str] = field(default_factory=Counter)
    #: Seconds from sending an attempt to its answer, for attempts that got an HTTP answer.
    answer_seconds: list[float] = field(default_factory=list)
    #: Seconds from an event's first attempt to its 202.
    delivery_seconds: list[float] = field(default_factory=list)
    accepted: dict[EventKey, SentEvent] = field(default_factory=dict)
    #: Events answered with a final 4xx: the body of that answer.
    refused: dict[EventKey, str] = field(default_factory=dict)
    #: Events whose budget ran out: the outcome of their last attempt.
    gave_up: dict[EventKey, str] = field(default_factory=dict)
    started: int = 0
    outstanding: int = 0

    def summary(self) -> str:
        codes = ", ".join(f"{code}: {count}" for code, count in sorted(self.codes.items()))
        return (
            f"{self.started} events started, {len(self.accepted)} accepted, "
            f"{len(self.refused)} refused, {len(self.gave_up)} given up, "
            f"{self.outstanding} outstanding; attempts by outcome {{{codes}}}; "
            f"answer p50 {percentile(self.answer_seconds, 0.5):.3f}s "
            f"p99 {percentile(self.answer_seconds, 0.99):.3f}s; "
            f"delivery p50 {percentile(self.delivery_seconds, 0.5):.3f}s "
            f"p99 {percentile(self.delivery_seconds, 0.99):.3f}s"
        )


class RetryingSender:
    """POSTs events to ``path`` on ``targets`` (base URLs); use as ``async with``."""

    def __init__(
        self,
        targets: Sequence[str],
        path: str,
        policy: RetryPolicy | None = None,
        *,
        connections: int = 64,
    ) -> None:
        if not targets:
            raise ValueError("a sender needs at least one target")
        self.targets = list(targets)
        self.path = path
        self.policy = policy or RetryPolicy()
        self.tally = Tally()
        self._limits = httpx.Limits(
            max_connections=connections, max_keepalive_connections=connections
        )
        self._client: httpx.AsyncClient | None = None
        self._thresholds: list[tuple[int, asyncio.Event]] = []

    def accepted_reaches(self, count: int) -> asyncio.Event:
        """An event set once ``count`` events have been accepted."""
        reached = asyncio.Event()
        self._thresholds.append((count, reached))
        self._note_accepted()
        return reached

    def _note_accepted(self) -> None:
        for count, reached in self._thresholds:
            if len(self.tally.accepted) >= count:
                reached.set()

    async def __aenter__(self) -> RetryingSender:
        self._client = httpx.AsyncClient(limits=self._limits, timeout=self.policy.request_timeout)
        return self

    async def __aexit__(self, *_exc: object) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def _attempt(self, event: SentEvent, attempt: int) -> tuple[str, float | None, str]:
        """One POST: (outcome, Retry-After seconds, body)."""
        assert self._client is not None, "use the sender as `async with`"
        target = self.targets[(event.index + attempt) % len(self.targets)]
        began = time.monotonic()
        try:
            answer = await self._client.post(
                target + self.path, content=event.body, headers=dict(event.headers)
            )
        except httpx.TimeoutException:
            return TIMEOUT, None, ""
        except httpx.TransportError:
            return CONNECTION_ERROR, None, ""
        self.tally.answer_seconds.append(time.monotonic() - began)
        retry_after = answer.headers.get("retry-after", "")
        wait = float(retry_after) if retry_after.isdigit() else None
        return str(answer.status_code), wait, answer.text

    async def deliver(self, event: SentEvent) -> None:
        """Send one event until it is accepted, refused, or its budget runs out."""
        tally = self.tally
        tally.started += 1
        tally.outstanding += 1
        first = time.monotonic()
        try:
            for attempt in itertools.count():
                outcome, retry_after, body = await self._attempt(event, attempt)
                tally.codes[outcome] += 1
                if outcome == str(HTTPStatus.ACCEPTED):
                    tally.accepted[event.key] = event
                    tally.delivery_seconds.append(time.monotonic() - first)
                    self._note_accepted()
                    return
                if outcome.isdigit() and not retryable(int(outcome)):
                    tally.refused[event.key] = f"{outcome} {body[:300]}"
                    return
                pause = self.policy.delay(attempt, retry_after)
                if time.monotonic() + pause - first > self.policy.budget:
                    tally.gave_up[event.key] = outcome
                    return
                await asyncio.sleep(pause)
        finally:
            tally.outstanding -= 1

    async def storm(self, events: Sequence[SentEvent], concurrency: int) -> None:
        """Send every event, ``concurrency`` at a time; returns when all are settled."""
        queue = list(reversed(events))

        async def worker() -> None:
            while queue:
                await self.deliver(queue.pop())

        await asyncio.gather(*(worker() for _ in range(concurrency)))

    async def paced(
        self, events: Iterator[SentEvent], rate: float, seconds: float, max_outstanding: int
    ) -> int:
        """Start an event every ``1/rate`` s for ``seconds``, then wait for all to settle.

        At most ``max_outstanding`` events are in delivery at once (a dispatcher's queue is
        finite too); a tick that finds the queue full is skipped and counted. Returns the
        number of skipped ticks.
        """
        tasks: set[asyncio.Task[None]] = set()
        skipped = 0
        began = time.monotonic()
        for tick in range(int(rate * seconds)):
            await asyncio.sleep(max(0.0, began + tick / rate - time.monotonic()))
            if self.tally.outstanding >= max_outstanding:
                skipped += 1
                continue
            task = asyncio.create_task(self.deliver(next(events)))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)
        return skipped
