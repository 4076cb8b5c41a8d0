"""Plain ASGI for the two admission routes: read a JSON body within limits, send a JSON answer.

The admission routes take no parameters, dependencies or middleware, and FastAPI's layers
(routing, dependency solving, exception and exit-stack middleware, the request and response
objects) were about a fifth of the webhook's time per review under load. These functions do
what the routes used from them, and answer byte for byte as Starlette did: the same statuses,
``content-length`` then ``content-type: application/json``, and ``ClientDisconnect`` when the
client leaves before its body arrived.
"""

from __future__ import annotations

import json
from typing import Any

import orjson
from starlette.requests import ClientDisconnect
from starlette.types import Receive, Scope, Send

JSON = b"application/json"


class Rejected(Exception):
    """A request that is not a review: answered with a plain HTTP error."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def header(scope: Scope, name: bytes) -> str:
    """The first value of header ``name`` (lower case), as Starlette decodes it; "" if absent."""
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return ""


async def read_json_body(scope: Scope, receive: Receive, limit: int) -> bytes:
    """The body of a JSON request, at most ``limit`` bytes; raises ``Rejected`` (415, 413) or
    ``ClientDisconnect``."""
    media_type = header(scope, b"content-type").partition(";")[0].strip().lower()
    if media_type != "application/json":
        raise Rejected(415, f"content-type: expected application/json, got {media_type!r}")
    declared = header(scope, b"content-length")
    if declared.isdigit() and int(declared) > limit:
        raise Rejected(413, f"body: {declared} bytes exceed the limit of {limit}")
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnect()
        if message["type"] != "http.request":
            continue
        chunk: bytes = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise Rejected(413, f"body: more than {limit} bytes")
        if chunk:
            chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def encode(value: Any) -> bytes:
    """Compact JSON; orjson, unless ``value`` holds what it refuses (a lone surrogate a user
    sent, which ``json`` decodes and a message may quote): then ``json`` as before."""
    try:
        return orjson.dumps(value)
    except TypeError:
        return json.dumps(value, separators=(",", ":")).encode()


def plain_body(status: int, message: str) -> bytes:
    """The ``{"code", "message"}`` body of an HTTP error, as Starlette's JSONResponse wrote it."""
    return json.dumps(
        {"code": status, "message": message}, ensure_ascii=False, separators=(",", ":")
    ).encode()


async def send_json(send: Send, status: int, body: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-length", str(len(body)).encode()), (b"content-type", JSON)],
        }
    )
    await send({"type": "http.response.body", "body": body})
