"""The CloudEvent a JobSink stores: attributes exactly as the sender sent them, plus its data.

The event is written into the Job's Secret in the CloudEvents JSON format (structured mode), the
file a job reads at ``/etc/jobsink-event/event``. Two rules make that file trustworthy:

* nothing is invented: an attribute the sender did not send (``time``, ``datacontenttype``, ...)
  is not added, unlike the cloudevents 2.x SDK, which fills in ``id`` and ``time``;
* data keeps its kind: JSON data is embedded as JSON, text as a JSON string, bytes as
  ``data_base64``.

Events of CloudEvents 1.0 and 0.3 are kept in their own version: a 0.3 event keeps
``specversion: "0.3"`` and the 0.3 attribute set (``schemaurl``, ``datacontentencoding``), and
is written as the 0.3 JSON format writes it. That format has no ``data_base64``: bytes go in
``data`` as a base64 string marked ``datacontentencoding: "base64"``, so that attribute is the one
the receiver adds when a 0.3 event's data is bytes (the format cannot carry them otherwise).

The serialisation is compact and its member order is fixed (``specversion``, ``id``, ``source``,
``type``, the optional context attributes, the extensions sorted by name, then the data), so a
redelivery of the same event always produces the same bytes.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from jobsink import media

AttributeValue = str | int | bool
"""CloudEvents attribute types in JSON: String (also URI, Timestamp...), Integer, Boolean."""

SPEC_VERSION: Final = "1.0"
SPEC_VERSION_03: Final = "0.3"
REQUIRED: Final = ("specversion", "id", "source", "type")
OPTIONAL: Final[Mapping[str, tuple[str, ...]]] = {
    SPEC_VERSION: ("datacontenttype", "dataschema", "subject", "time"),
    SPEC_VERSION_03: ("datacontenttype", "datacontentencoding", "schemaurl", "subject", "time"),
}
"""The optional context attributes of each supported version, in serialisation order."""
DATA_MEMBERS: Final = ("data", "data_base64")
BASE64: Final = "base64"
"""The one ``datacontentencoding`` of CloudEvents 0.3 (RFC 2045 names are case-insensitive)."""

_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]{1,20}")
_WHITESPACE = re.compile(r"[ \t\r\n]+")
_INT32 = range(-(2**31), 2**31)
# RFC 3339 date-time, as CloudEvents' Timestamp type requires.
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})",
)


class EventError(ValueError):
    """The request does not carry a valid CloudEvent; ``attribute`` names the culprit."""

    def __init__(self, attribute: str, message: str) -> None:
        super().__init__(f"{attribute}: {message}")
        self.attribute = attribute
        self.message = message


@dataclass(frozen=True, slots=True)
class JsonData:
    """Data that is a JSON value, kept as its compact JSON text (a string value for text data)."""

    text: str


@dataclass(frozen=True, slots=True)
class BinaryData:
    """Data that is neither JSON nor text: stored as ``data_base64``."""

    value: bytes


Data = JsonData | BinaryData


@dataclass(frozen=True)
class CloudEvent:
    """One CloudEvent 1.0 or 0.3. Build it with :meth:`from_attributes`, which validates."""

    specversion: str
    id: str
    source: str
    type: str
    extra: tuple[tuple[str, AttributeValue], ...] = ()
    """Optional context attributes then extensions, in serialisation order."""
    data: Data | None = None

    @classmethod
    def from_attributes(
        cls, attributes: Mapping[str, object], data: Data | None = None
    ) -> CloudEvent:
        """Validate ``attributes`` (names as on the wire, lowercase) and build the event.

        A ``None`` value means the attribute is absent (JSON ``null``). Raises :class:`EventError`
        naming the first bad attribute: required ones first, in spec order.
        """
        present = {name: value for name, value in attributes.items() if value is not None}
        specversion, id, source, type = (_required_string(present, name) for name in REQUIRED)
        optional = OPTIONAL.get(specversion)
        if optional is None:
            supported = " or ".join(repr(version) for version in OPTIONAL)
            raise EventError(
                "specversion", f"unsupported version {specversion!r}, expected {supported}"
            )
        if specversion == SPEC_VERSION_03:
            present = _encoding_of_03(present, data)
        extra: list[tuple[str, AttributeValue]] = []
        for name in optional:
            if name in present:
                extra.append((name, _optional_string(name, present[name])))
        for name in sorted(present):
            if name in REQUIRED or name in optional:
                continue
            extra.append((name, _extension(name, present[name])))
        return cls(specversion, id, source, type, extra=tuple(extra), data=data)

    @property
    def attributes(self) -> dict[str, AttributeValue]:
        """Every attribute the sender sent, in serialisation order."""
        head: dict[str, AttributeValue] = {
            "specversion": self.specversion,
            "id": self.id,
            "source": self.source,
            "type": self.type,
        }
        return head | dict(self.extra)

    @property
    def datacontenttype(self) -> str | None:
        value = dict(self.extra).get("datacontenttype")
        return value if isinstance(value, str) else None

    def to_json(self) -> bytes:
        """The structured-mode JSON stored in the Secret: compact, UTF-8, data last."""
        # Computed once: the receiver checks the size, then rendering stores it. Kept in the
        # instance's dict by hand: ``functools.cached_property`` takes a lock on every read.
        found: bytes | None = self.__dict__.get("_stored_json")
        if found is None:
            found = self.__dict__["_stored_json"] = self._encode()
        return found

    def _encode(self) -> bytes:
        members = [f"{_dump(name)}:{_dump(value)}" for name, value in self.attributes.items()]
        if isinstance(self.data, JsonData):
            members.append(f'"data":{self.data.text}')
        elif isinstance(self.data, BinaryData):
            encoded = base64.b64encode(self.data.value).decode("ascii")
            member = "data" if self.specversion == SPEC_VERSION_03 else "data_base64"
            members.append(f'"{member}":"{encoded}"')
        return ("{" + ",".join(members) + "}").encode("utf-8")


def json_data(value: Any) -> JsonData:
    """Data from an already-parsed JSON value (structured mode's ``data`` member)."""
    return JsonData(_dump(value))


def text_data(text: str) -> JsonData:
    """Text data: stored as a JSON string."""
    return JsonData(_dump(text))


def base64_data(encoded: object, what: str, *, line_breaks: bool = False) -> BinaryData:
    """Bytes sent as base64 text (1.0's ``data_base64``, 0.3's ``data`` with
    ``datacontentencoding``); :class:`EventError` on ``what`` when it is not base64.

    ``line_breaks``: whitespace between the characters is dropped first, as 0.3 asks: its
    ``base64`` is RFC 2045's, which breaks lines every 76 characters.
    """
    if not isinstance(encoded, str | bytes):
        raise EventError(what, f"must be a base64 string, got {_kind(encoded)}")
    if line_breaks:
        encoded = _WHITESPACE.sub(
            "", encoded if isinstance(encoded, str) else encoded.decode("latin-1")
        )
    try:
        return BinaryData(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        raise EventError(what, "not valid base64") from None


def check_content_encoding(value: object) -> None:
    """A 0.3 ``datacontentencoding``: :class:`EventError` unless it is ``base64``."""
    if not isinstance(value, str):
        raise EventError("datacontentencoding", f"must be a string, got {_kind(value)}")
    if value.lower() != BASE64:
        raise EventError(
            "datacontentencoding",
            f"{value[:64]!r} is not supported: CloudEvents 0.3 defines base64",
        )


def parse_json(raw: bytes | str, what: str = "data") -> Any:
    """Parse strict JSON: no NaN/Infinity, no numbers that overflow a double.

    Raises :class:`EventError` on ``what`` so the caller can answer 400 naming it.
    """
    try:
        return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except (ValueError, RecursionError) as error:
        message = error.message if isinstance(error, EventError) else str(error)
        raise EventError(what, f"not valid JSON: {message}") from None


def body_data(body: bytes, content_type: str | None, what: str = "data") -> Data | None:
    """A body labelled ``content_type`` as event data; None when it is empty.

    JSON types are embedded (a body that is not JSON is an :class:`EventError` on ``what``); text is
    kept as a string, or as bytes when it is not UTF-8; other types are bytes. Without a declared
    type the body is JSON if it parses as JSON, otherwise bytes.
    """
    if not body:
        return None
    kind = media.kind_of(content_type)
    if kind == "json":
        return json_data(parse_json(body, what))
    if kind is None:
        try:
            return json_data(parse_json(body, what))
        except EventError:
            return BinaryData(body)
    if kind == "text":
        try:
            return text_data(body.decode("utf-8"))
        except UnicodeDecodeError:
            return BinaryData(body)
    return BinaryData(body)


def _encoding_of_03(present: dict[str, object], data: Data | None) -> dict[str, object]:
    """A 0.3 event's attributes with its ``datacontentencoding`` settled: checked when sent, and
    ``base64`` when its data is bytes (the 0.3 JSON format's only way to carry them)."""
    if "datacontentencoding" in present:
        check_content_encoding(present["datacontentencoding"])
        if isinstance(data, JsonData):
            raise EventError(
                "datacontentencoding", "set, but the data is JSON or text, not base64-encoded bytes"
            )
        return present
    if isinstance(data, BinaryData):
        return {**present, "datacontentencoding": BASE64}
    return present


# ``json.dumps`` with options builds a new encoder on every call; these are built once.
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode
_COMPACT_ASCII = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), allow_nan=False).encode


def _dump(value: Any) -> str:
    text = _COMPACT(value)
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a "\ud800" escape in the sender's JSON) has no UTF-8 form; the
        # \u-escaped JSON keeps it exactly as sent.
        return _COMPACT_ASCII(value)
    return text


def _reject_constant(name: str) -> float:
    raise EventError("data", f"{name} is not a JSON number")


def _finite_float(literal: str) -> float:
    number = float(literal)
    if not math.isfinite(number):
        raise EventError("data", f"number {literal[:40]} is out of range")
    return number


def _required_string(present: Mapping[str, object], name: str) -> str:
    if name not in present:
        raise EventError(name, "required attribute is missing")
    value = present[name]
    if not isinstance(value, str):
        raise EventError(name, f"must be a string, got {_kind(value)}")
    if not value:
        raise EventError(name, "required attribute is empty")
    _check_text(name, value)
    return value


def _optional_string(name: str, value: object) -> str:
    if not isinstance(value, str):
        raise EventError(name, f"must be a string, got {_kind(value)}")
    if not value:
        raise EventError(name, "must not be empty when present")
    _check_text(name, value)
    if name == "time" and not _RFC3339.fullmatch(value):
        raise EventError(name, f"{value!r} is not an RFC 3339 timestamp")
    if name == "datacontenttype" and not media.is_media_type(value):
        raise EventError(name, f"{value!r} is not a media type (type/subtype)")
    return value


def _extension(name: str, value: object) -> AttributeValue:
    if not _ATTRIBUTE_NAME.fullmatch(name):
        raise EventError(
            name[:64] or "(empty)", "attribute names are 1 to 20 lowercase letters or digits"
        )
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        if value not in _INT32:
            raise EventError(name, "integer extension out of the signed 32-bit range")
        return value
    if isinstance(value, str):
        _check_text(name, value)
        return value
    raise EventError(
        name, f"extension values are strings, integers or booleans, got {_kind(value)}"
    )


def _check_text(name: str, value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise EventError(name, "contains a lone surrogate, not valid Unicode") from None


def _kind(value: object) -> str:
    return {
        bool: "a boolean",
        int: "an integer",
        float: "a number",
        str: "a string",
        list: "an array",
        dict: "an object",
    }.get(type(value), type(value).__name__)
