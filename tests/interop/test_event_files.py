"""The event files and requests we write, read by the CloudEvents SDK, a client we did not write.

What this proves, with no control plane:

* every event file the receiver writes (the ``event`` key of the Secret that ``render`` builds)
  is read by the SDK's 2.x reader and by its 1.x-style ``from_json`` as the same event the sender
  sent: every attribute with its value and type, the data in its kind (JSON, text, bytes), and
  nothing the sender did not send; over a table with binary data, unicode, nanosecond and offset
  times, and extensions of every type;
* so is the Secret that ``jobsink render`` prints;
* the requests ``jobsink send`` puts on the wire, in binary and in structured mode, are read by
  the SDK's HTTP binding as the event the user described, so our percent-encoding of headers and
  our structured JSON agree with an independent implementation.

The expectations are computed from the table's inputs with the standard library, not from our
encoder. The SDK's quirks (it invents a missing ``time``, cuts nanoseconds, reads binary-mode
attributes as strings) are handled in ``tests/interop/sdk.py``.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import yaml
from cloudevents.core.bindings.http import HTTPMessage, from_http
from cloudevents.core.formats.json import JSONFormat
from typer.testing import CliRunner

from cli import send
from cli.main import app
from jobsink.event import BinaryData, CloudEvent, Data, json_data, text_data
from jobsink.render import render
from tests.interop.sdk import Seen, read, read_legacy, seen
from tests.jobsink.sinks import sink

REQUIRED = {"specversion": "1.0", "id": "e-1", "source": "/interop/files", "type": "dev.interop"}
PNG_HEAD = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe\x00"
"""Bytes that are neither UTF-8 nor JSON."""


@dataclass(frozen=True)
class Case:
    attributes: dict[str, Any] = field(default_factory=dict)
    """Attributes besides the required ones (which a case may override)."""
    data: Data | None = None

    def event(self) -> CloudEvent:
        return CloudEvent.from_attributes({**REQUIRED, **self.attributes}, self.data)

    def expected(self, *, cut_time: bool) -> Seen:
        """The sent event; with ``cut_time`` its time as a datetime, as the 2.x reader keeps it."""
        attributes: dict[str, Any] = {**REQUIRED, **self.attributes}
        if cut_time and "time" in attributes:
            # RFC 3339 allows a lowercase T and Z; the standard library parses only uppercase.
            attributes["time"] = datetime.fromisoformat(attributes["time"].upper())
        if isinstance(self.data, BinaryData):
            return seen(attributes, self.data.value)
        return seen(attributes, None if self.data is None else json.loads(self.data.text))


FILE_CASES = [
    pytest.param(Case(), id="required-only"),
    pytest.param(
        Case(
            {"datacontenttype": "application/json"},
            json_data({"name": "Zoë", "nested": {"list": [1, 2.5, True, None], "empty": {}}}),
        ),
        id="json-object",
    ),
    pytest.param(
        Case({"datacontenttype": "application/json"}, json_data([1, "zwei", 3.0])), id="json-array"
    ),
    pytest.param(Case({}, json_data(2**53 + 1)), id="json-big-integer-no-datacontenttype"),
    pytest.param(Case({}, json_data(None)), id="json-null"),
    pytest.param(
        Case({"datacontenttype": "application/vnd.example+json; charset=utf-8"}, json_data("s")),
        id="json-string-suffix-type",
    ),
    pytest.param(
        Case({"datacontenttype": "text/plain; charset=utf-8"}, text_data('Grüße\n✓ "quoted"')),
        id="text",
    ),
    pytest.param(
        Case({"datacontenttype": "application/xml"}, text_data("<a>ü</a>")), id="text-xml"
    ),
    pytest.param(Case({}, json_data("\ud800")), id="json-lone-surrogate"),
    pytest.param(
        Case({"datacontenttype": "application/octet-stream"}, BinaryData(PNG_HEAD)),
        id="bytes-octet-stream",
    ),
    pytest.param(Case({"datacontenttype": "image/png"}, BinaryData(PNG_HEAD)), id="bytes-png"),
    pytest.param(Case({}, BinaryData(b"\x00")), id="bytes-no-datacontenttype"),
    pytest.param(
        Case({"id": "ü-∑-😀", "source": "https://example.com/a b?c=%25", "type": "é.t"}),
        id="unicode-required",
    ),
    pytest.param(
        Case(
            {
                "subject": "Bestellung/42 ü",
                "dataschema": "https://example.com/schema.json",
                "time": "2024-02-29T23:59:59.123456789Z",
            }
        ),
        id="subject-dataschema-nanosecond-time",
    ),
    pytest.param(Case({"time": "2024-01-02T03:04:05+05:30"}), id="time-offset"),
    pytest.param(Case({"time": "2024-01-02t03:04:05.5z"}), id="time-lowercase"),
    pytest.param(
        Case(
            {
                "text": 'a b%c"d',
                "unicode": "ü😀",
                "count": 42,
                "negative": -(2**31),
                "largest": 2**31 - 1,
                "yes": True,
                "no": False,
                "zero": 0,
            },
            json_data({"k": "v"}),
        ),
        id="extensions-every-type",
    ),
]


@pytest.mark.parametrize("case", FILE_CASES)
def test_event_file_read_by_the_sdk(case: Case) -> None:
    secret = render(sink(), case.event()).secret
    file = base64.b64decode(secret["data"]["event"])
    assert read(file) == case.expected(cut_time=True)
    assert read_legacy(file) == case.expected(cut_time=False)


@pytest.mark.parametrize(
    ("options", "case"),
    [
        pytest.param([], Case({"type": "dev.jobsink.render"}), id="no-data"),
        pytest.param(
            ["--type", "my.demo.event", "--data", '{"details":"JobSinkDemo","n":[1,2.0]}'],
            Case(
                {"type": "my.demo.event", "datacontenttype": "application/json"},
                json_data({"details": "JobSinkDemo", "n": [1, 2.0]}),
            ),
            id="json-data",
        ),
        pytest.param(
            ["--type", "t", "--id", "ü 1", "--source", "/s/ä"],
            Case({"type": "t", "id": "ü 1", "source": "/s/ä"}),
            id="unicode",
        ),
    ],
)
def test_render_command_secret_read_by_the_sdk(
    options: list[str], case: Case, tmp_path: Path
) -> None:
    path = tmp_path / "sink.yaml"
    path.write_text(yaml.safe_dump(sink()))
    arguments = ["render", str(path), "--source", REQUIRED["source"], "--id", REQUIRED["id"]]
    result = CliRunner().invoke(app, [*arguments, *options])
    assert result.exit_code == 0, result.output
    secret, _job = yaml.safe_load_all(result.stdout)
    file = base64.b64decode(secret["data"]["event"])
    assert read(file) == case.expected(cut_time=True)
    assert read_legacy(file) == case.expected(cut_time=False)


SEND_CASES = [
    pytest.param(send.Outgoing("/s", "t", "1"), None, id="no-data"),
    pytest.param(
        send.Outgoing("/s", "t", "1", b'{"a": [1, "\xc3\xbc"]}', "application/json"),
        {"a": [1, "ü"]},
        id="json",
    ),
    pytest.param(
        send.Outgoing("/s", "t", "1", "Grüße ✓".encode(), "text/plain; charset=utf-8"),
        "Grüße ✓",
        id="text",
    ),
    pytest.param(
        send.Outgoing("/s", "t", "1", PNG_HEAD, "application/octet-stream"),
        PNG_HEAD,
        id="bytes",
    ),
    pytest.param(
        send.Outgoing(
            'https://example.com/a b?q="x"&p=%41',
            "tÿpe",
            "ü 😀 %",
            extensions={"ext": 'a b"c%d ü', "empty": "", "num": "42"},
        ),
        None,
        id="unicode-and-percent-in-attributes",
    ),
]


@pytest.mark.parametrize(("outgoing", "data"), SEND_CASES)
@pytest.mark.parametrize("mode", ["binary", "structured"])
def test_send_request_read_by_the_sdk(outgoing: send.Outgoing, data: Any, mode: str) -> None:
    request = (send.binary_request if mode == "binary" else send.structured_request)(outgoing)
    event = from_http(HTTPMessage(request.headers, request.body), JSONFormat())
    attributes = dict(event.get_attributes())
    attributes.pop("time")  # the user gave none: the SDK invents one when reading
    expected: dict[str, Any] = {
        "specversion": "1.0",
        "id": outgoing.id,
        "source": outgoing.source,
        "type": outgoing.type,
        **outgoing.extensions,
    }
    if outgoing.content_type is not None:
        expected["datacontenttype"] = outgoing.content_type
    assert seen(attributes, event.get_data()) == seen(expected, data)
