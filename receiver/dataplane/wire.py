"""From an HTTP request (headers + body bytes) to CloudEvents: the HTTP protocol binding, by hand.

Pure functions, no I/O. The cloudevents SDK is not used for decoding because its 2.x parser invents
a missing ``id``/``time``/``specversion``; a JobSink keys its idempotency on ``source`` + ``id``, so
every attribute must be exactly what was sent. Content modes:

* **binary**: attributes in ``ce-*`` headers (percent-decoded, then strict UTF-8), ``Content-Type``
  is ``datacontenttype``, the body is the data; gives a :class:`Single`;
* **structured**: ``application/cloudevents+json``, the whole event is one JSON object; gives a
  :class:`Single`;
* **batch**: ``application/cloudevents-batch+json``, a JSON array of structured events; gives a
  :class:`Batch` in which every element is decoded on its own, so one bad event does not sink the
  others;
* any other ``application/cloudevents+<format>`` (or batch) → 415.

CloudEvents 0.3 events are taken in every mode, with the 0.3 rules for data: in structured mode
``datacontentencoding: base64`` makes ``data`` a base64 string of bytes (0.3 has no
``data_base64``); in binary mode it says the body is base64 text of the data, as the 0.3 SDKs
that send it mean it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from jobsink import media, tracecontext
from jobsink.event import (
    DATA_MEMBERS,
    SPEC_VERSION_03,
    CloudEvent,
    Data,
    EventError,
    base64_data,
    body_data,
    check_content_encoding,
    json_data,
    parse_json,
)
from receiver.dataplane.refusals import Rejection

ContentMode = Literal["binary", "structured", "batch"]

_BAD_PERCENT = re.compile(rb"%(?![0-9A-Fa-f]{2})")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")


@dataclass(frozen=True)
class Single:
    """A binary- or structured-mode request: exactly one event."""

    event: CloudEvent


@dataclass(frozen=True)
class Batch:
    """A batch-mode request: each element's event, or why that element was refused."""

    items: tuple[CloudEvent | Rejection, ...]


Decoded = Single | Batch


def decode(
    headers: Iterable[tuple[bytes, bytes]], body: bytes, *, max_batch_events: int | None = None
) -> Decoded:
    """The events of one request.

    A request-level problem (bad header, body not JSON, not an array, a batch of more than
    ``max_batch_events``...) raises ``Rejection``; in a batch, a bad element is refused on its own.
    """
    raw_headers = list(headers)
    content_type = _content_type(raw_headers)
    mode = mode_of(content_type)
    if mode == "binary":
        return Single(binary_event(raw_headers, content_type, body))
    document = _parse_body(body)
    if mode == "structured":
        return Single(structured_event(document))
    if not isinstance(document, list):
        raise Rejection(400, "body: a batch must be a JSON array of events", "body")
    if max_batch_events is not None and len(document) > max_batch_events:
        raise Rejection(413, f"batch of {len(document)} events; at most {max_batch_events}")
    return Batch(tuple(_batch_element(element) for element in document))


def with_request_trace(decoded: Decoded, headers: Iterable[tuple[bytes, bytes]]) -> Decoded:
    """``decoded`` with the request's W3C trace context added to each event that has no
    ``traceparent`` extension of its own (``jobsink.tracecontext``)."""
    context = tracecontext.of_headers(headers)
    if context is None:
        return decoded
    match decoded:
        case Single(event):
            return Single(_traced(event, context))
        case Batch(items):
            return Batch(
                tuple(i if isinstance(i, Rejection) else _traced(i, context) for i in items)
            )


def _traced(event: CloudEvent, context: tracecontext.TraceContext) -> CloudEvent:
    attributes = event.attributes
    added = tracecontext.missing_extensions(attributes, context)
    if not added:
        return event
    return CloudEvent.from_attributes({**attributes, **added}, event.data)


def mode_of(content_type: str | None) -> ContentMode:
    """The content mode a Content-Type selects; ``Rejection`` 415 for other CloudEvents formats."""
    essence = media.essence(content_type) or ""
    if essence == media.CLOUDEVENTS_JSON:
        return "structured"
    if essence == media.CLOUDEVENTS_BATCH_JSON:
        return "batch"
    if essence.startswith(("application/cloudevents+", "application/cloudevents-batch+")):
        raise Rejection(
            415,
            f"Content-Type {essence} is not supported: send {media.CLOUDEVENTS_JSON}, "
            f"{media.CLOUDEVENTS_BATCH_JSON}, or binary mode (ce-* headers)",
        )
    return "binary"


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
            f"header; structured mode needs Content-Type {media.CLOUDEVENTS_JSON})",
            "specversion",
        )
    try:
        return CloudEvent.from_attributes(attributes, _binary_data(attributes, body, content_type))
    except EventError as error:
        raise _rejection(error) from None


def _binary_data(
    attributes: Mapping[str, object], body: bytes, content_type: str | None
) -> Data | None:
    if attributes["specversion"] == SPEC_VERSION_03 and "datacontentencoding" in attributes:
        check_content_encoding(attributes["datacontentencoding"])
        return base64_data(body, "data", line_breaks=True) if body else None
    return body_data(body, content_type)


def header_value(name: str, raw: bytes) -> str:
    """A ``ce-`` header's value: percent-decoded, then strictly UTF-8 (the HTTP binding's rule)."""
    if _BAD_PERCENT.search(raw):
        raise Rejection(400, f"{name}: invalid percent-encoding", name[3:])
    decoded = _PERCENT.sub(lambda match: bytes([int(match.group(1), 16)]), raw)
    try:
        return decoded.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejection(400, f"{name}: not valid UTF-8 after percent-decoding", name[3:]) from None


def structured_event(document: Any) -> CloudEvent:
    if not isinstance(document, dict):
        raise Rejection(400, "body: a structured-mode event must be a JSON object", "body")
    attributes = {k: v for k, v in document.items() if k not in DATA_MEMBERS}
    try:
        return CloudEvent.from_attributes(attributes, _structured_data(document))
    except EventError as error:
        raise _rejection(error) from None


def _structured_data(document: Mapping[str, Any]) -> Data | None:
    if document.get("specversion") == SPEC_VERSION_03:
        return _structured_data_03(document)
    if "data" in document and "data_base64" in document:
        raise EventError("data_base64", "an event has either data or data_base64, not both")
    if "data_base64" in document:
        encoded = document["data_base64"]
        return None if encoded is None else base64_data(encoded, "data_base64")
    if "data" in document:
        return json_data(document["data"])
    return None


def _structured_data_03(document: Mapping[str, Any]) -> Data | None:
    if "data_base64" in document:
        raise EventError(
            "data_base64",
            "not a member of a CloudEvents 0.3 event: 0.3 sends bytes as a base64 string in data, "
            "with datacontentencoding: base64",
        )
    encoding = document.get("datacontentencoding")
    if encoding is not None:
        check_content_encoding(encoding)
        encoded = document.get("data")
        return None if encoded is None else base64_data(encoded, "data", line_breaks=True)
    if "data" in document:
        return json_data(document["data"])
    return None


def _batch_element(element: Any) -> CloudEvent | Rejection:
    try:
        return structured_event(element)
    except Rejection as rejection:
        return rejection


def _parse_body(body: bytes) -> Any:
    try:
        return parse_json(body, "body")
    except EventError as error:
        raise _rejection(error) from None


def _rejection(error: EventError) -> Rejection:
    return Rejection(400, str(error), error.attribute)


def _content_type(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name.lower() == b"content-type":
            try:
                text = value.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise Rejection(400, "content-type: not valid UTF-8", "datacontenttype") from None
            return text or None
    return None
