"""HTTP/1.1 requests with a whole answer over kept-alive connections to one server: what every
call but a watch needs, in a few Python steps per request.

Why not urllib3 for these: a request through urllib3 and ``http.client`` cost about 0.4 ms of
CPU more than the same bytes over the same TLS connection (0.48 against 0.10 ms for a GET, on
this project's benchmark machine), spent in their layers of objects and in parsing the answer's
headers with the ``email`` package; the receiver makes two such calls per event. Here a request
is written in one ``sendall`` and the answer is parsed by httptools' C parser (already here for
uvicorn), chunked or not. Watches, which stream, stay on urllib3 (``kubeapi.transport``).

A pooled connection the server has closed is noticed before it is used (it reads as ready with
nothing to read), and dropped; any other failure closes the connection and raises ``OSError``
for the caller's retry policy (``kubeapi.calls``).
"""

from __future__ import annotations

import collections
import select
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field
from http import HTTPStatus

import httptools

RECEIVE_BYTES = 16384
"""Read buffer per thread, reused: a fresh 64 KB ``bytes`` per read, from many threads at once,
left the allocator's per-thread arenas holding megabytes after load."""


@dataclass(slots=True)
class Reply:
    """An answer: status, reason phrase, the headers we read (lower-case names), whole body."""

    status: int
    reason: str
    headers: dict[str, str]
    data: bytes


@dataclass(slots=True)
class Answer:
    """What the parser's callbacks collect (``httptools.HttpResponseParser(answer)``)."""

    headers: dict[str, str] = field(default_factory=dict)
    chunks: list[bytes] = field(default_factory=list)
    complete: bool = False

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self.chunks.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class Destination:
    """Where a pool's kept-alive connections go: ``host``:``port`` (TLS with ``context``,
    checked against ``server_hostname``), ``authority`` the ``Host`` header; at most ``size``
    idle. Both pools (this module's and ``kubeapi.aio``'s) take these."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        authority: str,
        context: ssl.SSLContext | None,
        server_hostname: str | None = None,
        size: int = 10,
        socket_options: list[tuple[int, int, int]] | None = None,
    ) -> None:
        self.host, self.port, self.size = host, port, size
        self._authority = authority
        self._context = context
        self._server_hostname = server_hostname or host
        self._options = socket_options or []
        self.connections_made = 0
        self._start()

    def _start(self) -> None:
        """The pool's own state, empty."""
        raise NotImplementedError


class Pool(Destination):
    """Kept-alive connections to a ``Destination``. Thread-safe: a connection serves one request
    at a time."""

    def _start(self) -> None:
        self._idle: collections.deque[socket.socket] = collections.deque()
        self._lock = threading.Lock()

    def request(
        self, method: str, target: str, headers: dict[str, str], body: bytes | None, timeout: float
    ) -> Reply:
        """One request; ``OSError`` (``TimeoutError`` included) when it fails."""
        message = encode_request(method, target, self._authority, headers, body)
        deadline = time.monotonic() + timeout
        sock = self._take(timeout)
        try:
            reply, reusable = self._exchange(sock, message, deadline)
        except BaseException:
            sock.close()
            raise
        if reusable:
            self._give_back(sock)
        else:
            sock.close()
        return reply

    def _exchange(self, sock: socket.socket, message: bytes, deadline: float) -> tuple[Reply, bool]:
        sock.settimeout(_left(deadline))
        sock.sendall(message)
        answer = Answer()
        parser = httptools.HttpResponseParser(answer)
        buffer = _buffer()
        while not answer.complete:
            sock.settimeout(_left(deadline))
            count = sock.recv_into(buffer)
            if not count:
                raise ConnectionResetError("the server closed the connection before answering")
            try:
                parser.feed_data(memoryview(buffer)[:count])
            except httptools.HttpParserError as error:
                raise ConnectionError(f"malformed answer: {error}") from None
        return reply_of(parser, answer)

    def _take(self, timeout: float) -> socket.socket:
        while True:
            with self._lock:
                sock = self._idle.pop() if self._idle else None
            if sock is None:
                return self._connect(timeout)
            if _usable(sock):
                return sock
            sock.close()

    def _give_back(self, sock: socket.socket) -> None:
        with self._lock:
            if len(self._idle) < self.size:
                self._idle.append(sock)
                return
        sock.close()

    def _connect(self, timeout: float) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            for level, option, value in self._options:
                sock.setsockopt(level, option, value)
            if self._context is not None:
                sock = self._context.wrap_socket(sock, server_hostname=self._server_hostname)
        except BaseException:
            sock.close()
            raise
        self.connections_made += 1
        return sock

    def close(self) -> None:
        with self._lock:
            idle, self._idle = list(self._idle), collections.deque()
        for sock in idle:
            sock.close()


def encode_request(
    method: str, target: str, authority: str, headers: dict[str, str], body: bytes | None
) -> bytes:
    """A request's bytes: head and body, ready for one write."""
    head = [f"{method} {target} HTTP/1.1", f"Host: {authority}"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    if body is not None or method in ("POST", "PUT", "PATCH"):
        head.append(f"Content-Length: {len(body or b'')}")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + (body or b"")


def reply_of(parser: httptools.HttpResponseParser, answer: Answer) -> tuple[Reply, bool]:
    """The reply a complete ``answer`` makes, and whether its connection may serve another."""
    status = parser.get_status_code()
    reply = Reply(status, _phrase(status), answer.headers, b"".join(answer.chunks))
    # Asked once the message is complete, the parser's own keep-alive flag is always false.
    closing = answer.headers.get("connection", "").lower() == "close"
    return reply, not closing and parser.get_http_version() == "1.1"


_local = threading.local()


def _buffer() -> bytearray:
    found: bytearray | None = getattr(_local, "buffer", None)
    if found is None:
        found = _local.buffer = bytearray(RECEIVE_BYTES)
    return found


def _usable(sock: socket.socket) -> bool:
    """False when the server has closed an idle connection (it reads as ready: EOF), or sent
    something unasked."""
    if isinstance(sock, ssl.SSLSocket) and sock.pending():
        return False
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    try:
        return not poller.poll(0)
    except OSError:
        return False


def _left(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("no answer in time")
    return left


_PHRASES = {status.value: status.phrase for status in HTTPStatus}


def _phrase(status: int) -> str:
    return _PHRASES.get(status, "")
