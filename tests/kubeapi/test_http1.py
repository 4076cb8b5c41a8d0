"""Our HTTP/1.1 client against a loopback server: kept-alive connections are reused, chunked
answers are put together, a connection the server closed is never used again, and one that
asks to be closed is closed."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from kubeapi.http1 import Pool


class Server(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b'{"path":"%s"}' % self.path.encode()
        self.send_response(200)
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

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[http.server.ThreadingHTTPServer]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()


def pool_of(httpd: http.server.ThreadingHTTPServer) -> Pool:
    port = httpd.server_address[1]
    return Pool("127.0.0.1", port, authority=f"127.0.0.1:{port}", context=None)


def test_a_kept_alive_connection_serves_the_next_request(
    server: http.server.ThreadingHTTPServer,
) -> None:
    pool = pool_of(server)
    for path in ("/a", "/b?x=1"):
        reply = pool.request("GET", path, {"Accept": "application/json"}, None, 5)
        assert (reply.status, reply.reason, reply.data) == (
            200,
            "OK",
            b'{"path":"%s"}' % path.encode(),
        )
        assert reply.headers["retry-after"] == "3"
    assert pool.connections_made == 1


def test_a_chunked_answer_is_whole(server: http.server.ThreadingHTTPServer) -> None:
    assert pool_of(server).request("GET", "/chunked", {}, None, 5).data == b'{"path":"/chunked"}'


def test_an_answer_that_closes_its_connection_is_not_reused(
    server: http.server.ThreadingHTTPServer,
) -> None:
    pool = pool_of(server)
    pool.request("GET", "/close", {}, None, 5)
    pool.request("GET", "/a", {}, None, 5)
    assert pool.connections_made == 2


def test_a_connection_the_server_dropped_is_replaced_before_use(
    server: http.server.ThreadingHTTPServer,
) -> None:
    pool = pool_of(server)
    pool.request("GET", "/a", {}, None, 5)
    (idle,) = pool._idle
    idle.shutdown(2)  # as if the server had closed it while it sat in the pool
    assert pool.request("GET", "/b", {}, None, 5).status == 200
    assert pool.connections_made == 2


def test_nobody_listening_is_refused() -> None:
    with pytest.raises(ConnectionRefusedError):
        Pool("127.0.0.1", 1, authority="127.0.0.1:1", context=None).request("GET", "/", {}, None, 2)
