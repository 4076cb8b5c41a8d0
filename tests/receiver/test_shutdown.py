"""The real server process: SIGTERM drains and finishes in-flight requests."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import threading
import time

import httpx

from tests.receiver.fake_kube import FakeKubeApi
from tests.seed import SEED_BODY, SEED_HEADERS


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str) -> None:
    for _ in range(400):
        try:
            if httpx.get(url).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"{url} never ready")


def test_sigterm_drains_then_finishes_in_flight_requests(fake: FakeKubeApi, fake_url: str) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.receiver.serve_fake", fake_url, str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_ready(url + "/readyz")
        hold = threading.Event()
        fake.fail("POST", "secrets", hold=hold)  # SIGTERM lands between the two writes
        answers: list[httpx.Response] = []
        sender = threading.Thread(
            target=lambda: answers.append(
                httpx.post(
                    url + "/default/job-sink-logger",
                    headers=SEED_HEADERS,
                    content=SEED_BODY,
                    timeout=30,
                )
            )
        )
        sender.start()
        while ("POST", "secrets", "") not in fake.calls:
            time.sleep(0.01)
        assert len(fake.of("jobs")) == 1
        assert fake.of("secrets") == []
        process.send_signal(signal.SIGTERM)
        while httpx.get(url + "/readyz").status_code == 200:
            time.sleep(0.01)
        assert httpx.get(url + "/readyz").json() == {"status": "not ready", "reason": "draining"}
        hold.set()
        sender.join(30)
        assert process.wait(30) == 0
    finally:
        process.kill()
    assert [answer.status_code for answer in answers] == [202]
    assert len(fake.of("jobs")) == len(fake.of("secrets")) == 1
