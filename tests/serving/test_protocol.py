"""``serving``'s protocol over a real uvicorn server on loopback, over TLS and over plain HTTP.

Short timeouts (1 s for the head, 2 s for the whole request) keep the deadline tests quick; the
caps are the defaults (32 KiB, 100 lines).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from serving.limits import HttpLimits
from tests.serving.harness import (
    LATER_SECONDS,
    Running,
    Tls,
    flood_header,
    read_response,
    read_until_closed,
    running,
    status_of,
)

LIMITS = HttpLimits(header_timeout=1.0, read_timeout=2.0)
CAP = LIMITS.max_header_bytes


@pytest.fixture(scope="module", params=["tls", "plain"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Running]:
    tls = Tls.create(tmp_path_factory.mktemp("tls")) if request.param == "tls" else None
    with running(LIMITS, tls) as server:
        yield server


@pytest.fixture
def conn(server: Running) -> Iterator[socket.socket]:
    sock = server.connect()
    try:
        yield sock
    finally:
        sock.close()


def get(path: str = "/ok", extra: bytes = b"") -> bytes:
    return b"GET " + path.encode() + b" HTTP/1.1\r\nHost: test\r\n" + extra + b"\r\n"


def post(body: bytes, path: str = "/echo") -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Length: {len(body)}\r\n\r\n"
    return head.encode() + body


def head_of_size(size: int) -> bytes:
    """A GET whose head (request line to the blank line, inclusive) is exactly ``size`` bytes."""
    bare = get(extra=b"X-Pad: \r\n")
    return get(extra=b"X-Pad: " + b"p" * (size - len(bare)) + b"\r\n")


# --- what must keep working -----------------------------------------------------------------------


def test_requests_on_one_kept_alive_connection(conn: socket.socket) -> None:
    for request, answer in [
        (get(), b"ok"),
        (post(b"x" * 1000), b"1000"),
        (post(b"y" * 300_000), b"300000"),  # a body many times the head cap is not a head
        (get(), b"ok"),
    ]:
        conn.sendall(request)
        response = read_response(conn)
        assert status_of(response) == 200
        assert response.endswith(b"\r\n\r\n" + answer)


def test_the_head_clock_does_not_run_between_requests(conn: socket.socket) -> None:
    conn.sendall(get())
    assert status_of(read_response(conn)) == 200
    time.sleep(LIMITS.header_timeout + 0.5)  # idle, within uvicorn's keep-alive of 5 s
    conn.sendall(get())
    assert status_of(read_response(conn)) == 200


def test_pipelined_requests_are_answered_in_order(conn: socket.socket) -> None:
    conn.sendall(get() + post(b"abc") + get())
    answers = [read_response(conn) for _ in range(3)]
    assert [status_of(a) for a in answers] == [200, 200, 200]
    assert answers[1].endswith(b"3")


def test_a_head_trickled_in_within_the_timeout_is_served(conn: socket.socket) -> None:
    request = get(extra=b"X-Slow: yes\r\n")
    for start in range(0, len(request), 8):
        conn.sendall(request[start : start + 8])
        time.sleep(0.02)
    assert status_of(read_response(conn)) == 200


# --- the caps -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "status"),
    [(1024, 200), (CAP - 1, 200), (CAP, 200), (CAP + 1, 431), (4 * CAP, 431)],
)
def test_head_size_cap(conn: socket.socket, size: int, status: int) -> None:
    request = head_of_size(size)
    assert len(request) == size
    conn.sendall(request)
    response = read_response(conn) if status == 200 else read_until_closed(conn)
    assert status_of(response) == status
    if status == 431:
        assert response.endswith(f"request head larger than {CAP} bytes".encode())
        assert b"connection: close" in response


@pytest.mark.parametrize(("lines", "status"), [(1, 200), (100, 200), (101, 431), (1000, 431)])
def test_header_line_cap(conn: socket.socket, lines: int, status: int) -> None:
    extra = b"".join(b"X-%d: v\r\n" % n for n in range(lines - 1))  # plus Host
    conn.sendall(get(extra=extra))
    response = read_response(conn) if status == 200 else read_until_closed(conn)
    assert status_of(response) == status
    if status == 431:
        assert response.endswith(b"more than 100 header lines")


def test_a_64_mib_header_value_is_refused_without_being_read(conn: socket.socket) -> None:
    flood = flood_header(conn, b"POST /echo HTTP/1.1\r\nHost: test\r\n")
    assert status_of(flood.answer) == 431
    # The server stopped reading at 32 KiB; what the client got out is what the kernel buffers
    # of both ends took before the answer was noticed.
    assert flood.sent < 16 * 1024 * 1024


def test_an_unparsable_request_is_answered_400_and_closed(conn: socket.socket) -> None:
    conn.sendall(b"NOT HTTP AT ALL\r\n\r\n")
    response = read_until_closed(conn)
    assert status_of(response) == 400
    assert response.endswith(b"Invalid HTTP request received.")


# --- the deadlines -------------------------------------------------------------------------------


def test_a_connection_that_sends_nothing_is_closed_without_an_answer(conn: socket.socket) -> None:
    started = time.monotonic()
    assert read_until_closed(conn) == b""
    assert LIMITS.header_timeout - 0.1 < time.monotonic() - started < LIMITS.header_timeout + 2


@pytest.mark.parametrize("sent", [b"G", b"GET /ok HTTP/1.1\r\nHost: te"])
def test_a_partial_head_is_answered_408_after_the_header_timeout(
    conn: socket.socket, sent: bytes
) -> None:
    conn.sendall(sent)
    started = time.monotonic()
    response = read_until_closed(conn)
    assert status_of(response) == 408
    assert response.endswith(b"request head not received within 1 s")
    assert time.monotonic() - started < LIMITS.header_timeout + 2


def test_the_header_timeout_counts_from_the_first_byte_of_a_later_request(
    conn: socket.socket,
) -> None:
    conn.sendall(get())
    assert status_of(read_response(conn)) == 200
    conn.sendall(b"GET /ok HTTP/1.1\r\n")
    started = time.monotonic()
    assert status_of(read_until_closed(conn)) == 408
    assert LIMITS.header_timeout - 0.1 < time.monotonic() - started < LIMITS.header_timeout + 2


def test_a_body_sent_slowly_is_cut_at_the_read_timeout(
    server: Running, conn: socket.socket
) -> None:
    disconnects = server.seen.disconnects
    conn.sendall(b"POST /echo HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
    started = time.monotonic()
    conn.settimeout(0.3)
    answer = b""
    while time.monotonic() - started < LIMITS.read_timeout + 3:
        try:
            conn.send(b"x")  # one byte every 0.3 s
            answer += conn.recv(4096)
            break
        except TimeoutError:
            continue
        except OSError:
            break
    conn.settimeout(5)
    answer += read_until_closed(conn)
    assert status_of(answer) == 408
    assert answer.endswith(b"request not received within 2 s")
    assert time.monotonic() - started < LIMITS.read_timeout + 2
    assert server.seen.disconnects == disconnects + 1  # the app stopped waiting for the body


def test_time_the_server_is_not_reading_is_not_held_against_the_client(
    conn: socket.socket,
) -> None:
    # The app waits longer than the read timeout before reading a body too large for uvicorn's
    # buffer, so reading is paused meanwhile; the client sent everything at once.
    assert LIMITS.read_timeout < LATER_SECONDS
    conn.sendall(post(b"z" * 1_000_000, path="/later"))
    response = read_response(conn)
    assert status_of(response) == 200
    assert response.endswith(b"1000000")


def test_limits_are_checked(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="read_timeout"):
        HttpLimits(header_timeout=10, read_timeout=5)
