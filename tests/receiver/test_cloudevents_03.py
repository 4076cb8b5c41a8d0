"""CloudEvents 0.3 over HTTP, sent by the CloudEvents SDK (a client we did not write) and by hand
as the 0.3 specification and the 0.3 SDKs write it; the receiver is the real uvicorn server,
Kubernetes the FAKE apiserver of ``fake_kube``.

Each accepted event is stored in its Secret as the 0.3 JSON format writes it, byte for byte as
written out here.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cloudevents.core.bindings.http import to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v03.event import CloudEvent as SdkEvent03

from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import Served, StaticSinks, make_plane, serve

PATH = "/default/job-sink-logger"
HEAD = (
    b'{"specversion":"0.3","id":"A234-1234-1234","source":"/mycontext",'
    b'"type":"com.example.someevent"'
)
"""The stored JSON of the 0.3 specification's example event, up to its optional attributes."""


@pytest.fixture
def served(fake: FakeKubeApi, fake_url: str, sink: dict[str, Any]) -> Iterator[Served]:
    sinks = StaticSinks({("default", "job-sink-logger"): sink})
    plane = make_plane(fake_url, sinks)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


def stored(served: Served) -> bytes:
    (secret,) = served.fake.of("secrets")
    return base64.b64decode(secret["data"]["event"])


def sdk_event(attributes: dict[str, Any], data: Any) -> SdkEvent03:
    event = SdkEvent03(
        {
            "specversion": "0.3",
            "id": "A234-1234-1234",
            "source": "/mycontext",
            "type": "com.example.someevent",
            **attributes,
        },
        data,
    )
    event.get_attributes().pop("time")  # invented by the SDK; these events have none
    return event


SDK_CASES = [
    pytest.param(
        {"datacontenttype": "application/json", "schemaurl": "https://example.com/s.json"},
        {"a": 1},
        HEAD + b',"datacontenttype":"application/json","schemaurl":"https://example.com/s.json"'
        b',"data":{"a":1}}',
        id="json-schemaurl",
    ),
    pytest.param(
        {"datacontenttype": "application/octet-stream", "comexampleextension1": "value"},
        b"\x00\x01\xff",
        HEAD + b',"datacontenttype":"application/octet-stream","datacontentencoding":"base64"'
        b',"comexampleextension1":"value","data":"AAH/"}',
        id="bytes",
    ),
    pytest.param(
        {"datacontenttype": "text/xml"},
        '<much wow="xml"/>',
        HEAD + b',"datacontenttype":"text/xml","data":"<much wow=\\"xml\\"/>"}',
        id="text",
    ),
]


@pytest.mark.parametrize("convert", [to_binary, to_structured], ids=["binary", "structured"])
@pytest.mark.parametrize(("attributes", "data", "expected"), SDK_CASES)
def test_0_3_events_from_the_sdk_are_stored_as_0_3(
    served: Served, convert: Any, attributes: dict[str, Any], data: Any, expected: bytes
) -> None:
    request = convert(sdk_event(attributes, data), JSONFormat())
    response = httpx.post(served.url + PATH, headers=request.headers, content=request.body)
    assert response.status_code == 202, response.text
    assert stored(served) == expected


BY_HAND = [
    pytest.param(
        {
            "content-type": "application/cloudevents+json",
        },
        json.dumps(
            {
                "specversion": "0.3",
                "type": "com.example.someevent",
                "source": "/mycontext",
                "id": "A234-1234-1234",
                "time": "2018-04-05T17:31:00Z",
                "datacontenttype": "application/octet-stream",
                "datacontentencoding": "base64",
                "data": "AAH/",
            }
        ).encode(),
        HEAD + b',"datacontenttype":"application/octet-stream","datacontentencoding":"base64"'
        b',"time":"2018-04-05T17:31:00Z","data":"AAH/"}',
        id="structured-base64",
    ),
    pytest.param(
        {
            "content-type": "application/json",
            "ce-specversion": "0.3",
            "ce-type": "com.example.someevent",
            "ce-source": "/mycontext",
            "ce-id": "A234-1234-1234",
            "ce-datacontentencoding": "base64",
        },
        b"eyJhIjoxfQ==",
        HEAD + b',"datacontenttype":"application/json","datacontentencoding":"base64"'
        b',"data":"eyJhIjoxfQ=="}',
        id="binary-body-in-base64",
    ),
]


@pytest.mark.parametrize(("headers", "body", "expected"), BY_HAND)
def test_0_3_requests_written_by_hand(
    served: Served, headers: dict[str, str], body: bytes, expected: bytes
) -> None:
    response = httpx.post(served.url + PATH, headers=headers, content=body)
    assert response.status_code == 202, response.text
    assert stored(served) == expected


@pytest.mark.parametrize(
    ("headers", "body", "attribute"),
    [
        pytest.param({"ce-specversion": "0.2"}, b"", "specversion", id="unknown-version"),
        pytest.param(
            {"ce-specversion": "0.3", "ce-datacontentencoding": "7bit"},
            b"x",
            "datacontentencoding",
            id="encoding-other-than-base64",
        ),
        pytest.param(
            {"ce-specversion": "0.3", "ce-datacontentencoding": "base64"},
            b"not base64!",
            "data",
            id="body-not-base64",
        ),
    ],
)
def test_0_3_refusals_name_the_attribute(
    served: Served, headers: dict[str, str], body: bytes, attribute: str
) -> None:
    required = {"ce-type": "t", "ce-source": "s", "ce-id": "1"}
    response = httpx.post(served.url + PATH, headers={**required, **headers}, content=body)
    assert (response.status_code, response.json()["attribute"]) == (400, attribute)
    assert served.fake.writes() == []
