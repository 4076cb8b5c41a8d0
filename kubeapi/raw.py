"""One plain-JSON request through a ``kubeapi.transport.Transport``: the only place that sends.

Bodies go as the plain JSON the caller built (the official client's models reject input the
apiserver accepts: ``cpu: 0.25``, fields newer than the client), encoded here with orjson: a
Job's body encodes about ten times faster than with ``json``, and the apiserver's answers decode
three to four times faster. Retries live one layer up, in ``kubeapi.calls.Caller``; watches in
``kubeapi.watch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
import urllib3

from kubeapi.errors import KubeError, from_status, no_answer
from kubeapi.http1 import Reply
from kubeapi.transport import Api, transport_of

JSON = "application/json"
JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"
METADATA = f"{JSON};as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
"""Accept header for an object's metadata only: the apiserver drops the rest before sending."""


@dataclass(slots=True)
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
            decoded: Any = orjson.loads(self.data or b"{}")
        except orjson.JSONDecodeError:
            decoded = {"message": self.data.decode(errors="replace")}
        return cast(dict[str, Any], decoded) if isinstance(decoded, dict) else {"items": decoded}

    def error(self) -> KubeError:
        """The failure this (non-2xx) answer means, with the apiserver's ``Status`` kept."""
        return from_status(
            self.status, self.json(), http_reason=self.reason, retry_after=self.retry_after
        )


def encode(body: Any) -> bytes:
    """``body`` as JSON bytes; bytes pass as they are (a body encoded once and sent again)."""
    if isinstance(body, bytes):
        return body
    return orjson.dumps(body)


def send(
    api: Api,
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
    headers, data = _request(body, content_type, accept)
    transport = transport_of(api)
    try:
        if stream:
            return transport.request(
                method, path, query=query, headers=headers, body=data, timeout=timeout, stream=True
            )
        reply = transport.exchange(
            method, path, query=query, headers=headers, body=data, timeout=_total(timeout)
        )
    except (urllib3.exceptions.HTTPError, OSError) as error:
        raise no_answer(type(error).__name__, f"{method} {path}: {error}") from None
    return _answer(reply)


async def send_async(
    api: Api,
    method: str,
    path: str,
    *,
    body: Any = None,
    query: Sequence[tuple[str, str]] = (),
    content_type: str = JSON,
    accept: str = JSON,
    within: float | None = None,
) -> Answer:
    """``send`` of a request with a whole answer, on the running event loop; ``TimeoutError``
    when not answered ``within`` seconds."""
    headers, data = _request(body, content_type, accept)
    transport = transport_of(api)
    try:
        reply = await transport.exchange_async(
            method, path, query=query, headers=headers, body=data, within=within
        )
    except TimeoutError:
        raise  # an OSError too, but a late answer: ``Caller.call_async`` reports it as one
    except OSError as error:
        raise no_answer(type(error).__name__, f"{method} {path}: {error}") from None
    return _answer(reply)


def _request(body: Any, content_type: str, accept: str) -> tuple[dict[str, str], bytes | None]:
    headers = {"Accept": accept}
    if body is None:
        return headers, None
    headers["Content-Type"] = content_type
    return headers, encode(body)


def _answer(reply: Reply) -> Answer:
    return Answer(
        status=reply.status,
        reason=reply.reason,
        data=reply.data,
        retry_after=seconds(reply.headers.get("retry-after")),
    )


def _total(timeout: float | tuple[float, float] | None) -> float | None:
    """A whole exchange's time limit: a (connect, read) pair's sum."""
    return sum(timeout) if isinstance(timeout, tuple) else timeout


def seconds(header: str | None) -> float | None:
    """A ``Retry-After`` header in seconds (the apiserver never sends the HTTP-date form)."""
    try:
        return max(0.0, float(header)) if header else None
    except ValueError:
        return None
