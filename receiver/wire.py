"""From an HTTP request (headers + body bytes) to CloudEvents: the HTTP protocol binding, by hand.

Pure functions, no I/O. The cloudevents SDK is not used for decoding because its 2.x parser invents
a missing ``id``/``time``/``specversion``; a JobSink keys its idempotency on ``source`` + ``id``, so
every attribute must be exactly what was sent. Modes:

* **binary**: attributes in ``ce-*`` headers (percent-decoded, then strict UTF-8), ``Content-Type``
  is ``datacontenttype``, the body is the data;
* **structured**: ``application/cloudevents+json``, the whole event is one JSON object;
* **batch**: ``application/cloudevents-batch+json``, a JSON array of structured events; every
  event is decoded on its own so one bad event does not sink the others;
* any other ``application/cloudevents+<format>`` (or batch) → 415.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from jobsink.event import (
    DATA_MEMBERS,
    BinaryData,
    CloudEvent,
    Data,
    EventError,
    is_json_media_type,
    json_data,
    parse_json,
    text_data,
)

STRUCTURED: Final = "application/cloudevents+json"
BATCH: Final = "application/cloudevents-batch+json"
_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_TEXTUAL = ("application/xml", "application/x-www-form-urlencoded", "application/yaml")


@dataclass(frozen=True)
class Rejection(Exception):
    """The request cannot carry an event: answer ``status`` with this message (never retried)."""

    status: int
    message: str
    attribute: str | None = None

    def __str__(self) -> str:
        return self.message

    @classmethod
    def from_event_error(cls, error: EventError) -> Rejection:
        return cls(400, str(error), error.attribute)


@dataclass(frozen=True)
class Decoded:
    """One event of a request, or why that event was refused (batch mode keeps going)."""

    event: CloudEvent | None
    rejection: Rejection | None = None


def media_type(content_type: str | None) -> str | None:
    """The lowercase ``type/subtype`` of a Content-Type header, without parameters."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def mode_of(content_type: str | None) -> str:
    """``binary``, ``structured`` or ``batch``; ``Rejection`` 415 for other CloudEvents formats."""
    essence = media_type(content_type) or ""
    if essence == STRUCTURED:
        return "structured"
    if essence == BATCH:
        return "batch"
    if essence.startswith(("application/cloudevents+", "application/cloudevents-batch+")):
        raise Rejection(
            415,
            f"Content-Type {essence} is not supported: send {STRUCTURED}, {BATCH}, "
            "or binary mode (ce-* headers)",
        )
    return "binary"


def decode(headers: Iterable[tuple[bytes, bytes]], body: bytes) -> list[Decoded]:
    """The events of one request. Binary and structured give one, batch gives one per element.

    A request-level problem (bad header, body not JSON, not an array...) raises ``Rejection``.
    """
    raw_headers = list(headers)
    content_type = _content_type(raw_headers)
    mode = mode_of(content_type)
    if mode == "binary":
        return [Decoded(binary_event(raw_headers, content_type, body))]
    document = _parse_body(body)
    if mode == "structured":
        return [Decoded(structured_event(document))]
    if not isinstance(document, list):
        raise Rejection(400, "body: a batch must be a JSON array of events", "body")
    return [_decode_one(element) for element in document]


def binary_event(
    headers: Iterable[tuple[bytes, bytes]], content_type: str | None, body: bytes
) -> CloudEvent:
    attributes: dict[str, object] = {}
    for raw_name, raw_value in headers:
        name = raw_name.decode("latin-1").lower()
        if not name.startswith("ce-"):
            continue
        attribute = name[3:]
        if attribute == "datacontenttype":
            raise Rejection(
                400,
                "ce-datacontenttype: in binary mode the data's type is the Content-Type header",
                "datacontenttype",
            )
        if attribute in attributes:
            raise Rejection(400, f"{name}: header sent more than once", attribute)
        attributes[attribute] = header_value(name, raw_value)
    if content_type is not None:
        attributes["datacontenttype"] = content_type
    if "specversion" not in attributes:
        raise Rejection(
            400,
            "specversion: required attribute is missing (binary mode needs a ce-specversion "
            f"header; structured mode needs Content-Type {STRUCTURED})",
            "specversion",
        )
    try:
        return CloudEvent.from_attributes(attributes, binary_data(content_type, body))
    except EventError as error:
        raise Rejection.from_event_error(error) from None


def header_value(name: str, raw: bytes) -> str:
    """A ``ce-`` header's value: percent-decoded, then strictly UTF-8 (the HTTP binding's rule)."""
    if _BAD_PERCENT.search(raw):
        raise Rejection(400, f"{name}: invalid percent-encoding", name[3:])
    decoded = _PERCENT.sub(lambda match: bytes([int(match.group(1), 16)]), raw)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection(400, f"{name}: not valid UTF-8 after percent-decoding", name[3:]) from None


def binary_data(content_type: str | None, body: bytes) -> Data | None:
    """The body as data: JSON embedded, text as a string, anything else as bytes (base64)."""
    if not body:
        return None
    if is_json_media_type(content_type):
        return json_data(parse_json(body))
    if content_type is None:
        # No declared type: JSON if it is JSON, otherwise opaque bytes.
        try:
            return json_data(parse_json(body))
        except EventError:
            return BinaryData(body)
    if _is_textual(content_type):
        try:
            return text_data(body.decode("utf-8"))
        except UnicodeDecodeError:
            return BinaryData(body)
    return BinaryData(body)


def structured_event(document: Any) -> CloudEvent:
    if not isinstance(document, dict):
        raise Rejection(400, "body: a structured-mode event must be a JSON object", "body")
    attributes = {k: v for k, v in document.items() if k not in DATA_MEMBERS}
    try:
        return CloudEvent.from_attributes(attributes, _structured_data(document))
    except EventError as error:
        raise Rejection.from_event_error(error) from None


def _structured_data(document: Mapping[str, Any]) -> Data | None:
    if "data" in document and "data_base64" in document:
        raise EventError("data_base64", "an event has either data or data_base64, not both")
    if "data_base64" in document:
        encoded = document["data_base64"]
        if encoded is None:
            return None
        if not isinstance(encoded, str):
            raise EventError("data_base64", "must be a base64 string")
        try:
            return BinaryData(base64.b64decode(encoded, validate=True))
        except (binascii.Error, ValueError):
            raise EventError("data_base64", "not valid base64") from None
    if "data" in document:
        return json_data(document["data"])
    return None


def _decode_one(element: Any) -> Decoded:
    try:
        return Decoded(structured_event(element))
    except Rejection as rejection:
        return Decoded(None, rejection)


def _parse_body(body: bytes) -> Any:
    try:
        return parse_json(body, "body")
    except EventError as error:
        raise Rejection.from_event_error(error) from None


def _content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"content-type":
            try:
                text = value.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise Rejection(400, "content-type: not valid UTF-8", "datacontenttype") from None
            return text or None
    return None


def _is_textual(content_type: str) -> bool:
    essence = media_type(content_type) or ""
    return (
        essence.startswith("text/")
        or essence in _TEXTUAL
        or essence.endswith("+xml")
        or "charset=" in content_type.lower()
    )
