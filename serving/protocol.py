"""uvicorn's httptools protocol with a bounded request head and read deadlines.

httptools has no cap of its own: it concatenates a header value until the line ends, so one
64 MiB header is 64 MiB (and more, while it is copied) of the server's memory before any
application code runs, and a connection that never finishes its head is held forever. This
subclass counts the head's bytes *before* handing them to the parser and never feeds it more
than ``max_header_bytes`` of an unfinished head; it counts header lines once the head is
complete; and it keeps a deadline on a request while it is incomplete. Requests that arrive
whole in one read, most of them, never arm a timer.

Answers given here are plain text, like uvicorn's own 400 for an unparsable request (which this
class also sends), and always end the connection (``_end``: reading stops at once):

- 431 when the head is larger than ``max_header_bytes`` or has more than ``max_headers`` lines;
- 408 when a started head or body is not complete in time. A connection on which nothing of a
  request has arrived is closed without an answer instead: a client that was about to reuse it
  must not read a 408 as the answer to the request it is sending.

A new connection gets ``header_timeout`` from the moment it is established (after the TLS
handshake, which asyncio bounds by its own 60 s). Between requests on a kept-alive connection,
uvicorn's keep-alive timeout applies until the next request's first byte.

One bound is looser than the cap: a pipelined request whose head begins inside the same read as
the end of the previous request has that part of its head uncounted, so the parser may hold up
to one read (at most 256 KiB) more. Clients that matter here (the apiserver, HTTP libraries) do
not pipeline.
"""

from __future__ import annotations

import asyncio
import http
import logging
from typing import Any, ClassVar

import httptools
from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from serving.limits import HttpLimits

log = logging.getLogger(__name__)

#: How long a refused connection stays open, not read from, so that its answer reaches the
#: client before the connection is reset (Go's net/http waits as long for the same reason).
LINGER_SECONDS = 0.5

#: While the server itself is not reading (see ``HttpLimits.read_timeout``), the deadline is
#: looked at again this often instead of being enforced.
PAUSED_RECHECK_SECONDS = 1.0


class _Refused(Exception):
    """Raised inside a parser callback to stop parsing; httptools wraps it in its own error."""


def plain_answer(status: int, message: str) -> bytes:
    """A complete HTTP/1.1 response that closes the connection."""
    body = message.encode()
    phrase = http.HTTPStatus(status).phrase
    return (
        f"HTTP/1.1 {status} {phrase}\r\n"
        "content-type: text/plain; charset=utf-8\r\n"
        f"content-length: {len(body)}\r\n"
        "connection: close\r\n"
        "\r\n"
    ).encode() + body


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """One connection. Subclassed by :func:`protocol_for` with the ``limits`` to enforce."""

    limits: ClassVar[HttpLimits] = HttpLimits()

    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        # True from the end of a request (or the connection's start) until the next head is
        # complete: the bytes that arrive meanwhile are head bytes.
        self._in_head = True
        self._head_bytes = 0
        self._max_header_bytes = self.limits.max_header_bytes  # read per request: one lookup
        self._refusal: tuple[int, str] | None = None
        self._reading = False  # a request has begun and is not complete
        self._request_started = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._done = False  # refused or timed out: whatever still arrives is dropped

    # Connection events.

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        # A new connection must send its first request in time: that request's clock starts now.
        self._request_started = self.loop.time()
        self._arm(self._request_started + self.limits.header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._unset_keepalive_if_required()
        if not self._in_head:
            fed = self._feed(data)
        elif len(data) <= self._max_header_bytes - self._head_bytes:  # the usual read
            self._head_bytes += len(data)
            fed = self._feed(data)
        else:
            fed = self._feed_past_the_cap(data)
        # The clock is armed only for a request still incomplete after a read: most requests
        # arrive whole in one read and never cost a timer.
        if fed and self._reading and self._deadline is None:
            if self._request_started < 0:
                self._request_started = self.loop.time()
            timeout = self.limits.header_timeout if self._in_head else self.limits.read_timeout
            self._arm(self._request_started + timeout)

    def _feed_past_the_cap(self, data: bytes) -> bool:
        """Feed ``data`` in pieces, none taking an unfinished head past ``max_header_bytes``."""
        rest = memoryview(data)
        while rest:
            if not self._in_head:
                return self._feed(rest)
            room = self._max_header_bytes - self._head_bytes
            if room <= 0:
                self._refuse(431, f"request head larger than {self._max_header_bytes} bytes")
                return False
            piece, rest = rest[:room], rest[room:]
            self._head_bytes += len(piece)
            if not self._feed(piece):
                return False
        return True

    def _feed(self, piece: bytes | memoryview) -> bool:
        """Parse ``piece``; False when the connection is done with (refused, failed, upgraded)."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            self._stop_clock()
            self._done = True  # the connection belongs to the WebSocket protocol now
            if self._should_upgrade():
                self.handle_websocket_upgrade()
            else:
                self._unsupported_upgrade_warning()
            return False
        except httptools.HttpParserError:
            if self._refusal is not None:
                self._refuse(*self._refusal)
            else:
                message = "Invalid HTTP request received."
                self.logger.warning(message)
                self._end(plain_answer(400, message))
            return False
        return True

    # Parser callbacks.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._reading = True
        if self._deadline is None:  # else the connection's first request: timed since connect
            self._request_started = -1.0  # read from the clock only if the request is slow

    def on_headers_complete(self) -> None:
        # Lines are counted once, here rather than per line: the byte cap already bounds what
        # the parser held, and this keeps the per-header path as it is.
        if len(self.headers) > self.limits.max_headers:
            self._refusal = (431, f"more than {self.limits.max_headers} header lines")
            raise _Refused
        self._in_head = False  # a head deadline still armed is moved on when it passes
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._reading = False
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    # The clock of the request being read.

    def _arm(self, when: float) -> None:
        self._stop_clock()
        self._deadline = self.loop.call_at(when, self._deadline_passed)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._in_head:  # armed at the head's deadline, which has passed
            if not self._reading:
                self._end(None)  # nothing of a request yet: no answer (see the module doc)
            else:
                self._refuse(
                    408, f"request head not received within {self.limits.header_timeout:g} s"
                )
            return
        cycle = self.cycle
        if cycle is None:  # an upgraded connection: no longer ours
            return
        if self.flow.read_paused or cycle.waiting_for_100_continue:
            self._arm(self.loop.time() + PAUSED_RECHECK_SECONDS)  # we are the slow side
            return
        due = self._request_started + self.limits.read_timeout
        if self.loop.time() < due:  # the head's deadline passed, or a recheck while paused
            self._arm(due)
            return
        self._refuse(408, f"request not received within {self.limits.read_timeout:g} s")

    # Ending the connection.

    def _refuse(self, status: int, message: str) -> None:
        """Answer ``status`` if no other answer is on the wire yet, and end the connection."""
        cycle = self.cycle
        if self._in_head:
            # ``cycle`` is the previous request's: answering while its response is still being
            # written would corrupt it.
            answer = cycle is None or cycle.response_complete
        else:
            answer = cycle is None or not cycle.response_started
        if cycle is not None and not cycle.response_complete:
            # The application stops waiting for the body and its response goes nowhere.
            cycle.disconnected = True
            cycle.message_event.set()
        log.info("request refused", extra={"status": status, "reason": message})
        self._end(plain_answer(status, message) if answer else None)

    def _end(self, answer: bytes | None) -> None:
        """Stop reading, send ``answer`` if any, and drop the connection.

        Not ``transport.close()``: over TLS it reads and decrypts whatever the client still
        sends while waiting for its close_notify, for up to 30 s, and that is exactly what a
        client refused for sending too much does. Reading stops here (the kernel's buffers fill
        and the client's sends block) and the connection is aborted once the answer has had
        ``LINGER_SECONDS`` to reach the client.
        """
        self._done = True
        self._refusal = None
        self._stop_clock()
        if answer is None:
            self.transport.abort()
            return
        self.transport.write(answer)
        self.flow.pause_reading()
        self._deadline = self.loop.call_later(LINGER_SECONDS, self.transport.abort)


def protocol_for(limits: HttpLimits) -> type[BoundedHttpToolsProtocol]:
    """The protocol class to pass as uvicorn's ``Config(http=...)``."""
    return type("BoundedHttpToolsProtocol", (BoundedHttpToolsProtocol,), {"limits": limits})
