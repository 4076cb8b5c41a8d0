"""Hostile HTTP against both servers: what they must survive, with the codes they must answer.

Requests are written on raw sockets (``rawhttp``); every one is valid apart from the single
thing under test, so a refusal can only come from the limit being checked. The servers run with
``MAX_HEADER_BYTES`` 32 KiB, ``MAX_HEADERS`` 100 and ``HEADER_TIMEOUT`` 2 s (``targets``).

Both servers serve through ``serving``'s protocol (capped heads, read deadlines), and the webhook
bounds nesting, so every case here is expected to hold.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any

import httpx
import pytest

from tests.e2e.faults.memory import MIB, rss_bytes
from tests.e2e.faults.rawhttp import (
    CRLF,
    Streamed,
    head,
    read_answer,
    request,
    stream,
    wait_closed,
)
from tests.e2e.faults.targets import HEADER_TIMEOUT_SECONDS, MAX_HEADERS, Target
from tests.webhook.reviews import example, review

pytestmark = pytest.mark.timeout(300)

HUGE_VALUE = 64 * MIB
RSS_BOUND = 20_000_000  # bytes: "less than 20 MB"
REFUSED_HEAD = (431, 400)


BOTH = ["receiver", "webhook"]


@pytest.fixture
def server(request: pytest.FixtureRequest) -> Target:
    target: Target = request.getfixturevalue(f"{request.param}_target")
    return target


def _with_headers(server: Target, total: int) -> bytes:
    """A valid request carrying exactly ``total`` header lines (content-length included)."""
    headers = server.headers()
    fillers = [(f"x-filler-{n}", "1") for n in range(total - len(headers) - 1)]
    return request("POST", server.path, [*headers, *fillers], server.body())


def _huge_value_parts(server: Target) -> tuple[bytes, bytes]:
    """A valid request around one header whose value is streamed: (before it, after it)."""
    body = server.body()
    before = head("POST", server.path, [*server.headers(), ("content-length", str(len(body)))])
    return before + CRLF + b"x-huge: ", CRLF * 2 + body


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_a_valid_request_with_100_header_lines_is_served(server: Target) -> None:
    with server.endpoint.connect() as sock:
        sock.sendall(_with_headers(server, MAX_HEADERS))
        answer = read_answer(sock, close_wait=0.2)
    assert answer.status == server.ok_status, f"{server.name}: {answer}"


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_101_header_lines_are_refused_and_the_connection_closed(server: Target) -> None:
    with server.endpoint.connect() as sock:
        sock.sendall(_with_headers(server, MAX_HEADERS + 1))
        answer = read_answer(sock)
    assert (answer.status in REFUSED_HEAD, answer.closed) == (True, True), (
        f"{server.name}: {answer}"
    )


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_a_64_mib_header_value_is_refused_and_the_connection_closed(server: Target) -> None:
    before, after = _huge_value_parts(server)
    with server.endpoint.connect() as sock:
        streamed = stream(sock, before, HUGE_VALUE, after)
        answer = read_answer(sock, timeout=30)
    assert (answer.status in REFUSED_HEAD, answer.closed) == (True, True), (
        f"{server.name}: streamed {streamed}, then {answer}"
    )


OPENINGS = {"idle": b"", "partial-head": b"POST / HTTP/1.1\r\nhost: 127.0.0.1\r\nx-partial: 1"}


@pytest.mark.parametrize("opening", OPENINGS.values(), ids=OPENINGS.keys())
@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_a_connection_without_a_whole_head_is_closed_after_the_header_timeout(
    server: Target, opening: bytes
) -> None:
    limit = HEADER_TIMEOUT_SECONDS + 5
    with server.endpoint.connect() as sock:
        sock.sendall(opening)
        closed_after = wait_closed(sock, limit)
    assert closed_after is not None, f"{server.name}: still open after {limit:.0f}s"


@pytest.mark.parametrize("server", BOTH, indirect=True)
def test_eight_concurrent_64_mib_heads_raise_rss_by_less_than_20_mb(server: Target) -> None:
    """Each attempt stops as soon as the bound is passed, so a failing run stays cheap."""
    with server.endpoint.connect() as sock:  # warm: the code a request runs is loaded
        sock.sendall(request("POST", server.path, server.headers(), server.body()))
        read_answer(sock, close_wait=0.2)
    time.sleep(0.5)
    pid = server.process.pid
    baseline = rss_bytes(pid) or 0
    before, after = _huge_value_parts(server)
    abort = threading.Event()
    outcomes: list[Streamed] = []

    def attempt() -> None:
        with server.endpoint.connect() as sock:
            outcomes.append(stream(sock, before, HUGE_VALUE, after, abort=abort))

    attackers = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in attackers:
        thread.start()
    peak = baseline
    while any(thread.is_alive() for thread in attackers):
        peak = max(peak, rss_bytes(pid) or 0)
        if peak - baseline >= RSS_BOUND:
            abort.set()
        time.sleep(0.01)
    time.sleep(1.0)  # what is still held once the connections are gone
    peak = max(peak, rss_bytes(pid) or 0)
    assert peak - baseline < RSS_BOUND, (
        f"{server.name}: RSS {baseline / MIB:.1f} MiB -> peak {peak / MIB:.1f} MiB "
        f"(+{(peak - baseline) / MIB:.1f} MiB); attempts: {', '.join(map(str, outcomes))}"
    )


def _nested(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _deep_review(uid: str, depth: int) -> bytes:
    """A review of a valid JobSink plus ``spec.unknownField`` nested ``depth`` levels deep
    (spliced in as text: the encoder would recurse as deep as the object)."""
    sink = example("job-sink-logger")
    sink["spec"]["unknownField"] = "<deep>"
    return json.dumps(review(sink, uid=uid)).replace('"<deep>"', _nested(depth)).encode()


def _denial(answer: httpx.Response, uid: str) -> dict[str, Any] | None:
    """The review's response if it is a 4xx denial echoing ``uid``, else None."""
    if answer.status_code != 200:
        return None
    response: dict[str, Any] = answer.json().get("response", {})
    code = response.get("status", {}).get("code")
    if response.get("uid") == uid and response.get("allowed") is False and code in (400, 422):
        return response
    return None


DEEP_CASES = [
    pytest.param(depth, endpoint, marks=marks, id=f"{depth}-levels-{endpoint.strip('/')}")
    for depth, endpoint, marks in [
        (10_000, "/defaulting", []),
        (10_000, "/validation", []),
        (900, "/defaulting", []),
        # Validation names the unknown field before anything recurses through it.
        (900, "/validation", []),
    ]
]


@pytest.mark.parametrize(("depth", "endpoint"), DEEP_CASES)
def test_deep_nesting_is_a_400_echoing_the_uid_and_logs_no_traceback(
    webhook_target: Target, endpoint: str, depth: int
) -> None:
    uid = str(uuid.uuid4())
    offset = webhook_target.log_size()
    with httpx.Client(verify=webhook_target.endpoint.tls or False, trust_env=False) as http:
        answer = http.post(
            webhook_target.url + endpoint,
            content=_deep_review(uid, depth),
            headers={"content-type": "application/json"},
            timeout=30,
        )
    denial = _denial(answer, uid)
    seen = f"{answer.status_code} {answer.text[:400]}"
    if depth < 1000:  # decodable: a denial naming the field, with the uid
        assert denial is not None, seen
        assert "unknownField" in denial["status"]["message"], seen
    else:  # too deep to decode: an HTTP 400, or a denial that still found the uid
        assert answer.status_code == 400 or denial is not None, seen
    time.sleep(0.2)  # the log line of the request is flushed
    assert "Traceback" not in webhook_target.log_since(offset)
