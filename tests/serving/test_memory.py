"""Memory under header floods, measured on a server process of its own (``harness`` as main)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving.harness import (
    PeakRss,
    Running,
    Seen,
    Tls,
    flood_at_once,
    read_response,
    rss_bytes,
    status_of,
)
from tests.serving.test_protocol import get

MB = 1_000_000


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=["tls", "plain"])
def process(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[int, Running]]:
    tls = Tls.create(tmp_path) if request.param == "tls" else None
    port = free_port()
    pem = [str(tls.cert), str(tls.key)] if tls else []
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.serving.harness", str(port), *pem],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    target = Running(port, tls, Seen())
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with target.connect() as sock:
                    sock.sendall(get())
                    if status_of(read_response(sock)) == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.05)
        yield server.pid, target
    finally:
        server.terminate()
        server.wait(timeout=10)


def test_eight_64_mib_headers_at_once_raise_rss_by_less_than_20_mb(
    process: tuple[int, Running],
) -> None:
    pid, target = process
    for _ in range(20):  # warm up: TLS, the app, the parser's buffers
        with target.connect() as sock:
            sock.sendall(get())
            assert status_of(read_response(sock)) == 200
    before = rss_bytes(pid)
    with PeakRss(pid) as rss:
        floods = flood_at_once(target.connect, b"POST /echo HTTP/1.1\r\nHost: test\r\n")
    assert [status_of(flood.answer) for flood in floods] == [431] * 8
    assert rss.peak - before < 20 * MB, f"RSS {before / MB:.1f} -> peak {rss.peak / MB:.1f} MB"
