"""CloudEvents 0.3 with a client we did not write: the CloudEvents SDK 2.x, ``core.v03``.

The SDK encodes a 0.3 event in binary and in structured mode; the receiver's decoding of that
request, rendered into the Job's Secret, is read back by the SDK's JSON format reader as the
event that was sent: ``specversion`` 0.3, the 0.3 attributes (``schemaurl``,
``datacontentencoding``), and the data in its kind. The file itself is the 0.3 JSON format:
bytes in ``data`` as base64, never ``data_base64``, which 0.3 does not have.

No control plane: ``wire.decode`` and ``render`` are what the receiver runs on a request.
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v03.event import CloudEvent as SdkEvent03

from jobsink.render import render
from receiver.dataplane.wire import Single, decode
from tests.interop.sdk import MODES, Mode, encode, read, sent
from tests.jobsink.sinks import sink

REQUIRED = {"specversion": "0.3", "id": "e-03", "source": "/interop/v03", "type": "dev.interop"}
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"

CASES = [
    pytest.param({}, None, id="required-only"),
    pytest.param(
        {"datacontenttype": "application/json", "schemaurl": "https://example.com/s.json"},
        {"name": "Zoë", "list": [1, 2.5, True, None]},
        id="json-with-schemaurl",
    ),
    pytest.param({"datacontenttype": "text/plain; charset=utf-8"}, "Grüße ✓", id="text"),
    pytest.param({"datacontenttype": "image/png"}, PNG_HEAD, id="bytes"),
    pytest.param(
        {
            "subject": "Bestellung/42",
            "time": datetime(2024, 2, 29, 23, 59, 59, 123456, tzinfo=UTC),
            "myext": "a b%c ü",
        },
        None,
        id="subject-time-extension",
    ),
]


def stored_file(mode: Mode, event: SdkEvent03) -> bytes:
    request = encode(event, mode)
    decoded = decode(((k.encode(), v.encode()) for k, v in request.headers.items()), request.body)
    assert isinstance(decoded, Single)
    secret = render(sink(), decoded.event).secret
    return base64.b64decode(secret["data"]["event"])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("attributes", "data"), CASES)
def test_a_0_3_event_sent_by_the_sdk_is_stored_as_the_same_0_3_event(
    mode: Mode, attributes: dict[str, Any], data: Any
) -> None:
    event = SdkEvent03({**REQUIRED, **attributes}, data)
    if "time" not in attributes:
        # The SDK invents a time for an event without one; this case sends none.
        event.get_attributes().pop("time")
    file = stored_file(mode, event)
    assert read(file) == sent(event, mode)
    document = json.loads(file)
    assert document["specversion"] == "0.3"
    assert "data_base64" not in document
    assert ("time" in document) == ("time" in attributes)  # nothing invented


def test_bytes_are_stored_the_way_the_sdk_writes_a_0_3_event() -> None:
    event = SdkEvent03({**REQUIRED, "datacontenttype": "image/png"}, PNG_HEAD)
    event.get_attributes().pop("time")
    ours = json.loads(stored_file("binary", event))
    theirs = json.loads(JSONFormat().write(event))
    assert ours == theirs
