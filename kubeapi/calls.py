"""Plain-JSON Kubernetes calls with retries that honour ``Retry-After`` inside a deadline.

Bodies go through ``ApiClient.param_serialize`` + ``call_api`` as dicts: the 37.x client's own
models reject valid Jobs (numeric quantities, fields newer than the client), and a dict is what
rendering produces anyway.

Every call is retried on 429, 5xx and connection failures, POSTs included: the receiver's objects
have deterministic names, so a POST that reached the apiserver before the connection broke comes
back as 409 AlreadyExists on the retry, which the caller treats as success after verification.
Retrying stops at the caller's deadline: a retry that cannot finish in time is not started.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

Observer = Callable[[str, str, float], None]
"""Called after every attempt with (operation, outcome code such as "201" or "error", seconds)."""
Throttle = Callable[[float], None]
"""Blocks until a call may start (client-side QPS), or raises ``KubeError`` past the deadline."""

JSON = "application/json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class KubeError(Exception):
    """A failed call. ``status`` 0 means no HTTP answer (connection refused, reset, timeout)."""

    status: int
    reason: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status or 'no answer'} {self.reason}: {self.message}"

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status in RETRY_STATUSES


class Caller:
    """Sends requests through one ``ApiClient`` (thread-safe: urllib3's pool is)."""

    def __init__(
        self,
        api: client.ApiClient,
        *,
        observe: Observer | None = None,
        throttle: Throttle | None = None,
        attempt_timeout: float = 10.0,
        base_backoff: float = 0.05,
        max_backoff: float = 2.0,
    ) -> None:
        self._api = api
        self._observe = observe
        self._throttle = throttle
        self._attempt_timeout = attempt_timeout
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff

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
        answer: bool = True,
    ) -> dict[str, Any]:
        """The decoded JSON answer (``{}`` when ``answer`` is False: not even parsed);
        ``KubeError`` when not 2xx after the retries that fit in time.

        ``deadline`` is a ``time.monotonic()`` instant. Non-retryable errors (404, 409, 422...)
        are raised at once.
        """
        attempt = 0
        while True:
            attempt += 1
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise KubeError(0, "Timeout", f"{operation}: deadline reached before attempt")
            if self._throttle is not None:
                self._throttle(deadline)
            try:
                return self._once(operation, method, path, body, query, accept, deadline, answer)
            except KubeError as error:
                if not error.retryable:
                    raise
                pause = self._pause(error, attempt)
                if time.monotonic() + pause >= deadline:
                    raise
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
        deadline: float,
        answer: bool = True,
    ) -> dict[str, Any]:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = JSON
        method, url, headers, serialized, post = self._api.param_serialize(
            method=method,
            resource_path=path,
            query_params=list(query),
            header_params=headers,
            body=body,
            auth_settings=["BearerToken"],
        )
        timeout = max(0.05, min(self._attempt_timeout, deadline - time.monotonic()))
        started = time.monotonic()
        try:
            response = self._api.call_api(
                method, url, headers, serialized, post, _request_timeout=timeout
            )
            # ``.data`` is what ``RESTResponse.read()`` returns (that method is untyped).
            data: bytes = response.response.data or b"{}"
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as error:
            self._report(operation, "error", started)
            raise KubeError(0, type(error).__name__, f"{operation}: {error}") from None
        self._report(operation, str(response.status), started)
        if not answer and 200 <= response.status < 300:
            return {}
        try:
            decoded: Any = json.loads(data)
        except ValueError:
            decoded = {"message": data.decode(errors="replace")}
        if not isinstance(decoded, dict):
            decoded = {"items": decoded}
        if 200 <= response.status < 300:
            return cast(dict[str, Any], decoded)
        raise KubeError(
            status=response.status,
            reason=str(decoded.get("reason") or response.reason or ""),
            message=str(decoded.get("message") or "")[:1000],
            retry_after=_seconds(response.headers.get("Retry-After")),
        )

    def stream(
        self, path: str, *, query: Sequence[tuple[str, str]], accept: str, read_timeout: float
    ) -> Any:
        """Open a long-lived GET (a watch) and return the unread urllib3 response; no retries:
        a watcher re-lists and re-watches on failure anyway."""
        method, url, headers, _, _ = self._api.param_serialize(
            method="GET",
            resource_path=path,
            query_params=list(query),
            header_params={"Accept": accept},
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method, url, headers, _request_timeout=(self._attempt_timeout, read_timeout)
            )
        except (urllib3.exceptions.HTTPError, OSError, ApiException) as error:
            raise KubeError(0, type(error).__name__, f"watch {path}: {error}") from None
        if response.status != 200:
            data = response.response.data or b""
            response.response.release_conn()
            raise KubeError(response.status, "WatchFailed", data.decode(errors="replace")[:500])
        return response.response

    def _report(self, operation: str, outcome: str, started: float) -> None:
        if self._observe is not None:
            self._observe(operation, outcome, time.monotonic() - started)


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
