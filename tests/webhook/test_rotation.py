"""Rotation under load: the certificate on disk changes while reviews keep coming.

Zero requests may fail, connections opened before the rotation keep working, and new connections
present the new certificate without a restart.
"""

from __future__ import annotations

import json
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.webhook.reviews import example, review
from tests.webhook.serving import Running, serving, write_pair

pytestmark = pytest.mark.slow


@pytest.fixture
def running(tmp_path: Path) -> Iterator[Running]:
    with serving(tmp_path) as server:
        yield server


def _served_cert(running: Running) -> bytes:
    with (
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as raw,
        running.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as tls,
    ):
        cert = tls.getpeercert(binary_form=True)
        assert cert is not None
        return cert


class Load:
    """Sends reviews until stopped: one keep-alive client and one new connection per request."""

    def __init__(self, running: Running) -> None:
        self.running = running
        self.body = json.dumps(review(example())).encode()
        self.stop = threading.Event()
        self.ok = 0
        self.failures: list[str] = []
        self.threads = [
            threading.Thread(target=self._keep_alive, daemon=True),
            threading.Thread(target=self._new_connections, daemon=True),
        ]

    def _send(self, client: httpx.Client) -> None:
        try:
            response = client.post(
                f"{self.running.url}/validation",
                content=self.body,
                headers={"content-type": "application/json"},
            )
            if response.status_code == 200 and response.json()["response"]["allowed"]:
                self.ok += 1
            else:
                self.failures.append(f"HTTP {response.status_code}: {response.text[:200]}")
        except (httpx.HTTPError, ssl.SSLError, OSError) as error:
            self.failures.append(f"{type(error).__name__}: {error}")

    def _keep_alive(self) -> None:
        with httpx.Client(verify=self.running.client_context(), timeout=10) as client:
            while not self.stop.is_set():
                self._send(client)

    def _new_connections(self) -> None:
        context = self.running.client_context()
        while not self.stop.is_set():
            with httpx.Client(verify=context, timeout=10) as client:
                self._send(client)

    def __enter__(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=10)


def test_rotation_under_load_fails_no_request_and_serves_the_new_cert(running: Running) -> None:
    before = _served_cert(running)
    with Load(running) as load:
        time.sleep(0.5)
        new_pem = write_pair(running.cert_dir, running.ca)
        new_der = ssl.PEM_cert_to_DER_cert(new_pem.decode())
        deadline = time.monotonic() + 10
        while _served_cert(running) != new_der:
            assert time.monotonic() < deadline, "the new certificate was never served"
            time.sleep(0.1)
        time.sleep(0.5)  # keep the load going over connections made after the rotation
    assert load.failures == []
    assert load.ok > 20
    assert new_der != before


def test_a_broken_pair_on_disk_keeps_the_old_cert_served(running: Running) -> None:
    before = _served_cert(running)
    (running.cert_dir / "tls.crt").write_text("garbage")
    time.sleep(1.5)  # more than one poll interval
    assert _served_cert(running) == before
