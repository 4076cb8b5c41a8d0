"""HTTP/1.1 requests with a whole answer on the running event loop, over kept-alive connections
to one server: the receiver's data path, which otherwise handed each event to a worker thread.

Why on the loop: with every Kubernetes call in one of 64 worker threads, each event paid for the
hand-off (a future, a futex wake-up, the GIL changing hands twice per call) in kernel and loop
time, and each worker's stack and allocator arena stayed in the process's memory. Here a
connection is an ``asyncio.Protocol`` whose ``data_received`` feeds httptools' C parser (the
one uvicorn serves with); the request is one ``write`` (``kubeapi.http1.encode_request``).
Measured against aiohttp's ``ClientSession`` on the same GET: docs/benchmarks.md.

Connections belong to the loop they were made on; a pool used from another loop (tests drive
the protocol from more than one) drops its idle ones and starts afresh. Failures are ``OSError``
for the caller's retry policy (``kubeapi.calls``), as in ``kubeapi.http1``.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from typing import cast

import httptools

from kubeapi.http1 import Answer, Destination, Reply, encode_request, reply_of


class _Connection(asyncio.Protocol):
    """One connection: one request at a time, its answer parsed as it arrives."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._transport: asyncio.Transport | None = None
        self._parser: httptools.HttpResponseParser | None = None
        self._answer = Answer()
        self._waiter: asyncio.Future[None] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio's, only alike.
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        parser = self._parser
        if parser is None:  # nothing asked: the connection is no longer in step
            self.close()
            return
        try:
            parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ConnectionError(f"malformed answer: {error}"))
            self.close()
            return
        waiter = self._waiter
        if self._answer.complete and waiter is not None and not waiter.done():
            waiter.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(ConnectionResetError("the server closed the connection before answering"))

    def _fail(self, error: Exception) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_exception(error)

    async def exchange(self, message: bytes, within: float | None = None) -> tuple[Reply, bool]:
        """Send ``message``; the reply, and whether the connection may serve another.
        ``TimeoutError`` when the whole answer has not arrived ``within`` seconds."""
        if self._transport is None or self.closed:
            raise ConnectionResetError("the connection is closed")
        self._answer = answer = Answer()
        self._parser = parser = httptools.HttpResponseParser(answer)
        self._waiter = self._loop.create_future()
        # One timer handle on the loop rather than an ``asyncio.timeout`` scope per request: the
        # scope's bookkeeping (its own timer, the task's cancel count) was a twentieth of an
        # event's CPU for the two calls each event makes.
        timer = self._loop.call_later(within, self._expire) if within is not None else None
        try:
            self._transport.write(message)
            await self._waiter
        finally:
            self._parser = self._waiter = None
            if timer is not None:
                timer.cancel()
        return reply_of(parser, answer)

    def _expire(self) -> None:
        self._fail(TimeoutError("no answer in time"))
        self.close()

    def set_options(self, options: list[tuple[int, int, int]]) -> None:
        sock = self._transport.get_extra_info("socket") if self._transport else None
        if sock is not None:
            with contextlib.suppress(OSError):
                for level, option, value in options:
                    sock.setsockopt(level, option, value)

    def close(self) -> None:
        self.closed = True
        if self._transport is not None:
            self._transport.close()


class AsyncPool(Destination):
    """Kept-alive connections to a ``kubeapi.http1.Destination``, for one event loop at a time;
    a connection serves one request at a time."""

    def _start(self) -> None:
        self._idle: list[_Connection] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def request(
        self,
        method: str,
        target: str,
        headers: dict[str, str],
        body: bytes | None,
        within: float | None = None,
    ) -> Reply:
        """One request; ``OSError`` when it fails, ``TimeoutError`` (one) when it has not been
        answered ``within`` seconds of its start. A request cancelled from outside (an
        ``asyncio.timeout`` around it) closes its connection too."""
        message = encode_request(method, target, self._authority, headers, body)
        loop = asyncio.get_running_loop()
        connection = self._idle_one(loop)
        if connection is None:
            # A new connection is rare (the pool keeps them): the general timeout scope serves,
            # and what it took comes off the answer's time.
            started = loop.time()
            async with asyncio.timeout(within):
                connection = await self._connect(loop)
            if within is not None:
                within = max(0.0, within - (loop.time() - started))
        try:
            reply, reusable = await connection.exchange(message, within)
        except BaseException:
            connection.close()
            raise
        if reusable and not connection.closed and len(self._idle) < self.size:
            self._idle.append(connection)
        else:
            connection.close()
        return reply

    def _idle_one(self, loop: asyncio.AbstractEventLoop) -> _Connection | None:
        """A kept connection still open, made on ``loop``; None when there is none."""
        if loop is not self._loop:
            self._forget_idle()
            self._loop = loop
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed:
                return connection
        return None

    async def _connect(self, loop: asyncio.AbstractEventLoop) -> _Connection:
        tls = self._context is not None
        _, connection = await loop.create_connection(
            lambda: _Connection(loop),
            self.host,
            self.port,
            ssl=self._context,
            server_hostname=self._server_hostname if tls else None,
        )
        connection.set_options([(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1), *self._options])
        self.connections_made += 1
        return connection

    def _forget_idle(self) -> None:
        idle, self._idle = self._idle, []
        for connection in idle:
            # Its loop may be closed already: then there is nothing left to close.
            with contextlib.suppress(RuntimeError):
                connection.close()

    def close(self) -> None:
        """Close the idle connections (from the loop they belong to, or after it ended)."""
        self._forget_idle()
