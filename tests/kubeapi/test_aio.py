"""The event loop's HTTP/1.1 client against a real loopback TLS server: answers whole (plain,
chunked, with a body sent), connections kept alive and reused, never reused once closed by
either side, cancelled or answered with garbage, a certificate from another authority refused,
and a pool used from a second loop."""

from __future__ import annotations

import asyncio
import http.server
import ssl
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import uvloop

from certs.authority import CertificateAuthority, KeyPair
from kubeapi.aio import AsyncPool


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 1.0  # an idle kept-alive connection is closed by the server after this

    def do_GET(self) -> None:
        if self.path == "/garbage":
            self.wfile.write(b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n")
            return
        if self.path == "/slow":
            time.sleep(1.0)
        body = b'{"path":"%s"}' % self.path.encode()
        self.send_response(404 if self.path == "/missing" else 200)
        if self.path == "/chunked":
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            for part in (body[:5], body[5:]):
                self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
            self.wfile.write(b"0\r\n\r\n")
            return
        if self.path == "/close":
            self.send_header("connection", "close")
            self.close_connection = True
        self.send_header("content-length", str(len(body)))
        self.send_header("retry-after", "3")
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:
        sent = self.rfile.read(int(self.headers["content-length"]))
        body = b'{"host":"%s","got":%s}' % (self.headers["host"].encode(), sent)
        self.send_response(201)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@dataclass
class Served:
    port: int
    authority: CertificateAuthority


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    authority = CertificateAuthority.create()
    pair = authority.issue_server(ips=["127.0.0.1"])
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*_files(pair))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield Served(httpd.server_address[1], authority)
    httpd.shutdown()


def _files(pair: KeyPair) -> tuple[str, str]:
    paths = []
    for pem in (pair.cert_pem, pair.key_pem):
        with tempfile.NamedTemporaryFile("wb", suffix=".pem", delete=False) as handle:
            handle.write(pem)
            paths.append(handle.name)
    return paths[0], paths[1]


def pool_of(served: Served, authority: CertificateAuthority | None = None) -> AsyncPool:
    trusted = authority or served.authority
    context = ssl.create_default_context(cadata=trusted.cert_pem.decode())
    address = f"127.0.0.1:{served.port}"
    return AsyncPool("127.0.0.1", served.port, authority=address, context=context)


ANSWERS = [
    # method, path, body -> status, reason, data
    ("GET", "/a", None, 200, "OK", b'{"path":"/a"}'),
    ("GET", "/b?x=1", None, 200, "OK", b'{"path":"/b?x=1"}'),
    ("GET", "/chunked", None, 200, "OK", b'{"path":"/chunked"}'),
    ("GET", "/missing", None, 404, "Not Found", b'{"path":"/missing"}'),
    ("POST", "/objects", b'{"a":1}', 201, "Created", b'{"host":"127.0.0.1:%d","got":{"a":1}}'),
]


LOOPS = {"asyncio": asyncio.new_event_loop, "uvloop": uvloop.new_event_loop}


@pytest.mark.parametrize("loop", LOOPS)
def test_answers_arrive_whole_over_one_kept_alive_connection(served: Served, loop: str) -> None:
    """On both loops: the receiver serves on uvloop, whose transports are not asyncio's."""
    pool = pool_of(served)

    async def scenario() -> None:
        for method, path, body, status, reason, data in ANSWERS:
            reply = await pool.request(method, path, {"Accept": "application/json"}, body)
            expected = data % served.port if b"%d" in data else data
            assert (reply.status, reply.reason, reply.data) == (status, reason, expected), path

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        runner.run(scenario())
    assert pool.connections_made == 1


CLOSINGS = [
    # what happens between two requests -> connections made for both
    ("the answer asked to close", "/close", 0.0, 2),
    ("the server closed the idle connection", "/a", 1.5, 2),
    ("nothing", "/a", 0.0, 1),
]


@pytest.mark.parametrize(("case", "first", "pause", "made"), CLOSINGS, ids=[c[0] for c in CLOSINGS])
def test_a_closed_connection_is_never_reused(
    served: Served, case: str, first: str, pause: float, made: int
) -> None:
    pool = pool_of(served)

    async def scenario() -> bytes:
        await pool.request("GET", first, {}, None)
        await asyncio.sleep(pause)
        return (await pool.request("GET", "/after", {}, None)).data

    assert asyncio.run(scenario()) == b'{"path":"/after"}'
    assert pool.connections_made == made


FAILURES = [
    # path, time limit -> the error raised; the connection is not used again
    ("/garbage", 5.0, ConnectionError),
    ("/slow", 0.2, TimeoutError),
]


@pytest.mark.parametrize(("path", "limit", "error"), FAILURES)
def test_a_failed_request_closes_its_connection(
    served: Served, path: str, limit: float, error: type[Exception]
) -> None:
    pool = pool_of(served)

    async def scenario() -> bytes:
        with pytest.raises(error):
            async with asyncio.timeout(limit):
                await pool.request("GET", path, {}, None)
        return (await pool.request("GET", "/after", {}, None)).data

    assert asyncio.run(scenario()) == b'{"path":"/after"}'
    assert pool.connections_made == 2


def test_a_server_certificate_of_another_authority_is_refused(served: Served) -> None:
    pool = pool_of(served, CertificateAuthority.create("someone-else"))
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(pool.request("GET", "/a", {}, None))


def test_a_pool_serves_a_second_loop_on_new_connections(served: Served) -> None:
    pool = pool_of(served)
    for _ in range(2):
        assert asyncio.run(pool.request("GET", "/a", {}, None)).status == 200
    assert pool.connections_made == 2


@pytest.mark.parametrize("loop", LOOPS)
def test_a_request_not_answered_within_its_time_fails_alone(served: Served, loop: str) -> None:
    """``within``: the pool's own time limit (one timer, no ``asyncio.timeout`` scope). The late
    connection is closed, the task is not cancelled, and the next request is served. The slow
    request goes over a kept connection, so that only the answer's time counts (a TLS handshake
    on a loaded machine may take longer than the limit itself). The lower bound allows for the
    loop's clock: uvloop reads it once per iteration, in whole milliseconds, so its timer may fire
    a little before 0.2 s of ``time.monotonic`` have passed."""
    pool = pool_of(served)

    async def scenario() -> tuple[float, bytes, bool]:
        await pool.request("GET", "/a", {}, None)
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no answer in time"):
            await pool.request("GET", "/slow", {}, None, within=0.2)
        late = time.monotonic() - started
        task = asyncio.current_task()
        cancelling = task is not None and task.cancelling() > 0
        return late, (await pool.request("GET", "/after", {}, None, within=5)).data, cancelling

    with asyncio.Runner(loop_factory=LOOPS[loop]) as runner:
        late, after, cancelling = runner.run(scenario())
    assert 0.15 <= late < 0.9
    assert after == b'{"path":"/after"}'
    assert not cancelling
    assert pool.connections_made == 2


def test_a_connection_not_made_within_the_time_fails() -> None:
    """A server that accepts TCP but never completes the TLS handshake: the connection's own
    part of ``within`` runs out."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as silent:
        port = silent.getsockname()[1]
        context = ssl.create_default_context()
        pool = AsyncPool("127.0.0.1", port, authority=f"127.0.0.1:{port}", context=context)

        async def scenario() -> float:
            started = time.monotonic()
            with pytest.raises(TimeoutError):
                await pool.request("GET", "/a", {}, None, within=0.3)
            return time.monotonic() - started

        assert 0.3 <= asyncio.run(scenario()) < 1.5
    assert pool.connections_made == 0
