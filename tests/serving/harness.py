"""A small ASGI app served by uvicorn with ``serving``'s protocol, over TLS or plain HTTP, and the
raw-socket client the hostile tests need (httpx cannot send a 64 MiB header or stop halfway).

Also runnable as a process (``python -m tests.serving.harness PORT [CERT KEY]``) so that tests can
measure the server's memory from ``/proc`` without counting their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import select
import socket
import ssl
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
import uvloop

from certs.authority import CertificateAuthority
from serving.limits import HttpLimits
from serving.protocol import protocol_for

#: How long ``POST /later`` waits before it reads the body.
LATER_SECONDS = 2.5

Message = dict[str, Any]
Receive = Callable[[], Any]
Send = Callable[[Message], Any]


@dataclass
class Seen:
    """What the app observed, for tests that check the application's side."""

    disconnects: int = 0
    bodies: list[int] = field(default_factory=list)


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def make_app(seen: Seen) -> Callable[[Message, Receive, Send], Any]:
    """``GET /ok``; ``POST /echo`` answers the body's length; ``POST /later`` waits first."""

    async def app(scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        if scope["path"] == "/later":
            await asyncio.sleep(LATER_SECONDS)  # the body waits in uvicorn's buffer, reading paused
        size = 0
        if scope["method"] == "POST":
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    seen.disconnects += 1
                    return
                size += len(message.get("body", b""))
                if not message.get("more_body"):
                    break
            seen.bodies.append(size)
        await _respond(send, 200, str(size).encode() if scope["method"] == "POST" else b"ok")

    return app


@dataclass
class Tls:
    ca: CertificateAuthority
    cert: Path
    key: Path

    @classmethod
    def create(cls, directory: Path) -> Tls:
        ca = CertificateAuthority.create()
        pair = ca.issue_server(dns_names=["localhost"], ips=["127.0.0.1"])
        (directory / "tls.crt").write_bytes(pair.cert_pem)
        (directory / "tls.key").write_bytes(pair.key_pem)
        return cls(ca, directory / "tls.crt", directory / "tls.key")

    def client_context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cadata=self.ca.cert_pem.decode())


def config(
    app: Any, limits: HttpLimits, port: int, tls: Tls | None, keep_alive: int = 5
) -> uvicorn.Config:
    return _config(app, limits, port, (tls.cert, tls.key) if tls else None, keep_alive)


def _config(
    app: Any, limits: HttpLimits, port: int, pem: tuple[Path, Path] | None, keep_alive: int = 5
) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port,
        loop="none",
        http=protocol_for(limits),
        ws="none",
        lifespan="off",
        log_config=None,
        access_log=False,
        timeout_keep_alive=keep_alive,
        ssl_certfile=pem[0] if pem else None,
        ssl_keyfile=pem[1] if pem else None,
    )


@dataclass
class Running:
    port: int
    tls: Tls | None
    seen: Seen

    def connect(self, timeout: float = 10) -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        if self.tls is None:
            return sock
        return self.tls.client_context().wrap_socket(sock, server_hostname="127.0.0.1")


@contextlib.contextmanager
def running(limits: HttpLimits, tls: Tls | None, keep_alive: int = 5) -> Iterator[Running]:
    """The app on a loopback port, in a thread of this process."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    seen = Seen()
    server = uvicorn.Server(config(make_app(seen), limits, port, tls, keep_alive))

    def run() -> None:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(sockets=[listener]))

    thread = threading.Thread(target=run, name="serving-under-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("server did not start")
        time.sleep(0.01)
    try:
        yield Running(port, tls, seen)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        listener.close()


# --- the raw client ------------------------------------------------------------------------------


def read_until_closed(sock: socket.socket, limit: int = 1 << 20) -> bytes:
    """Everything the server sends until it closes (or resets) the connection, or goes quiet
    for the socket's timeout."""
    received = b""
    while len(received) < limit:
        try:
            chunk = sock.recv(65536)
        except (ConnectionError, ssl.SSLError, TimeoutError):
            break
        if not chunk:
            break
        received += chunk
    return received


def read_response(sock: socket.socket) -> bytes:
    """One response with a ``content-length``, read exactly (pipelined answers stay queued)."""
    head = b""
    while not head.endswith(b"\r\n\r\n"):
        byte = sock.recv(1)
        if not byte:
            return head
        head += byte
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    body = b""
    while len(body) < length:
        chunk = sock.recv(length - len(body))
        if not chunk:
            break
        body += chunk
    return head + body


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


@dataclass
class Flood:
    sent: int
    answer: bytes


def flood_header(
    sock: socket.socket, prefix: bytes, total: int = 64 * 1024 * 1024, chunk: int = 65536
) -> Flood:
    """Send ``prefix`` and then one header value of ``total`` bytes until the server answers.

    Stops sending as soon as an answer is readable or a send fails (the server stopped reading),
    then reads what the server sent until it closed the connection.
    """
    sock.settimeout(2)
    sock.sendall(prefix + b"X-Flood: ")
    payload = b"a" * chunk
    sent = 0
    received = b""
    while sent < total:
        readable, _, _ = select.select([sock], [], [], 0)
        if readable:
            # Over TLS the socket is also readable for a session ticket: not yet an answer.
            sock.settimeout(0.05)
            try:
                received = sock.recv(65536)
            except (TimeoutError, ssl.SSLWantReadError):
                pass
            except (ConnectionError, ssl.SSLError):
                break
            else:
                break
            sock.settimeout(2)
        try:
            sock.sendall(payload)
        except (OSError, TimeoutError):
            break
        sent += chunk
    sock.settimeout(10)
    return Flood(sent, received + read_until_closed(sock))


def flood_at_once(
    connect: Callable[[], socket.socket], prefix: bytes, count: int = 8
) -> list[Flood]:
    """``count`` connections each sending a 64 MiB header at the same time."""
    floods: list[Flood] = []
    failures: list[BaseException] = []

    def one() -> None:
        try:
            with connect() as sock:
                floods.append(flood_header(sock, prefix))
        except BaseException as error:  # reported by the caller's assertion
            failures.append(error)

    threads = [threading.Thread(target=one, name=f"flood-{n}") for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return floods


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError(f"no VmRSS for process {pid}")


class PeakRss:
    """Samples a process's RSS every 20 ms in a thread; ``peak`` is the highest seen."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.peak = rss_bytes(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="rss-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_bytes(self.pid))

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_bytes(self.pid))


def main() -> None:
    """``python -m tests.serving.harness PORT [CERT KEY]``: serve with the default limits."""
    port = int(sys.argv[1])
    pem = (Path(sys.argv[2]), Path(sys.argv[3])) if len(sys.argv) == 4 else None
    server = uvicorn.Server(_config(make_app(Seen()), HttpLimits(), port, pem))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(server.serve())


if __name__ == "__main__":
    main()
