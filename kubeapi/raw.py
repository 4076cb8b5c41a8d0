"""One plain-JSON request through the official client's ``ApiClient``: the only place that sends.

The 37.x client validates bodies against its own Pydantic models before sending, and those reject
input the apiserver accepts (``cpu: 0.25``, fields newer than the client). Going through
``param_serialize`` + ``call_api`` keeps the client's configuration, authentication and TLS while
sending the dict exactly as given. Retries live one layer up, in ``kubeapi.calls.Caller``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass
class KubeError(Exception):
    """A failed call. ``status`` 0 means no HTTP answer (connection refused, reset, timeout);
    otherwise ``reason`` and ``message`` come from the apiserver's ``Status``."""

    status: int
    reason: str
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return f"{self.status or 'no answer'} {self.reason}: {self.message}"

    @property
    def retryable(self) -> bool:
        return self.status == 0 or self.status in RETRY_STATUSES


@dataclass(frozen=True)
class Answer:
    """An HTTP answer, body unread by JSON until asked for."""

    status: int
    reason: str
    data: bytes
    retry_after: float | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> dict[str, Any]:
        try:
            decoded: Any = json.loads(self.data or b"{}")
        except ValueError:
            decoded = {"message": self.data.decode(errors="replace")}
        return cast(dict[str, Any], decoded) if isinstance(decoded, dict) else {"items": decoded}

    def error(self) -> KubeError:
        decoded = self.json()
        return KubeError(
            status=self.status,
            reason=str(decoded.get("reason") or self.reason or ""),
            message=str(decoded.get("message") or "")[:1000],
            retry_after=self.retry_after,
        )


def send(
    api: client.ApiClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Sequence[tuple[str, str]] = (),
    content_type: str = JSON,
    accept: str = JSON,
    timeout: float | tuple[float, float] | None = None,
    stream: bool = False,
) -> Any:
    """Send one request. Returns an ``Answer``, or with ``stream`` the unread urllib3 response
    (for watches). A connection failure raises ``KubeError`` with status 0."""
    headers = {"Accept": accept}
    if body is not None:
        headers["Content-Type"] = content_type
    method, url, headers, serialized, post = api.param_serialize(
        method=method,
        resource_path=path,
        query_params=list(query),
        header_params=headers,
        body=body,
        auth_settings=["BearerToken"],
    )
    try:
        response = api.call_api(method, url, headers, serialized, post, _request_timeout=timeout)
    except (urllib3.exceptions.HTTPError, OSError, ApiException) as error:
        raise KubeError(0, type(error).__name__, f"{method} {path}: {error}") from None
    if stream:
        return response.response
    # ``.data`` is what ``RESTResponse.read()`` returns (that method is untyped).
    return Answer(
        status=response.status,
        reason=str(response.reason or ""),
        data=response.response.data or b"",
        retry_after=_seconds(response.headers.get("Retry-After")),
    )


def request(
    api: client.ApiClient,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Sequence[tuple[str, str]] = (),
    content_type: str = JSON,
    timeout: float | None = None,
) -> dict[str, Any]:
    """Send one request and return the decoded JSON answer; raise ``KubeError`` otherwise."""
    answer: Answer = send(
        api, method, path, body=body, query=query, content_type=content_type, timeout=timeout
    )
    if not answer.ok:
        raise answer.error()
    return answer.json()


def watch(
    api: client.ApiClient,
    path: str,
    query: Sequence[tuple[str, str]],
    *,
    timeout: tuple[float, float],
    accept: str = JSON,
) -> Any:
    """Open a watch (a long-lived GET) and return the unread urllib3 response; ``KubeError``
    when the apiserver refuses it (410 when ``resourceVersion`` is too old)."""
    response = send(api, "GET", path, query=query, accept=accept, timeout=timeout, stream=True)
    if response.status != 200:
        answer = Answer(response.status, str(response.reason or ""), response.data or b"", None)
        response.release_conn()
        raise answer.error()
    return response


def _seconds(header: str | None) -> float | None:
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
