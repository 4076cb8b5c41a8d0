"""Decoding requests into CloudEvents: binary, structured and batch modes, and every refusal."""

from __future__ import annotations

import json

import pytest

from jobsink.event import CloudEvent
from receiver.dataplane.refusals import Rejection
from receiver.dataplane.wire import Batch, Single, decode

Headers = list[tuple[bytes, bytes]]

SEED_HEADERS: Headers = [
    (b"content-type", b"application/json"),
    (b"ce-specversion", b"1.0"),
    (b"ce-source", b"my/curl/command"),
    (b"ce-type", b"my.demo.event"),
    (b"ce-id", b"123"),
]
REQUIRED = [h for h in SEED_HEADERS if h[0] != b"content-type"]
STRUCTURED = [(b"content-type", b"application/cloudevents+json")]
BASE = {"specversion": "1.0", "id": "1", "source": "s", "type": "t"}


def with_header(name: bytes, value: bytes | None, headers: Headers = REQUIRED) -> Headers:
    kept = [h for h in headers if h[0] != name]
    return kept + ([(name, value)] if value is not None else [])


def single(headers: Headers, body: bytes) -> CloudEvent:
    decoded = decode(headers, body)
    assert isinstance(decoded, Single)
    return decoded.event


def stored(headers: Headers, body: bytes) -> dict[str, object]:
    return dict(json.loads(single(headers, body).to_json()))


def test_seed_curl_binary_mode() -> None:
    assert single(SEED_HEADERS, b'{"details":"JobSinkDemo"}').to_json() == (
        b'{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
        b'"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
    )


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param(REQUIRED, b"", {"data": None}, id="no-body-no-data"),
        pytest.param(
            with_header(b"ce-source", b"caf%C3%A9%20%25"), b"", {"source": "café %"}, id="percent"
        ),
        pytest.param(with_header(b"ce-myext", b"v"), b"", {"myext": "v"}, id="extension-header"),
        pytest.param(
            with_header(b"content-type", b"text/plain; charset=utf-8"),
            "héllo".encode(),
            {"data": "héllo", "datacontenttype": "text/plain; charset=utf-8"},
            id="text",
        ),
        pytest.param(
            with_header(b"content-type", b"application/octet-stream"),
            b"\x00\x01",
            {"data_base64": "AAE="},
            id="binary",
        ),
        pytest.param(REQUIRED, b'{"a": [1, 2]}', {"data": {"a": [1, 2]}}, id="untyped-json"),
        pytest.param(REQUIRED, b"\xff\xfe", {"data_base64": "//4="}, id="untyped-bytes"),
        pytest.param(
            with_header(b"content-type", b"application/vnd.x+json"),
            b' [ 1 , "two" ] ',
            {"data": [1, "two"]},
            id="json-suffix-compacted",
        ),
    ],
)
def test_binary_mode(headers: Headers, body: bytes, expected: dict[str, object]) -> None:
    event = stored(headers, body)
    for key, value in expected.items():
        if value is None:
            assert key not in event
        else:
            assert event[key] == value
    assert "time" not in event  # never invented


@pytest.mark.parametrize(
    ("headers", "body", "status", "attribute"),
    [
        pytest.param(with_header(b"ce-id", None), b"", 400, "id", id="missing-id"),
        pytest.param(with_header(b"ce-id", b""), b"", 400, "id", id="empty-id"),
        pytest.param(with_header(b"ce-source", None), b"", 400, "source", id="missing-source"),
        pytest.param(with_header(b"ce-type", None), b"", 400, "type", id="missing-type"),
        pytest.param([], b"{}", 400, "specversion", id="no-ce-headers"),
        pytest.param(with_header(b"ce-specversion", b"0.2"), b"", 400, "specversion", id="v0.2"),
        pytest.param(with_header(b"ce-id", b"%G1"), b"", 400, "id", id="bad-percent"),
        pytest.param(with_header(b"ce-id", b"%FF"), b"", 400, "id", id="percent-not-utf8"),
        pytest.param(with_header(b"ce-id", b"\xff"), b"", 400, "id", id="raw-not-utf8"),
        pytest.param([*REQUIRED, (b"ce-id", b"2")], b"", 400, "id", id="header-twice"),
        pytest.param(
            with_header(b"ce-datacontenttype", b"text/plain"),
            b"",
            400,
            "datacontenttype",
            id="ce-datacontenttype",
        ),
        pytest.param(SEED_HEADERS, b"{not json", 400, "data", id="json-type-not-json"),
        pytest.param(with_header(b"ce-time", b"noon"), b"", 400, "time", id="bad-time"),
        pytest.param(with_header(b"ce-bad_name", b"x"), b"", 400, "bad_name", id="bad-ext-name"),
        pytest.param(
            with_header(b"content-type", b"application/cloudevents+xml"),
            b"",
            415,
            None,
            id="structured-xml",
        ),
        pytest.param(
            with_header(b"content-type", b"application/cloudevents-batch+protobuf"),
            b"",
            415,
            None,
            id="batch-protobuf",
        ),
    ],
)
def test_binary_mode_refusals(
    headers: Headers,
    body: bytes,
    status: int,
    attribute: str | None,
) -> None:
    with pytest.raises(Rejection) as caught:
        decode(headers, body)
    assert caught.value.status == status
    assert caught.value.attribute == attribute
    if attribute:
        assert attribute in caught.value.message


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(BASE, BASE, id="minimal"),
        pytest.param(
            {**BASE, "datacontenttype": "text/plain", "data": "hi"},
            {**BASE, "datacontenttype": "text/plain", "data": "hi"},
            id="text",
        ),
        pytest.param({**BASE, "data_base64": "AAE="}, {**BASE, "data_base64": "AAE="}, id="b64"),
        pytest.param(
            {"data": {"x": 1}, **BASE, "ext": True, "time": None},
            {**BASE, "ext": True, "data": {"x": 1}},
            id="order-null-extension",
        ),
    ],
)
def test_structured_mode(document: dict[str, object], expected: dict[str, object]) -> None:
    event = stored(STRUCTURED, json.dumps(document).encode())
    assert event == expected
    assert list(event) == list(expected)


@pytest.mark.parametrize(
    ("body", "attribute"),
    [
        pytest.param(json.dumps({k: v for k, v in BASE.items() if k != "id"}), "id", id="no-id"),
        pytest.param(json.dumps({**BASE, "source": None}), "source", id="null-source"),
        pytest.param(
            json.dumps({**BASE, "data": 1, "data_base64": "AA=="}), "data_base64", id="both-data"
        ),
        pytest.param(json.dumps({**BASE, "data_base64": "!!"}), "data_base64", id="bad-b64"),
        pytest.param(json.dumps([BASE]), "body", id="array"),
        pytest.param("{", "body", id="not-json"),
        pytest.param(json.dumps({**BASE, "ext": [1]}), "ext", id="array-extension"),
    ],
)
def test_structured_mode_refusals(body: str, attribute: str) -> None:
    with pytest.raises(Rejection) as caught:
        decode(STRUCTURED, body.encode())
    assert (caught.value.status, caught.value.attribute) == (400, attribute)


BATCH = [(b"content-type", b"application/cloudevents-batch+json")]


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param(SEED_HEADERS, b"{}", id="binary"),
        pytest.param(STRUCTURED, json.dumps(BASE).encode(), id="structured"),
        pytest.param(
            [(b"content-type", b"Application/CloudEvents+JSON; charset=utf-8")],
            json.dumps(BASE).encode(),
            id="structured-with-parameters",
        ),
    ],
)
def test_binary_and_structured_modes_give_a_single_event(headers: Headers, body: bytes) -> None:
    assert isinstance(decode(headers, body), Single)


@pytest.mark.parametrize(
    ("body", "ids"),
    [
        pytest.param(b"[]", [], id="empty"),
        pytest.param(json.dumps([BASE]).encode(), ["1"], id="one"),
        pytest.param(json.dumps([BASE, {**BASE, "id": "2"}]).encode(), ["1", "2"], id="two"),
    ],
)
def test_batch_mode_gives_a_batch_even_of_one(body: bytes, ids: list[str]) -> None:
    decoded = decode(BATCH, body)
    assert isinstance(decoded, Batch)
    assert [item.id for item in decoded.items if isinstance(item, CloudEvent)] == ids


def test_batch_decodes_each_event_on_its_own() -> None:
    batch = [BASE, {**BASE, "id": ""}, {**BASE, "id": "2"}]
    decoded = decode(BATCH, json.dumps(batch).encode())
    assert isinstance(decoded, Batch)
    first, refused, last = decoded.items
    assert isinstance(first, CloudEvent)
    assert isinstance(last, CloudEvent)
    assert (first.id, last.id) == ("1", "2")
    assert isinstance(refused, Rejection)
    assert (refused.status, refused.attribute) == (400, "id")


def test_batch_must_be_an_array() -> None:
    with pytest.raises(Rejection, match="JSON array"):
        decode(BATCH, b"{}")


@pytest.mark.parametrize(("events", "refused"), [(3, False), (4, True)], ids=["at-limit", "over"])
def test_batch_size_limit_is_checked_before_decoding(events: int, refused: bool) -> None:
    # Elements that would each be refused: an over-long batch is refused whole, first.
    body = json.dumps([{}] * events).encode()
    if refused:
        with pytest.raises(Rejection) as caught:
            decode(BATCH, body, max_batch_events=3)
        assert caught.value.status == 413
    else:
        decoded = decode(BATCH, body, max_batch_events=3)
        assert isinstance(decoded, Batch)
        assert all(isinstance(item, Rejection) for item in decoded.items)


V03_HEADERS = with_header(b"ce-specversion", b"0.3")
V03 = {"specversion": "0.3", "id": "1", "source": "s", "type": "t"}


@pytest.mark.parametrize(
    ("headers", "body", "expected"),
    [
        pytest.param(V03_HEADERS, b"", {"specversion": "0.3"}, id="no-data"),
        pytest.param(
            with_header(b"ce-schemaurl", b"https://example.com/s.json", V03_HEADERS),
            b'{"a": 1}',
            {"schemaurl": "https://example.com/s.json", "data": {"a": 1}},
            id="schemaurl-json",
        ),
        pytest.param(
            with_header(b"content-type", b"image/png", V03_HEADERS),
            b"\x89PNG",
            {"datacontenttype": "image/png", "datacontentencoding": "base64", "data": "iVBORw=="},
            id="bytes-in-data-as-0.3-writes-them",
        ),
        pytest.param(
            with_header(b"ce-datacontentencoding", b"base64", V03_HEADERS),
            b"iVBO\r\nRw==",
            {"datacontentencoding": "base64", "data": "iVBORw=="},
            id="base64-body-with-line-break",
        ),
        pytest.param(
            with_header(b"ce-dataschema", b"x", V03_HEADERS),
            b"",
            {"dataschema": "x"},
            id="1.0-attribute-is-an-extension-in-0.3",
        ),
    ],
)
def test_binary_mode_0_3(headers: Headers, body: bytes, expected: dict[str, object]) -> None:
    event = stored(headers, body)
    assert {key: event.get(key) for key in expected} == expected
    assert "data_base64" not in event


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        pytest.param(V03, V03, id="minimal"),
        pytest.param(
            {**V03, "datacontentencoding": "base64", "data": "AAE=", "schemaurl": "u"},
            {**V03, "datacontentencoding": "base64", "schemaurl": "u", "data": "AAE="},
            id="base64-data-kept-in-0.3-order",
        ),
        pytest.param(
            {**V03, "datacontenttype": "application/json", "data": {"x": [1]}},
            {**V03, "datacontenttype": "application/json", "data": {"x": [1]}},
            id="json-data",
        ),
    ],
)
def test_structured_mode_0_3(document: dict[str, object], expected: dict[str, object]) -> None:
    event = stored(STRUCTURED, json.dumps(document).encode())
    assert (event, list(event)) == (expected, list(expected))


@pytest.mark.parametrize(
    ("headers", "body", "attribute"),
    [
        pytest.param(
            STRUCTURED,
            json.dumps({**V03, "data_base64": "AAE="}).encode(),
            "data_base64",
            id="data_base64-is-1.0-only",
        ),
        pytest.param(
            STRUCTURED,
            json.dumps({**V03, "datacontentencoding": "quoted-printable", "data": "x"}).encode(),
            "datacontentencoding",
            id="other-encoding",
        ),
        pytest.param(
            STRUCTURED,
            json.dumps({**V03, "datacontentencoding": "base64", "data": {"a": 1}}).encode(),
            "data",
            id="encoded-data-not-a-string",
        ),
        pytest.param(
            STRUCTURED,
            json.dumps({**V03, "datacontentencoding": "base64", "data": "!!"}).encode(),
            "data",
            id="encoded-data-not-base64",
        ),
        pytest.param(
            with_header(b"ce-datacontentencoding", b"base64", V03_HEADERS),
            b"not base64!",
            "data",
            id="binary-body-not-base64",
        ),
        pytest.param(
            with_header(b"ce-schemaurl", b"", V03_HEADERS), b"", "schemaurl", id="empty-schemaurl"
        ),
    ],
)
def test_0_3_refusals_name_the_attribute(headers: Headers, body: bytes, attribute: str) -> None:
    with pytest.raises(Rejection) as caught:
        decode(headers, body)
    assert (caught.value.status, caught.value.attribute) == (400, attribute)
