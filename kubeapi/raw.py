"""One plain-JSON request through the official client's ``ApiClient``: the only place that sends.

The 37.x client validates bodies against its own Pydantic models before sending, and those reject
input the apiserver accepts (``cpu: 0.25``, fields newer than the client). Going through
``param_serialize`` + ``call_api`` keeps the client's configuration, authentication and TLS while
sending the dict exactly as given. Retries live one layer up, in ``kubeapi.calls.Caller``; watches
in ``kubeapi.watch``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import urllib3
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from kubeapi.errors import KubeError, from_status, no_answer

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


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
        """The failure this (non-2xx) answer means, with the apiserver's ``Status`` kept."""
        return from_status(
            self.status, self.json(), http_reason=self.reason, retry_after=self.retry_after
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
    (for watches). A connection failure raises ``NoAnswer``."""
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
        raise no_answer(type(error).__name__, f"{method} {path}: {error}") from None
    if stream:
        return response.response
    # ``.data`` is what ``RESTResponse.read()`` returns (that method is untyped).
    return Answer(
        status=response.status,
        reason=str(response.reason or ""),
        data=response.response.data or b"",
        retry_after=seconds(response.headers.get("Retry-After")),
    )


def seconds(header: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the apiserver never sends the HTTP-date form)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
