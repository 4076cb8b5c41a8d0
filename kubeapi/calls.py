"""Plain-JSON Kubernetes calls with retries that honour ``Retry-After`` inside a deadline.

Each attempt is one ``kubeapi.raw.send``: bodies go as plain JSON dicts (``kubeapi.raw`` says why).

Every call is retried on 429, 5xx and connection failures, POSTs included: the receiver's objects
have deterministic names, so a POST that reached the apiserver before the connection broke comes
back as 409 AlreadyExists on the retry, which the caller treats as success after verification.
Retrying stops at the caller's deadline: a retry that cannot finish in time is not started.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from typing import Any

from kubeapi import raw
from kubeapi.errors import KubeError, NoAnswer, no_answer
from kubeapi.raw import JSON
from kubeapi.transport import Api, Transport, transport_of

Observer = Callable[[str, str, float], None]
"""Called after every attempt with (operation, outcome code such as "201" or "error", seconds)."""
Throttle = Callable[[float], None]
"""Blocks until a call may start (client-side QPS), or raises ``KubeError`` past the deadline."""


class Caller:
    """Sends requests through one ``Transport`` (thread-safe: urllib3's pool is).

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
            if deadline - time.monotonic() <= 0:
                # Woken a little late from a retry pause: the last answer says more than "timeout".
                if last is not None:
                    raise last
                raise no_answer("Timeout", f"{operation}: deadline reached before attempt")
            if self._throttle is not None:
                self._throttle(deadline)
            try:
                return self._once(
                    operation, method, path, body, query, accept, content_type, deadline, answer
                )
            except KubeError as error:
                if not (retry and error.retryable):
                    raise
                pause = self._pause(error, attempt)
                if time.monotonic() + pause >= deadline:
                    raise
                last = error
                time.sleep(pause)

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
        timeout = max(0.05, min(self._attempt_timeout, deadline - time.monotonic()))
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
                timeout=timeout,
            )
        except NoAnswer as error:
            self._report(operation, "error", started)
            raise no_answer(error.reason, f"{operation}: {error.message}") from None
        self._report(operation, str(reply.status), started)
        if not reply.ok:
            raise reply.error()
        # A caller that only needs success skips parsing (the Secret create echoes 1 MiB).
        return reply.json() if answer else {}

    def _report(self, operation: str, outcome: str, started: float) -> None:
        if self._observe is not None:
            self._observe(operation, outcome, time.monotonic() - started)
