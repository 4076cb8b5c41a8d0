"""What a request may hold while it waits, against the real uvicorn server on loopback.

A body still arriving holds no in-flight slot, only its bytes in the shared body budget, and only
until its deadline; an in-flight slot belongs to the worker doing the Kubernetes calls, and is
given back when that worker is done, whatever became of the request. Kubernetes is the FAKE
apiserver of ``fake_kube``.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import pytest
from starlette.requests import Request

from receiver.settings import MAX_EVENT_BYTES
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import Served, StaticSinks, make_plane, post, serve
from tests.seed import SEED_BODY, SEED_HEADERS

PATH = "/default/job-sink-logger"


@pytest.fixture
def sinks(sink: dict[str, Any]) -> StaticSinks:
    return StaticSinks({("default", "job-sink-logger"): sink})


@pytest.fixture
def served(fake: FakeKubeApi, fake_url: str, sinks: StaticSinks) -> Iterator[Served]:
    with served_with(fake, fake_url, sinks) as served:
        yield served


@contextmanager
def served_with(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks, **limits: Any
) -> Iterator[Served]:
    plane = make_plane(fake_url, sinks, **limits)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


@contextmanager
def slow_body(served: Served, declared: int, first: bytes = b"{") -> Iterator[socket.socket]:
    """A connection that sends its head and the first bytes of a ``declared``-byte body, then
    nothing more."""
    port = int(served.url.rsplit(":", 1)[1])
    head = "".join(f"{k}: {v}\r\n" for k, v in SEED_HEADERS.items())
    with socket.create_connection(("127.0.0.1", port)) as conn:
        conn.sendall(
            f"POST {PATH} HTTP/1.1\r\nhost: x\r\n{head}content-length: {declared}\r\n\r\n".encode()
            + first
        )
        yield conn


def answer_and_close(conn: socket.socket, timeout: float = 5.0) -> tuple[bytes, bool]:
    """The server's answer, and whether it then closed the connection."""
    conn.settimeout(timeout)
    received = b""
    while True:
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            return received, False
        if not chunk:
            return received, True
        received += chunk


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def test_slow_bodies_hold_no_inflight_slot(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    with (
        served_with(fake, fake_url, sinks, max_inflight=1, body_timeout=10.0) as served,
        ExitStack() as slow,
    ):
        for _ in range(3):
            slow.enter_context(slow_body(served, 100))
        began = time.monotonic()
        response = post(served)
        seconds = time.monotonic() - began
        assert served.plane.slots.current == 0
    assert response.status_code == 202, response.text
    assert seconds < 2.0


def test_a_body_not_complete_by_its_deadline_is_408_and_closed(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    with (
        served_with(fake, fake_url, sinks, body_timeout=0.5) as served,
        slow_body(served, 100) as conn,
    ):
        answer, closed = answer_and_close(conn)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 408")
    assert b"connection: close" in head
    assert closed
    assert fake.calls == []


def test_a_trickling_body_is_timed_from_the_head_not_from_each_byte(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    with (
        served_with(fake, fake_url, sinks, body_timeout=1.0) as served,
        slow_body(served, 100, b"") as conn,
    ):
        began = time.monotonic()
        for _ in range(30):  # a byte every 0.1 s: never idle, never done
            try:
                conn.sendall(b" ")
            except OSError:
                break
            time.sleep(0.1)
        answer, _ = answer_and_close(conn)
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - began < 3.5


def test_bodies_past_the_budget_get_503_with_retry_after_and_are_closed(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    budget = MAX_EVENT_BYTES
    filler = b" " * (budget - 1000)
    with served_with(
        fake, fake_url, sinks, body_budget_bytes=budget, retry_after_seconds=3
    ) as served:
        with slow_body(served, MAX_EVENT_BYTES, filler):
            wait_until(lambda: served.plane.body_budget.held == len(filler))
            with slow_body(served, 2000, b" " * 2000) as refused:
                answer, closed = answer_and_close(refused)
        wait_until(lambda: served.plane.body_budget.held == 0)  # the first one's bytes back
        after = post(served)
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 503")
    assert b"retry-after: 3" in head
    assert b"connection: close" in head
    assert closed
    assert after.status_code == 202


def test_a_declared_length_reserves_nothing(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    """Announcing bodies costs an attacker nothing but holds nothing either: only bytes sent
    count against the budget."""
    with (
        served_with(fake, fake_url, sinks, body_budget_bytes=MAX_EVENT_BYTES) as served,
        slow_body(served, MAX_EVENT_BYTES),
        slow_body(served, MAX_EVENT_BYTES),
    ):
        wait_until(lambda: served.plane.body_budget.held == 2)
        response = post(served)
    assert response.status_code == 202, response.text


def test_a_client_that_leaves_mid_body_is_logged_without_a_traceback(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="jobsink.receiver")
    with slow_body(served, 100):
        wait_until(lambda: served.plane.body_budget.held == 1)
    wait_until(lambda: any("client left" in r.getMessage() for r in caplog.records))
    records = [r for r in caplog.records if r.name == "jobsink.receiver"]
    assert [r.levelno for r in records if "client left" in r.getMessage()] == [logging.INFO]
    assert all(r.levelno < logging.ERROR and r.exc_info is None for r in records)
    assert served.plane.body_budget.held == 0
    assert served.fake.calls == []


def test_a_refusal_before_the_body_is_read_closes_the_connection(served: Served) -> None:
    """A 413 from the declared length leaves the body unread: the connection cannot carry a next
    request, so it is closed rather than drained."""
    with slow_body(served, MAX_EVENT_BYTES + 1, b"") as conn:
        answer, closed = answer_and_close(conn)
    assert answer.startswith(b"HTTP/1.1 413")
    assert closed


def _request(body: bytes) -> Request:
    headers = [(k.encode(), v.encode()) for k, v in SEED_HEADERS.items()]
    headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "method": "POST",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "headers": headers,
    }
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # the client says nothing more
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def test_a_slot_stays_taken_until_its_worker_is_done_even_if_the_request_is_gone(
    fake: FakeKubeApi, fake_url: str, sinks: StaticSinks
) -> None:
    """The request is cancelled (as a server may when its client leaves) while its worker waits
    on the apiserver: the slot is the worker's until the worker returns, so work running at once
    never exceeds the limit."""
    hold = threading.Event()
    fake.fail("GET", "jobs", hold=hold)
    plane = make_plane(fake_url, sinks, max_inflight=1, attempt_timeout=30.0)

    async def scenario() -> tuple[int, int, int]:
        task = asyncio.create_task(plane.handle(_request(SEED_BODY)))
        while not fake.calls:  # noqa: ASYNC110 (the fake apiserver has no event to await)
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        held_after_cancel = plane.slots.current
        refused = await plane.handle(_request(SEED_BODY))
        hold.set()
        while plane.slots.current:  # noqa: ASYNC110 (a worker thread gives the slot back)
            await asyncio.sleep(0.01)
        return held_after_cancel, refused.status_code, plane.slots.current

    try:
        assert asyncio.run(scenario()) == (1, 429, 0)
    finally:
        hold.set()
        plane.pool.shutdown(wait=True)
    assert len(fake.of("jobs")) == len(fake.of("secrets")) == 1  # the worker finished its event


def test_the_inflight_gauge_follows_the_workers(served: Served) -> None:
    assert post(served).status_code == 202
    wait_until(lambda: served.plane.slots.current == 0)
    text = httpx.get(served.url + "/metrics").text
    assert "jobsink_requests_inflight 0.0" in text
