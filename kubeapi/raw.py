"""Plain-JSON requests through the official client's ``ApiClient``.

The 37.x client validates bodies against its own Pydantic models before sending, and those reject
input the apiserver accepts (``cpu: 0.25``, fields newer than the client). Going through
``param_serialize`` + ``call_api`` keeps the client's configuration, authentication and TLS while
sending the dict exactly as given.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kubernetes import client

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass
class ApiError(Exception):
    """A non-2xx answer; ``message`` and ``reason`` come from the apiserver's ``Status``."""

    status: int
    reason: str
    message: str

    def __str__(self) -> str:
        return f"{self.status} {self.reason}: {self.message}"


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
    """Send one request and return the decoded JSON answer; raise ``ApiError`` otherwise."""
    headers = {"Accept": JSON}
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
    response = api.call_api(method, url, headers, serialized, post, _request_timeout=timeout)
    data = response.read() or b"{}"  # type: ignore[no-untyped-call]
    try:
        decoded: Any = json.loads(data)
    except ValueError:
        decoded = {"message": data.decode(errors="replace")}
    if not 200 <= response.status < 300:
        raise ApiError(
            status=response.status,
            reason=str(decoded.get("reason") or response.reason or ""),
            message=str(decoded.get("message") or data.decode(errors="replace")),
        )
    return decoded if isinstance(decoded, dict) else {"items": decoded}
