"""The request body, bounded in size and in time before any of it is decoded.

An event is stored whole in a Secret, so a body larger than a Secret can hold is refused: from its
declared Content-Length before a byte is read, or as soon as a streamed body passes the limit. A
body that trickles in too slowly is refused too, so a slow sender cannot hold an in-flight slot.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.requests import Request

from receiver.dataplane.refusals import Rejection


def check_declared_length(headers: Headers, limit: int) -> None:
    """``Rejection`` 413 when Content-Length announces more than ``limit`` bytes (400 if it is
    not a number); a body without one is checked while it streams."""
    declared = headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise Rejection(400, "content-length: not a number", "content-length")
    if int(declared) > limit:
        raise Rejection(413, f"body of {declared} bytes; an event is stored whole in a Secret, "
                        f"which holds at most {limit} bytes")  # fmt: skip


async def read(request: Request, limit: int, seconds: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit``, 408 if it trickles too slowly."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Rejection(413, f"body larger than {limit} bytes, the most a Secret holds")
                chunks.append(chunk)
    except TimeoutError:
        raise Rejection(408, f"body not received within {seconds:g} seconds") from None
    return b"".join(chunks)
