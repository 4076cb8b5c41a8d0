"""HTTP/1.1 on raw sockets, for requests no client library would send.

A header value of 64 MiB, a head that never ends, a body at one byte a second: each is written
here byte by byte, and what comes back is read just as plainly (the status line, and whether the
server then closed the connection). Loopback only; TLS when the server speaks it.
"""

from __future__ import annotations

import select
import socket
import ssl
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from controlplane.ports import LOOPBACK

Header = tuple[str, str]
CRLF = b"\r\n"


def tls_client(ca_file: str) -> ssl.SSLContext:
    """A client context trusting ``ca_file``, at most TLS 1.2.

    TLS 1.3 servers send session tickets after the handshake: the socket turns readable with no
    HTTP answer in it, which ``stream`` would take for the server answering early.
    """
    context = ssl.create_default_context(cafile=ca_file)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    return context


@dataclass(frozen=True)
class Endpoint:
    port: int
    tls: ssl.SSLContext | None = None

    def connect(self, timeout: float = 10.0) -> socket.socket:
        sock = socket.create_connection((LOOPBACK, self.port), timeout=timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if self.tls is None:
            return sock
        return self.tls.wrap_socket(sock, server_hostname=LOOPBACK)


def head(method: str, path: str, headers: Sequence[Header]) -> bytes:
    """The request line and header lines, without the blank line that ends a head."""
    lines = [f"{method} {path} HTTP/1.1", *(f"{name}: {value}" for name, value in headers)]
    return CRLF.join(line.encode("latin-1") for line in lines)


def request(method: str, path: str, headers: Sequence[Header], body: bytes = b"") -> bytes:
    """A complete request; ``content-length`` is added."""
    return head(method, path, [*headers, ("content-length", str(len(body)))]) + 2 * CRLF + body


@dataclass(frozen=True)
class Answer:
    status: int | None
    #: The server closed the connection after its answer (or without one) within the wait.
    closed: bool
    seconds: float
    head: bytes

    def __str__(self) -> str:
        first = self.head.split(CRLF, 1)[0].decode("latin-1", "replace")
        state = "closed" if self.closed else "left open"
        return f"{first or 'no answer'} ({state}, {self.seconds:.1f}s)"


def _readable(sock: socket.socket) -> bool:
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return True
    return bool(select.select([sock], [], [], 0)[0])


def _recv(sock: socket.socket) -> bytes | None:
    """Some bytes; b"" once the peer closed; None if nothing came before the socket timeout."""
    try:
        return sock.recv(65536)
    except TimeoutError:
        return None
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return b""


def read_answer(sock: socket.socket, *, timeout: float = 10.0, close_wait: float = 3.0) -> Answer:
    """The status of the server's answer, then whether it closes the connection.

    The close is looked for ``close_wait`` seconds past the answer's head (or past ``timeout``
    when no answer comes); a keep-alive answer leaves the connection open past that.
    """
    began = time.monotonic()
    received = b""
    deadline = began + timeout
    closed = False
    while CRLF * 2 not in received:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = _recv(sock)
        if not chunk:
            closed = chunk == b""
            break
        received += chunk
    status = None
    if received.startswith(b"HTTP/1."):
        status = int(received.split(b" ", 2)[1])
    if not closed:
        closed = wait_closed(sock, close_wait) is not None
    return Answer(status, closed, time.monotonic() - began, received.split(CRLF * 2, 1)[0])


def wait_closed(sock: socket.socket, limit: float) -> float | None:
    """Seconds until the server closes the connection (reading and dropping what it sends),
    or None if it is still open after ``limit``."""
    began = time.monotonic()
    while (left := began + limit - time.monotonic()) > 0:
        sock.settimeout(left)
        chunk = _recv(sock)
        if chunk == b"":
            return time.monotonic() - began
        if chunk is None:
            break
    return None


@dataclass(frozen=True)
class Streamed:
    """How streaming a large part of a request ended."""

    sent: int
    how: str  # "complete", "answered", "reset", "stalled", "aborted" or "too slow"

    def __str__(self) -> str:
        return f"{self.how} after {self.sent / 1024:.0f} KiB"


def stream(
    sock: socket.socket,
    prefix: bytes,
    filler: int,
    suffix: bytes,
    *,
    chunk: int = 256 * 1024,
    abort: threading.Event | None = None,
    limit: float = 60.0,
) -> Streamed:
    """Send ``prefix``, ``filler`` bytes of ``a``, then ``suffix``, stopping early when the server
    answers (its answer stays unread), resets, stops reading, ``abort`` is set, or ``limit``
    seconds pass."""
    block = b"a" * chunk
    sent = 0
    began = time.monotonic()
    try:
        sock.sendall(prefix)
        while sent < filler:
            if _readable(sock):
                return Streamed(sent, "answered")
            if abort is not None and abort.is_set():
                return Streamed(sent, "aborted")
            if time.monotonic() - began > limit:
                return Streamed(sent, "too slow")
            piece = block[: filler - sent]
            sock.sendall(piece)
            sent += len(piece)
        sock.sendall(suffix)
    except TimeoutError:
        return Streamed(sent, "stalled")
    except (ConnectionResetError, BrokenPipeError, ssl.SSLError):
        return Streamed(sent, "reset")
    return Streamed(sent, "complete")
