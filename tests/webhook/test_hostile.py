"""The webhook against hostile HTTP and hostile JSON, over real HTTPS on loopback.

Heads and deadlines: the caps of ``serving`` as the webhook configures them (short timeouts here).
Nesting: a JobSink nested deeper than ``jobsink.nesting.MAX_DEPTH`` is a review denied with code
400 that names the field and echoes the uid, however deep (even beyond the JSON decoder's reach);
a deep body that is no review is a plain 400. Never a 500, and nothing is logged with a traceback.
"""

from __future__ import annotations

import json
import logging
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from jobsink.nesting import MAX_DEPTH
from tests.serving.harness import (
    flood_header,
    read_response,
    read_until_closed,
    status_of,
)
from tests.webhook.reviews import example, pod_spec, review
from tests.webhook.serving import Running, serving

HEADER_TIMEOUT = 1.0
READ_TIMEOUT = 2.0
ENDPOINTS = ["/defaulting", "/validation"]


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    with serving(
        tmp_path_factory.mktemp("certs"), header_timeout=HEADER_TIMEOUT, read_timeout=READ_TIMEOUT
    ) as server:
        yield server


@pytest.fixture
def conn(running: Running) -> Iterator[socket.socket]:
    raw = socket.create_connection(("127.0.0.1", running.port), timeout=10)
    with running.client_context().wrap_socket(raw, server_hostname="127.0.0.1") as sock:
        yield sock


@pytest.fixture
def client(running: Running) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=running.url, verify=running.client_context(), timeout=10) as c:
        yield c


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Every record of the test; after it, none may carry a traceback or a RecursionError."""
    with caplog.at_level(logging.DEBUG):
        yield caplog
    for record in caplog.records:
        assert record.exc_info is None, record.getMessage()
        assert "RecursionError" not in record.getMessage()


def nested(depth: int) -> Any:
    """``depth`` objects inside one another around a number."""
    value: Any = 1
    for _ in range(depth):
        value = {"x": value}
    return value


def encoded(body: Any) -> bytes:
    return json.dumps(body, separators=(",", ":")).encode()


def post(client: httpx.Client, path: str, body: bytes) -> httpx.Response:
    return client.post(path, content=body, headers={"content-type": "application/json"})


# --- heads and deadlines --------------------------------------------------------------------------


def test_a_64_mib_header_is_refused_with_431_and_the_connection_closed(
    conn: socket.socket,
) -> None:
    flood = flood_header(conn, b"POST /validation HTTP/1.1\r\nHost: webhook\r\n")
    assert status_of(flood.answer) == 431
    assert flood.sent < 16 * 1024 * 1024


@pytest.mark.parametrize(("lines", "status"), [(100, 200), (101, 431)])
def test_header_lines_are_capped_at_100(conn: socket.socket, lines: int, status: int) -> None:
    extra = b"".join(b"X-%d: v\r\n" % n for n in range(lines - 1))
    conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: webhook\r\n" + extra + b"\r\n")
    response = read_response(conn) if status == 200 else read_until_closed(conn)
    assert status_of(response) == status


def test_a_partial_head_gets_408_after_the_header_timeout(conn: socket.socket) -> None:
    conn.sendall(b"POST /validation HTTP/1.1\r\nHost: web")
    started = time.monotonic()
    assert status_of(read_until_closed(conn)) == 408
    assert time.monotonic() - started < HEADER_TIMEOUT + 2


def test_a_body_that_never_ends_gets_408_and_no_traceback(
    conn: socket.socket, logged: pytest.LogCaptureFixture
) -> None:
    conn.sendall(
        b"POST /validation HTTP/1.1\r\nHost: webhook\r\nContent-Type: application/json\r\n"
        b'Content-Length: 5000\r\n\r\n{"apiVersion":'
    )
    started = time.monotonic()
    assert status_of(read_until_closed(conn)) == 408
    assert time.monotonic() - started < READ_TIMEOUT + 2
    time.sleep(0.2)  # the handler sees the disconnect and logs it
    assert any(r.getMessage() == "request abandoned" for r in logged.records)


def test_reviews_on_a_kept_alive_connection_are_unaffected(client: httpx.Client) -> None:
    for _ in range(5):
        for path in ENDPOINTS:
            answer = post(client, path, encoded(review(example()))).json()
            assert answer["response"]["allowed"] is True


# --- nesting -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"a":' * 10_000 + b"1" + b"}" * 10_000, "apiVersion/kind: expected admission.k8s.io/v1"),
        (b"[" * 10_000, "body: JSON nested too deeply to decode"),
    ],
    ids=["10k-levels-not-a-review", "10k-levels-never-closed"],
)
def test_a_deep_body_that_is_not_a_review_is_a_plain_400(
    client: httpx.Client, logged: pytest.LogCaptureFixture, path: str, body: bytes, message: str
) -> None:
    answer = post(client, path, body)
    assert answer.status_code == 400
    assert answer.json()["message"].startswith(message)


def with_unknown_field(depth: int) -> dict[str, Any]:
    sink = example()
    pod_spec(sink)["containers"][0]["unknownField"] = nested(depth)
    request = review(None)  # the builder's deep copy would recurse
    request["request"]["object"] = sink
    return request


@pytest.mark.parametrize("path", ENDPOINTS)
@pytest.mark.parametrize("depth", [900, 10_000])
def test_a_jobsink_with_a_deep_field_is_denied_naming_it_with_the_uid(
    client: httpx.Client, logged: pytest.LogCaptureFixture, path: str, depth: int
) -> None:
    request = with_unknown_field(1)
    field = "spec.job.spec.template.spec.containers[0].unknownField"
    # Built as text: the standard encoder would recurse as deeply as the value.
    shallow = b'"unknownField":{"x":1}'
    deep = b'"unknownField":' + b'{"x":' * depth + b"1" + b"}" * depth
    body = encoded(request).replace(shallow, deep)
    assert len(body) > 4 * depth
    answer = post(client, path, body)
    assert answer.status_code == 200
    response = answer.json()["response"]
    assert response["uid"] == request["request"]["uid"]
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 400
    assert status["message"].startswith(f'JobSink "job-sink-success" is invalid: {field}.x.x')
    assert status["message"].endswith(f": nested more than {MAX_DEPTH} levels deep")
    [cause] = status["details"]["causes"]
    assert cause["field"].startswith(field)


def test_nesting_at_the_limit_is_judged_as_usual(client: httpx.Client) -> None:
    # The JobSink is level 1; spec, job, spec, template, spec, containers and containers[0] are
    # levels 2 to 8, so the field's value may hold MAX_DEPTH - 8 objects inside one another.
    within = post(client, "/validation", encoded(with_unknown_field(MAX_DEPTH - 8))).json()
    assert within["response"]["status"]["code"] == 422  # the usual unknown-field denial
    beyond = post(client, "/validation", encoded(with_unknown_field(MAX_DEPTH - 7))).json()
    assert beyond["response"]["status"]["code"] == 400


def test_settings_refuse_a_read_timeout_below_the_header_timeout(tmp_path: Path) -> None:
    from webhook.settings import Settings

    with pytest.raises(ValueError, match="read_timeout must be at least header_timeout"):
        Settings(header_timeout=10, read_timeout=5)
