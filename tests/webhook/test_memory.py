"""The ``jobsink webhook`` process under header floods: its RSS, read from ``/proc``."""

from __future__ import annotations

import socket
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from certs.authority import CertificateAuthority
from tests.serving.harness import PeakRss, flood_at_once, read_response, rss_bytes, status_of
from tests.serving.test_memory import MB, free_port
from tests.webhook.reviews import example, review
from tests.webhook.serving import write_pair
from tests.webhook.test_hostile import encoded

JOBSINK = Path(sys.executable).parent / "jobsink"

Connect = Callable[[], socket.socket]


@pytest.fixture
def webhook(tmp_path: Path) -> Iterator[tuple[int, Connect]]:
    """``jobsink webhook`` as in a Deployment (dry-run off), and how to connect to it."""
    ca = CertificateAuthority.create()
    write_pair(tmp_path, ca)
    context = ssl.create_default_context(cadata=ca.cert_pem.decode())
    port = free_port()

    def connect() -> socket.socket:
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        return context.wrap_socket(raw, server_hostname="127.0.0.1")

    process = subprocess.Popen(
        [
            str(JOBSINK),
            "webhook",
            "--host=127.0.0.1",
            f"--port={port}",
            f"--tls-cert={tmp_path / 'tls.crt'}",
            f"--tls-key={tmp_path / 'tls.key'}",
            "--no-dry-run",
            "--log-level=warning",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with connect() as sock:
                    sock.sendall(b"GET /readyz HTTP/1.1\r\nHost: webhook\r\n\r\n")
                    if status_of(read_response(sock)) == 200:
                        break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        yield process.pid, connect
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_eight_64_mib_headers_at_once_raise_the_webhooks_rss_by_less_than_20_mb(
    webhook: tuple[int, Connect],
) -> None:
    pid, connect = webhook
    body = encoded(review(example()))
    request = (
        b"POST /validation HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\n\r\n" % len(body)
    ) + body
    for _ in range(20):  # warm up: TLS, the app, validation's caches
        with connect() as sock:
            sock.sendall(request)
            assert status_of(read_response(sock)) == 200
    before = rss_bytes(pid)
    with PeakRss(pid) as rss:
        floods = flood_at_once(connect, b"POST /validation HTTP/1.1\r\nHost: webhook\r\n")
    assert [status_of(flood.answer) for flood in floods] == [431] * 8
    assert rss.peak - before < 20 * MB, f"RSS {before / MB:.1f} -> peak {rss.peak / MB:.1f} MB"
