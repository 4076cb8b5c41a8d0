"""The CloudEvent a JobSink stores: attributes exactly as the sender sent them, plus its data.

The event is written into the Job's Secret in the CloudEvents JSON format (structured mode), the
file a job reads at ``/etc/jobsink-event/event``. Two rules make that file trustworthy:

* nothing is invented: an attribute the sender did not send (``time``, ``datacontenttype``, ...)
  is not added, unlike the cloudevents 2.x SDK, which fills in ``id`` and ``time``;
* data keeps its kind: JSON data is embedded as JSON, text as a JSON string, bytes as
  ``data_base64``.

The serialisation is compact and its member order is fixed (``specversion``, ``id``, ``source``,
``type``, the optional context attributes, the extensions sorted by name, then the data), so a
redelivery of the same event always produces the same bytes.
"""

from __future__ import annotations

import base64
import functools
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
REQUIRED: Final = ("specversion", "id", "source", "type")
OPTIONAL: Final = ("datacontenttype", "dataschema", "subject", "time")
DATA_MEMBERS: Final = ("data", "data_base64")

_ATTRIBUTE_NAME = re.compile(r"[a-z0-9]{1,20}")
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
    """One CloudEvent 1.0. Build it with :meth:`from_attributes`, which validates."""

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
        if specversion != SPEC_VERSION:
            raise EventError(
                "specversion", f"unsupported version {specversion!r}, expected {SPEC_VERSION!r}"
            )
        extra: list[tuple[str, AttributeValue]] = []
        for name in OPTIONAL:
            if name in present:
                extra.append((name, _optional_string(name, present[name])))
        for name in sorted(present):
            if name in REQUIRED or name in OPTIONAL:
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
        return self._json

    @functools.cached_property
    def _json(self) -> bytes:
        # Computed once: the receiver checks the size, then rendering stores it.
        members = [f"{_dump(name)}:{_dump(value)}" for name, value in self.attributes.items()]
        if isinstance(self.data, JsonData):
            members.append(f'"data":{self.data.text}')
        elif isinstance(self.data, BinaryData):
            members.append(f'"data_base64":"{base64.b64encode(self.data.value).decode("ascii")}"')
        return ("{" + ",".join(members) + "}").encode("utf-8")


def json_data(value: Any) -> JsonData:
    """Data from an already-parsed JSON value (structured mode's ``data`` member)."""
    return JsonData(_dump(value))


def text_data(text: str) -> JsonData:
    """Text data: stored as a JSON string."""
    return JsonData(_dump(text))


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


def _dump(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A lone surrogate (a "\ud800" escape in the sender's JSON) has no UTF-8 form; the
        # \u-escaped JSON keeps it exactly as sent.
        return json.dumps(value, ensure_ascii=True, separators=(",", ":"), allow_nan=False)
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
