"""``webhook.jsonbody``: a body too deep for ``json.loads`` is decoded without its deepest parts."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webhook.jsonbody import KEPT_DEPTH, TooDeep, loads, pruned


@pytest.mark.parametrize(
    ("body", "depth", "expected"),
    [
        (b"[[[1]]]", 3, [[[1]]]),
        (b"[[[1]]]", 2, [[None]]),
        (b"[1,[2,[3,[4]]],[5]]", 2, [1, [2, None], [5]]),
        (b'{"a":{"b":{"c":1}},"d":2}', 1, {"a": None, "d": 2}),
        # Brackets and escaped quotes inside strings are text, not structure.
        (b'{"a":"[{\\"]","b":[[{"c":[1]}]]}', 2, {"a": '[{"]', "b": [None]}),
        (b'{"s":"\\\\","t":[["]"]]}', 2, {"s": "\\", "t": [None]}),
        (b'"just a string"', 0, "just a string"),
    ],
)
def test_pruned(body: bytes, depth: int, expected: Any) -> None:
    assert json.loads(pruned(body, depth)) == expected


def test_a_body_too_deep_for_the_decoder_keeps_its_envelope() -> None:
    deep = b'{"x":' * 20_000 + b"1" + b"}" * 20_000
    body = b'{"kind":"AdmissionReview","request":{"uid":"u-1","object":' + deep + b',"n":2}}'
    decoded = loads(body)
    assert decoded["kind"] == "AdmissionReview"
    assert decoded["request"]["uid"] == "u-1"
    assert decoded["request"]["n"] == 2
    value, depth = decoded["request"]["object"], 2
    while isinstance(value, dict):
        value, depth = value["x"], depth + 1
    assert value is None
    assert depth == KEPT_DEPTH


@pytest.mark.parametrize(
    ("body", "error"),
    [
        (b"[" * 20_000, TooDeep),  # never closed: still too deep after pruning
        (b"[" * 20_000 + b"]", ValueError),
        (b"{not json", ValueError),
        (b"\xff\xfe\x00", ValueError),
    ],
)
def test_errors(body: bytes, error: type[Exception]) -> None:
    with pytest.raises(error):
        loads(body)
