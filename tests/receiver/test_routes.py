"""Paths: the POST path, the Location path, and the escaping round trip."""

from __future__ import annotations

import pytest

from receiver.routes import EventPath, SinkPath, location, parse


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(
            b"/default/job-sink-logger", SinkPath("default", "job-sink-logger"), id="sink"
        ),
        pytest.param(
            b"/default/job-sink-logger/", SinkPath("default", "job-sink-logger"), id="slash"
        ),
        pytest.param(b"/default", None, id="one-segment"),
        pytest.param(b"/default/a/b", None, id="three-segments"),
        pytest.param(b"/Default/x", None, id="uppercase-namespace"),
        pytest.param(b"/default/x_y", None, id="underscore"),
        pytest.param(b"//x", None, id="empty-namespace"),
        pytest.param(b"/default/%zz", None, id="bad-percent"),
        pytest.param(b"/default/" + b"a" * 64, None, id="name-too-long"),
        pytest.param(
            b"/namespaces/ns/name/s/sources/a%2Fb/ids/1",
            EventPath("ns", "s", "a/b", "1"),
            id="location",
        ),
        pytest.param(b"/namespaces/ns/name/s/sources/a/b/ids/1", None, id="unescaped-slash"),
        pytest.param(b"/namespaces/ns/name/s/sources//ids/1", None, id="empty-source"),
        pytest.param(b"/namespaces/ns/name/s/sources/%ff/ids/1", None, id="not-utf8"),
        pytest.param(b"/namespace/ns/name/s/sources/a/ids/1", None, id="wrong-word"),
    ],
)
def test_parse(raw: bytes, expected: object) -> None:
    assert parse(raw) == expected


@pytest.mark.parametrize(
    ("source", "id"),
    [
        ("my/curl/command", "123"),
        ("https://example.com/a?b=c&d=e#f", "id with spaces"),
        ("100%", "%2F"),
        ("ünïcødé/源", "😀"),
        ("a+b", ".."),
        (".", "..."),
    ],
    ids=["slashes", "url", "percent", "unicode", "plus-dots", "dot-segments"],
)
def test_location_round_trips(source: str, id: str) -> None:
    path = location("default", "job-sink-logger", source, id)
    assert path.isascii()
    assert parse(path.encode()) == EventPath("default", "job-sink-logger", source, id)
