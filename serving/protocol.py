"""uvicorn's httptools protocol with a bounded request head and read deadlines.

httptools has no cap of its own: it concatenates a header value until the line ends, so one
64 MiB header is 64 MiB (and more, while it is copied) of the server's memory before any
application code runs, and a connection that never finishes its head is held forever. This
subclass counts the head's bytes *before* handing them to the parser and never feeds it more
than ``max_header_bytes`` of an unfinished head; it counts header lines as the parser reports
them; and it runs one timer per request while the request is being read.

Answers given here are plain text, like uvicorn's own 400 for an unparsable request, and always
close the connection:

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
        self._header_lines = 0
        self._refusal: tuple[int, str] | None = None
        self._request_started = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._done = False  # refused or timed out: whatever still arrives is dropped

    # Connection events.

    def connection_made(  # type: ignore[override]
        self, transport: asyncio.Transport
    ) -> None:
        super().connection_made(transport)
        self._start_request_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._unset_keepalive_if_required()
        rest: bytes | memoryview = data
        piece: bytes | memoryview
        while rest:
            if self._in_head:
                room = self.limits.max_header_bytes - self._head_bytes
                if room <= 0:
                    self._refuse(
                        431, f"request head larger than {self.limits.max_header_bytes} bytes"
                    )
                    return
                if len(rest) > room:
                    view = memoryview(rest)
                    piece, rest = view[:room], view[room:]
                else:
                    piece, rest = rest, b""
                self._head_bytes += len(piece)
            else:
                piece, rest = rest, b""
            if not self._feed(piece):
                return

    def _feed(self, piece: bytes | memoryview) -> bool:
        """Parse ``piece``; False when the connection is done with (refused, failed, upgraded)."""
        try:
            self.parser.feed_data(piece)
        except httptools.HttpParserUpgrade:
            self._stop_clock()
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
        self._header_lines = 0
        if self._deadline is None:  # the first request's clock started with the connection
            self._start_request_clock()

    def on_header(self, name: bytes, value: bytes) -> None:
        self._header_lines += 1
        if self._header_lines > self.limits.max_headers:
            self._refusal = (431, f"more than {self.limits.max_headers} header lines")
            raise _Refused
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._rearm(self._request_started + self.limits.read_timeout)
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._stop_clock()
        self._in_head = True
        self._head_bytes = 0
        super().on_message_complete()

    # The clock of the request being read.

    def _start_request_clock(self) -> None:
        self._request_started = self.loop.time()
        self._rearm(self._request_started + self.limits.header_timeout)

    def _rearm(self, when: float) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = self.loop.call_at(when, self._deadline_passed)

    def _stop_clock(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _deadline_passed(self) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if self._in_head:
            if self._head_bytes == 0:
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
            self._rearm(self.loop.time() + PAUSED_RECHECK_SECONDS)  # we are the slow side
            return
        due = self._request_started + self.limits.read_timeout
        if self.loop.time() < due:  # only after a recheck that found reading paused
            self._rearm(due)
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
