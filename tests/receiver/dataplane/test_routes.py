"""Paths: the POST path, the Location path, and the escaping round trip."""

from __future__ import annotations

import pytest

from receiver.dataplane.refusals import Rejection
from receiver.dataplane.routes import EventPath, SinkPath, location, parse, route


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


LOCATION = b"/namespaces/ns/name/s/sources/a/ids/1"


@pytest.mark.parametrize(
    ("raw", "method", "expected"),
    [
        pytest.param(b"/default/s", "POST", SinkPath("default", "s"), id="post-to-sink"),
        pytest.param(LOCATION, "GET", EventPath("ns", "s", "a", "1"), id="get-location"),
        pytest.param(LOCATION, "HEAD", EventPath("ns", "s", "a", "1"), id="head-location"),
    ],
)
def test_route_of_an_accepted_method(raw: bytes, method: str, expected: object) -> None:
    assert route(raw, method) == expected


@pytest.mark.parametrize(
    ("raw", "method", "status", "headers", "attribute"),
    [
        pytest.param(b"/default", "POST", 404, (), "path", id="no-such-path"),
        pytest.param(b"/default/s", "GET", 405, (("Allow", "POST"),), None, id="get-on-sink"),
        pytest.param(LOCATION, "POST", 405, (("Allow", "GET, HEAD"),), None, id="post-on-location"),
    ],
)
def test_route_refusals_carry_their_headers(
    raw: bytes,
    method: str,
    status: int,
    headers: tuple[tuple[str, str], ...],
    attribute: str | None,
) -> None:
    with pytest.raises(Rejection) as caught:
        route(raw, method)
    assert (caught.value.status, caught.value.headers, caught.value.attribute) == (
        status,
        headers,
        attribute,
    )
