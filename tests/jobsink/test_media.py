"""Media types and the kind of data they label, and the data a body of each kind is stored as."""

from __future__ import annotations

import pytest

from jobsink import media
from jobsink.event import BinaryData, Data, EventError, JsonData, body_data


@pytest.mark.parametrize(
    ("content_type", "essence"),
    [
        ("application/json", "application/json"),
        ("Application/JSON; charset=utf-8", "application/json"),
        ("  text/plain ;format=flowed", "text/plain"),
        ("", None),
        (None, None),
        ("; charset=utf-8", None),
    ],
)
def test_essence(content_type: str | None, essence: str | None) -> None:
    assert media.essence(content_type) == essence


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("text/plain", True),
        ("application/vnd.a+json; charset=utf-8", True),
        ("text", False),
        ("text/", False),
        ("/plain", False),
        ("text plain/x", False),
    ],
)
def test_is_media_type(value: str, valid: bool) -> None:
    assert media.is_media_type(value) is valid


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("application/json", "json"),
        ("application/json; charset=utf-8", "json"),
        ("application/cloudevents+json", "json"),
        ("text/json", "json"),
        ("text/plain", "text"),
        ("text/csv", "text"),
        ("application/xml", "text"),
        ("application/atom+xml", "text"),
        ("application/x-www-form-urlencoded", "text"),
        ("application/yaml", "text"),
        ("application/x-custom; charset=utf-8", "text"),
        ("application/octet-stream", "binary"),
        ("image/png", "binary"),
        (None, None),
    ],
)
def test_kind_of(content_type: str | None, kind: media.DataKind | None) -> None:
    assert media.kind_of(content_type) == kind
    assert media.is_json(content_type) is (kind == "json")


@pytest.mark.parametrize(
    ("body", "content_type", "data"),
    [
        pytest.param(b"", "application/json", None, id="empty-is-no-data"),
        pytest.param(b' { "a" : 1 } ', "application/json", JsonData('{"a":1}'), id="json"),
        pytest.param("héllo".encode(), "text/plain", JsonData('"héllo"'), id="text"),
        pytest.param(b"\xff", "text/plain", BinaryData(b"\xff"), id="text-not-utf8-kept-as-bytes"),
        pytest.param(b"<a/>", "application/xml", JsonData('"<a/>"'), id="xml-is-text"),
        pytest.param(b"\x00", "application/octet-stream", BinaryData(b"\x00"), id="bytes"),
        pytest.param(b"[1]", None, JsonData("[1]"), id="undeclared-json"),
        pytest.param(b"plain", None, BinaryData(b"plain"), id="undeclared-not-json"),
    ],
)
def test_body_data(body: bytes, content_type: str | None, data: Data | None) -> None:
    assert body_data(body, content_type) == data


def test_body_declared_json_that_is_not_names_the_caller_s_field() -> None:
    with pytest.raises(EventError) as caught:
        body_data(b"{", "application/json", "--data")
    assert caught.value.attribute == "--data"
