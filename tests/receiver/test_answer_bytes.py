"""The receiver's answers, byte for byte: status line, headers (but ``date``) and body of every
kind of answer, against answers recorded from the receiver as it was when FastAPI carried every
request (``answer_bytes.json``); the empty 202 of a client that does not ask for JSON was
recorded after, from the plain ASGI application.

The receiver now answers on a plain ASGI application with its own JSON encoding; any difference
a client could see (a header's case or order, a JSON separator, an escape) fails here.
Kubernetes is the FAKE apiserver of ``fake_kube``. ``JOBSINK_RECORD_ANSWERS=1`` records anew.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.receiver.test_http import Served, StaticSinks, make_plane, serve

GOLDEN = Path(__file__).with_name("answer_bytes.json")
SINK_PATH = "/default/job-sink-logger"
BINARY = {
    "content-type": "application/json",
    "ce-specversion": "1.0",
    "ce-source": "answer/bytes",
    "ce-type": "dev.example",
    "accept": "application/json",
}
LOCATION = "/namespaces/default/name/job-sink-logger/sources/answer%2Fbytes/ids/%C3%A9v%C3%A9nement"

# (case, method, path, headers, body), sent in this order over one connection each.
CASES: list[tuple[str, str, str, dict[str, str], bytes]] = [
    ("binary event created", "POST", SINK_PATH, {**BINARY, "ce-id": "1"}, b'{"a":1}'),
    ("binary event duplicate", "POST", SINK_PATH, {**BINARY, "ce-id": "1"}, b'{"a":1}'),
    ("accepted, no JSON asked for", "POST", SINK_PATH, {**BINARY, "ce-id": "1", "accept": "*/*"},
     b'{"a":1}'),
    ("non-ASCII id", "POST", SINK_PATH, {**BINARY, "ce-id": "%C3%A9v%C3%A9nement"}, b"{}"),
    ("structured event", "POST", SINK_PATH,
     {"content-type": "application/cloudevents+json", "accept": "application/json"},
     b'{"specversion":"1.0","id":"s1","source":"answer/bytes","type":"t","data":{"x":"\xc3\xa9"}}'),
    ("batch with a bad element", "POST", SINK_PATH,
     {"content-type": "application/cloudevents-batch+json"},
     b'[{"specversion":"1.0","id":"b1","source":"s","type":"t"},{"specversion":"1.0"}]'),
    ("missing id", "POST", SINK_PATH, BINARY, b"{}"),
    ("not JSON", "POST", SINK_PATH, {"content-type": "application/cloudevents+json"}, b"{"),
    ("unsupported format", "POST", SINK_PATH,
     {"content-type": "application/cloudevents+xml"}, b"<e/>"),
    ("too large declared", "POST", SINK_PATH, {**BINARY, "ce-id": "2",
                                              "content-length": "2000000"}, b""),
    ("no such JobSink", "POST", "/default/nobody", {**BINARY, "ce-id": "3"}, b"{}"),
    ("no such path", "GET", "/nothing/here/at/all", {}, b""),
    ("method not allowed", "PUT", SINK_PATH, {}, b""),
    ("Location", "GET", LOCATION, {}, b""),
    ("Location, HEAD", "HEAD", LOCATION, {}, b""),
    ("Location of no Job", "GET", LOCATION.replace("nement", "x"), {}, b""),
    ("healthz", "GET", "/healthz", {}, b""),
    ("healthz, HEAD", "HEAD", "/healthz", {}, b""),
    ("healthz, POST", "POST", "/healthz", {}, b""),
    ("healthz with a slash", "GET", "/healthz/", {}, b""),
    ("readyz", "GET", "/readyz", {}, b""),
    ("readyz, DELETE", "DELETE", "/readyz", {}, b""),
    ("metrics, POST", "POST", "/metrics", {}, b""),
]  # fmt: skip


def exchange(url: str, method: str, path: str, headers: dict[str, str], body: bytes) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    lines = [f"{method} {path} HTTP/1.1", "host: receiver", "connection: close"]
    if "content-length" not in headers:
        lines.append(f"content-length: {len(body)}")
    lines += [f"{key}: {value}" for key, value in headers.items()]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
    return received


def comparable(answer: bytes) -> dict[str, Any]:
    """The answer without its ``date`` header (and the ``connection: close`` we asked for)."""
    head, _, body = answer.partition(b"\r\n\r\n")
    status, *header_lines = head.decode("latin-1").split("\r\n")
    kept = [line for line in header_lines if not line.lower().startswith("date:")]
    return {"status": status, "headers": kept, "body": body.decode("utf-8", "replace")}


@pytest.fixture
def plain(fake: Any, fake_url: str, sink: dict[str, Any]) -> Iterator[Served]:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks, request_timeout=2.0, body_timeout=1.0)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


def test_every_answer_is_byte_for_byte_as_recorded(plain: Served) -> None:
    answers = {
        case: comparable(exchange(plain.url, method, path, headers, body))
        for case, method, path, headers, body in CASES
    }
    if os.environ.get("JOBSINK_RECORD_ANSWERS") == "1":
        GOLDEN.write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
    recorded = json.loads(GOLDEN.read_text())
    for case, answer in answers.items():
        assert answer == recorded[case], case
