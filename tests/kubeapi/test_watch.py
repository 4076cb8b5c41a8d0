"""Parsing of watch streams, however the apiserver's chunks split the lines, and what an ERROR
event turns into."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from kubeapi.errors import Forbidden, Gone, KubeError, ServerError
from kubeapi.watch import WatchEvent, WatchStream, parse_event

ADDED: dict[str, Any] = {
    "type": "ADDED",
    "object": {"metadata": {"name": "a", "resourceVersion": "5"}},
}
BOOKMARK: dict[str, Any] = {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}}


class FakeResponse:
    """A stand-in for urllib3's streaming response: hands out the given chunks."""

    def __init__(self, chunks: list[bytes]) -> None:
        self.chunks = chunks
        self.closed = False

    def stream(self, amt: Any = None, decode_content: bool = True) -> Iterator[bytes]:
        yield from self.chunks

    def close(self) -> None:
        self.closed = True

    def release_conn(self) -> None: ...


def lines(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def split_every(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([lines(ADDED, BOOKMARK)], id="one-chunk"),
        pytest.param(split_every(lines(ADDED, BOOKMARK), 7), id="split-mid-line"),
        pytest.param(split_every(lines(ADDED, BOOKMARK), 1), id="byte-by-byte"),
        pytest.param([lines(ADDED), b"\n", lines(BOOKMARK)], id="blank-line"),
        pytest.param([lines(ADDED), lines(BOOKMARK).rstrip(b"\n")], id="no-final-newline"),
    ],
)
def test_events_parsed(chunks: list[bytes]) -> None:
    response = FakeResponse(chunks)
    events = list(WatchStream(response))
    assert events == [
        WatchEvent("ADDED", ADDED["object"]),
        WatchEvent("BOOKMARK", BOOKMARK["object"]),
    ]
    assert [e.resource_version for e in events] == ["5", "9"]
    assert response.closed


@pytest.mark.parametrize(
    ("status", "error"),
    [
        pytest.param({"code": 410, "reason": "Expired", "message": "too old"}, Gone, id="gone"),
        pytest.param(
            {"code": 500, "reason": "InternalError", "message": "x"}, ServerError, id="500"
        ),
        pytest.param({"code": 403, "reason": "Forbidden", "message": "rbac"}, Forbidden, id="403"),
        pytest.param({"reason": "Unknown", "message": "no code"}, ServerError, id="no-code"),
    ],
)
def test_error_events_raise(status: dict[str, Any], error: type[Exception]) -> None:
    response = FakeResponse([lines(ADDED, {"type": "ERROR", "object": status})])
    stream = iter(WatchStream(response))
    assert next(stream).type == "ADDED"
    with pytest.raises(error, match=status["message"]):
        next(stream)
    assert response.closed


def test_error_event_keeps_the_status() -> None:
    status = {"code": 410, "reason": "Expired", "message": "too old: (1)"}
    with pytest.raises(Gone) as caught:
        parse_event(json.dumps({"type": "ERROR", "object": status}).encode())
    assert (caught.value.status, caught.value.reason) == (410, "Expired")
    assert isinstance(caught.value, KubeError)


@pytest.mark.parametrize(
    "line",
    [
        pytest.param(b'{"type": "SYNC", "object": {}}', id="unknown-type"),
        pytest.param(b'{"type": "ADDED"}', id="no-object"),
        pytest.param(b'{"type": "ADDED", "object": [1]}', id="object-not-a-dict"),
        pytest.param(b"[1, 2]", id="not-an-object"),
    ],
)
def test_malformed_lines_are_errors(line: bytes) -> None:
    with pytest.raises(ValueError, match="not a watch event"):
        parse_event(line)
