"""Plain-JSON Kubernetes calls with retries that honour ``Retry-After`` inside a deadline.

Each attempt is one ``kubeapi.raw.send``: bodies go as plain JSON dicts (``kubeapi.raw`` says why).

Every call is retried on 429, 5xx and connection failures, POSTs included: the receiver's objects
have deterministic names, so a POST that reached the apiserver before the connection broke comes
back as 409 AlreadyExists on the retry, which the caller treats as success after verification.
Retrying stops at the caller's deadline: a retry that cannot finish in time is not started.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from kubeapi import raw
from kubeapi.errors import KubeError, NoAnswer, no_answer
from kubeapi.raw import JSON
from kubeapi.transport import Api, Transport, transport_of

Observer = Callable[[str, str, float], None]
"""Called after every attempt with (operation, outcome code such as "201" or "error", seconds)."""


class Throttle(Protocol):
    """Client-side QPS: each waits until a call may start, or raises ``KubeError`` past the
    deadline (a ``time.monotonic()`` instant)."""

    def wait(self, deadline: float) -> None: ...

    async def wait_async(self, deadline: float) -> None: ...


class Caller:
    """Sends requests through one ``Transport``: ``call`` from any thread, ``call_async`` on the
    event loop (one loop), with the same retry policy.

    ``api`` is public for ``kubeapi.watch``, which opens its long-lived GETs on the same pool.
    """

    def __init__(
        self,
        api: Api,
        *,
        observe: Observer | None = None,
        throttle: Throttle | None = None,
        attempt_timeout: float = 10.0,
        base_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self._given = api
        self._transport: Transport | None = None
        self._observe = observe
        self._throttle = throttle
        self._attempt_timeout = attempt_timeout
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff

    @property
    def api(self) -> Transport:
        # Made on first use: a part built with a client it never calls needs no connection.
        if self._transport is None:
            self._transport = transport_of(self._given)
        return self._transport

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        deadline: float,
        body: Any = None,
        query: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        content_type: str = JSON,
        answer: bool = True,
        retry: bool = True,
    ) -> dict[str, Any]:
        """The decoded JSON answer (``{}`` when ``answer`` is False: not even parsed);
        a ``KubeError`` subclass when not 2xx after the retries that fit in time.

        ``deadline`` is a ``time.monotonic()`` instant. Non-retryable errors (404, 409, 422...)
        are raised at once; ``retry=False`` makes a single attempt (for a caller with its own
        retry policy, or one that must answer within one round trip).
        """
        attempt = 0
        last: KubeError | None = None
        while True:
            attempt += 1
            _check_time(operation, deadline, last)
            if self._throttle is not None:
                self._throttle.wait(deadline)
            try:
                return self._once(
                    operation, method, path, body, query, accept, content_type, deadline, answer
                )
            except KubeError as error:
                last = error
                time.sleep(self._pause_or_raise(error, attempt, retry, deadline))

    async def call_async(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        deadline: float,
        body: Any = None,
        query: Sequence[tuple[str, str]] = (),
        accept: str = JSON,
        content_type: str = JSON,
        answer: bool = True,
        retry: bool = True,
    ) -> dict[str, Any]:
        """``call`` on the running event loop: no thread waits for the answer."""
        attempt = 0
        last: KubeError | None = None
        while True:
            attempt += 1
            _check_time(operation, deadline, last)
            if self._throttle is not None:
                await self._throttle.wait_async(deadline)
            started = time.monotonic()
            failure: KubeError
            try:
                reply = await raw.send_async(
                    self.api,
                    method,
                    path,
                    body=body,
                    query=query,
                    accept=accept,
                    content_type=content_type,
                    within=self._timeout(deadline),
                )
                return self._settle(operation, reply, started, answer)
            except TimeoutError:
                late = no_answer("TimeoutError", f"{method} {path}: no answer in time")
                failure = self._failed(operation, late, started)
            except NoAnswer as error:
                failure = self._failed(operation, error, started)
            except KubeError as error:
                failure = error
            last = failure
            await asyncio.sleep(self._pause_or_raise(failure, attempt, retry, deadline))

    def _pause_or_raise(
        self, error: KubeError, attempt: int, retry: bool, deadline: float
    ) -> float:
        """How long to wait before the next attempt; ``error`` itself when none should follow."""
        if not (retry and error.retryable):
            raise error
        pause = self._pause(error, attempt)
        if time.monotonic() + pause >= deadline:
            raise error
        return pause

    def _pause(self, error: KubeError, attempt: int) -> float:
        if error.retry_after is not None:
            return error.retry_after
        # Full jitter keeps replicas that failed together from retrying together.
        ceiling = min(self._max_backoff, self._base_backoff * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)

    def _once(
        self,
        operation: str,
        method: str,
        path: str,
        body: Any,
        query: Sequence[tuple[str, str]],
        accept: str,
        content_type: str,
        deadline: float,
        answer: bool = True,
    ) -> dict[str, Any]:
        started = time.monotonic()
        try:
            reply: raw.Answer = raw.send(
                self.api,
                method,
                path,
                body=body,
                query=query,
                accept=accept,
                content_type=content_type,
                timeout=self._timeout(deadline),
            )
        except NoAnswer as error:
            raise self._failed(operation, error, started) from None
        return self._settle(operation, reply, started, answer)

    def _timeout(self, deadline: float) -> float:
        return max(0.05, min(self._attempt_timeout, deadline - time.monotonic()))

    def _failed(self, operation: str, error: NoAnswer, started: float) -> KubeError:
        self._report(operation, "error", started)
        return no_answer(error.reason, f"{operation}: {error.message}")

    def _settle(
        self, operation: str, reply: raw.Answer, started: float, answer: bool
    ) -> dict[str, Any]:
        self._report(operation, str(reply.status), started)
        if not reply.ok:
            raise reply.error()
        # A caller that only needs success skips parsing (the Secret create echoes 1 MiB).
        return reply.json() if answer else {}

    def _report(self, operation: str, outcome: str, started: float) -> None:
        if self._observe is not None:
            self._observe(operation, outcome, time.monotonic() - started)


def _check_time(operation: str, deadline: float, last: KubeError | None) -> None:
    if deadline - time.monotonic() <= 0:
        # Woken a little late from a retry pause: the last answer says more than "timeout".
        if last is not None:
            raise last
        raise no_answer("Timeout", f"{operation}: deadline reached before attempt")
