"""The request body, bounded in size, in time and in memory before any of it is decoded.

A body is read before the request takes an in-flight slot (those are for Kubernetes calls), so a
sender that trickles its body in holds no slot; what it can hold instead is bounded three ways:

* size: an event is stored whole in a Secret, so a body larger than a Secret can hold is refused
  from its declared Content-Length before a byte is read, or as soon as a streamed body passes the
  limit (413);
* time: the whole body must have arrived by a deadline counted from the request's head (408);
* memory: the bytes of all bodies still arriving share one budget (503 + Retry-After when it is
  spent: the receiver is short of room, not the request wrong, and a retry shortly succeeds).

A refusal while the body is still arriving closes the connection: the rest of the body would
otherwise have to be read and dropped before the connection could carry another request.
"""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.requests import ClientDisconnect, Request

from receiver.dataplane.refusals import CLOSE, Rejection
from receiver.limits import BodyBudget


class ClientGone(Exception):
    """The client closed the connection before its whole body arrived: nobody is left to answer."""


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


async def read(
    request: Request,
    *,
    limit: int,
    budget: BodyBudget,
    began: float,
    seconds: float,
    retry_after: int,
) -> bytes:
    """The body, complete ``seconds`` after ``began`` (the event loop's ``time()`` when the
    request's head arrived).

    ``Rejection`` 413 as soon as it passes ``limit``, 408 at that deadline, 503 when ``budget``
    cannot hold its next chunk; ``ClientGone`` when the client leaves. Its bytes count against
    ``budget`` until it is complete.
    """
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout_at(began + seconds):
            async for chunk in request.stream():
                if size + len(chunk) > limit:
                    raise Rejection(413, f"body larger than {limit} bytes, the most a Secret "
                                    "holds", headers=CLOSE)  # fmt: skip
                if not budget.try_take(len(chunk)):
                    raise Rejection.out_of_body_budget(retry_after)
                size += len(chunk)
                chunks.append(chunk)
    except TimeoutError:
        raise Rejection(408, f"body not complete {seconds:g} seconds after the request's head "
                        f"({size} bytes received)", headers=CLOSE) from None  # fmt: skip
    except ClientDisconnect:
        raise ClientGone from None
    finally:
        budget.give_back(size)
    return b"".join(chunks)
