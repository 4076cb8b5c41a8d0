"""The stored event JSON: attributes as sent, nothing invented, data kept in its kind."""

from __future__ import annotations

import json

import pytest

from jobsink.event import (
    BinaryData,
    CloudEvent,
    EventError,
    json_data,
    parse_json,
    text_data,
)

SEED = {
    "specversion": "1.0",
    "id": "123",
    "source": "my/curl/command",
    "type": "my.demo.event",
}


def test_seed_curl_event_serialises_exactly_like_knative() -> None:
    event = CloudEvent.from_attributes(
        {**SEED, "datacontenttype": "application/json"},
        json_data(parse_json(b'{"details":"JobSinkDemo"}')),
    )
    assert event.to_json() == (
        b'{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
        b'"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
    )
    assert (event.source, event.id, event.type) == ("my/curl/command", "123", "my.demo.event")


@pytest.mark.parametrize(
    ("attributes", "data", "expected"),
    [
        pytest.param(SEED, None, {**SEED}, id="no-data-no-invented-time"),
        pytest.param(
            {**SEED, "datacontenttype": "text/plain"},
            text_data("héllo"),
            {**SEED, "datacontenttype": "text/plain", "data": "héllo"},
            id="text-as-json-string",
        ),
        pytest.param(
            {**SEED, "datacontenttype": "application/octet-stream"},
            BinaryData(b"\x00\xff"),
            {**SEED, "datacontenttype": "application/octet-stream", "data_base64": "AP8="},
            id="binary-as-base64",
        ),
        pytest.param(
            {**SEED, "zext": "z", "aext": 7, "bext": True, "subject": "s"},
            json_data([1, "two", None]),
            {
                **SEED,
                "subject": "s",
                "aext": 7,
                "bext": True,
                "zext": "z",
                "data": [1, "two", None],
            },
            id="extensions-sorted-typed",
        ),
        pytest.param(
            {**SEED, "time": None, "subject": None},
            json_data(None),
            {**SEED, "data": None},
            id="null-attributes-absent-null-data-kept",
        ),
    ],
)
def test_to_json(attributes: dict[str, object], data: object, expected: dict[str, object]) -> None:
    event = CloudEvent.from_attributes(attributes, data)  # type: ignore[arg-type]
    stored = event.to_json()
    assert json.loads(stored) == expected
    assert list(json.loads(stored)) == list(expected)


def test_lone_surrogate_in_data_stays_valid_utf8() -> None:
    event = CloudEvent.from_attributes(SEED, json_data(parse_json('"\\ud800"')))
    assert event.to_json().endswith(b'"data":"\\ud800"}')


@pytest.mark.parametrize(
    ("attributes", "attribute", "message"),
    [
        pytest.param({k: v for k, v in SEED.items() if k != "id"}, "id", "missing", id="no-id"),
        pytest.param({**SEED, "source": ""}, "source", "empty", id="empty-source"),
        pytest.param({**SEED, "type": 3}, "type", "string", id="type-not-string"),
        pytest.param({**SEED, "specversion": "0.2"}, "specversion", "unsupported", id="v02"),
        pytest.param({**SEED, "specversion": "1"}, "specversion", "'1.0' or '0.3'", id="v1"),
        pytest.param(
            {**SEED, "specversion": "0.3", "datacontentencoding": "gzip"},
            "datacontentencoding",
            "base64",
            id="v03-encoding-other-than-base64",
        ),
        pytest.param({**SEED, "time": "yesterday"}, "time", "RFC 3339", id="bad-time"),
        pytest.param({**SEED, "datacontenttype": "json"}, "datacontenttype", "media", id="bad-ct"),
        pytest.param({**SEED, "Bad-Name": "x"}, "Bad-Name", "lowercase", id="bad-ext-name"),
        pytest.param({**SEED, "ext": 1.5}, "ext", "number", id="float-ext"),
        pytest.param({**SEED, "ext": 2**31}, "ext", "32-bit", id="int-ext-range"),
        pytest.param({**SEED, "ext": {"a": 1}}, "ext", "object", id="object-ext"),
        pytest.param({**SEED, "id": "\ud800"}, "id", "surrogate", id="surrogate-id"),
    ],
)
def test_invalid_attributes_name_the_attribute(
    attributes: dict[str, object], attribute: str, message: str
) -> None:
    with pytest.raises(EventError) as caught:
        CloudEvent.from_attributes(attributes)
    assert caught.value.attribute == attribute
    assert message in caught.value.message


@pytest.mark.parametrize(
    "raw",
    [b"{", b"NaN", b"[Infinity]", b"1e999", b"\xff"],
    ids=["eof", "nan", "inf", "huge", "utf8"],
)
def test_parse_json_rejects_what_json_cannot_carry(raw: bytes) -> None:
    with pytest.raises(EventError, match="data: not valid JSON"):
        parse_json(raw)


V03 = {**SEED, "specversion": "0.3"}


@pytest.mark.parametrize(
    ("attributes", "data", "expected"),
    [
        pytest.param(
            {**V03, "time": "2024-01-01T00:00:00Z", "schemaurl": "s", "subject": "x", "z": 1},
            json_data({"k": "v"}),
            b'{"specversion":"0.3","id":"123","source":"my/curl/command","type":"my.demo.event",'
            b'"schemaurl":"s","subject":"x","time":"2024-01-01T00:00:00Z","z":1,"data":{"k":"v"}}',
            id="0.3-attributes-in-0.3-order",
        ),
        pytest.param(
            {**V03, "datacontenttype": "image/png"},
            BinaryData(b"\x00\xff"),
            b'{"specversion":"0.3","id":"123","source":"my/curl/command","type":"my.demo.event",'
            b'"datacontenttype":"image/png","datacontentencoding":"base64","data":"AP8="}',
            id="0.3-bytes-base64-in-data",
        ),
        pytest.param(
            {**V03, "datacontentencoding": "Base64"},
            BinaryData(b"\x00\xff"),
            b'{"specversion":"0.3","id":"123","source":"my/curl/command","type":"my.demo.event",'
            b'"datacontentencoding":"Base64","data":"AP8="}',
            id="0.3-encoding-kept-as-sent",
        ),
    ],
)
def test_0_3_events_are_stored_as_0_3(
    attributes: dict[str, object], data: object, expected: bytes
) -> None:
    assert CloudEvent.from_attributes(attributes, data).to_json() == expected  # type: ignore[arg-type]


def test_0_3_encoding_with_json_data_is_refused() -> None:
    with pytest.raises(EventError) as caught:
        CloudEvent.from_attributes({**V03, "datacontentencoding": "base64"}, json_data(1))
    assert caught.value.attribute == "datacontentencoding"
