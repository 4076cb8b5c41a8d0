"""The CloudEvents Python SDK 2.x as the independent party of the interop tests.

The product never imports the SDK (``receiver/wire.py`` says why); the tests use it where a client
we did not write proves something: as the sender whose requests the receiver must store
faithfully, and as the reader of every event file we write.

The SDK's habits are accounted for here, once, so that the tests compare events, not quirks:

* Its readers invent what a file lacks: ``time`` (the current time), ``id`` and ``specversion``
  (never missing from our files, where they are required). :func:`read` drops an invented
  ``time``, after checking with the standard library's JSON parser that the file has none.
* Its 2.x reader parses ``time`` into a ``datetime``, which stops at microseconds: nanoseconds
  are cut off. Its 1.x-style reader (``cloudevents.v1``) keeps the text; :func:`read_legacy`
  uses it so that a nanosecond time can be compared exactly.
* In binary mode every attribute travels as a header string written with ``str()``: ``42`` as
  ``"42"`` and ``True`` as ``"True"`` (not the ``"true"`` of the CloudEvents type system). A
  faithful receiver stores those strings, which is what :func:`sent` expects.
* Its 0.3 events (``cloudevents.core.v03``) carry bytes in the JSON format as 0.3 does: a base64
  ``data`` marked ``datacontentencoding: base64``, which its writer adds; :func:`sent` adds it too.
  Its 1.x-style reader does not decode such data, so 0.3 files are read with :func:`read` only.
* ``int``, ``bool`` and ``float`` compare equal in Python (``1 == True == 1.0``), so an event
  is compared in a canonical JSON text per attribute and for the data: a changed type shows.

The SDK's 1.x-style encoders are not used as senders: they put non-ASCII attribute values in
headers without the percent-encoding the HTTP binding requires, and serialise text data in
binary mode as a JSON string, so a faithful receiver would have nothing to agree with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from cloudevents.core.base import BaseCloudEvent as SdkEvent
from cloudevents.core.bindings.http import HTTPMessage, to_binary, to_structured
from cloudevents.core.formats.json import JSONFormat
from cloudevents.v1.http import from_json as legacy_from_json

Mode = Literal["binary", "structured"]
MODES: tuple[Mode, ...] = ("binary", "structured")


@dataclass(frozen=True)
class Seen:
    """An event as the SDK sees it, canonical: attribute name -> JSON text, and the data.

    ``data`` is the canonical JSON text of JSON or text data, the bytes of binary data
    (``data_base64``), or ``None`` when the event has none.
    """

    attributes: dict[str, str]
    data: str | bytes | None


def seen(attributes: dict[str, Any], data: Any) -> Seen:
    """The canonical form of an event given as attributes (a ``time`` may be a datetime) + data."""
    canonical = {name: _canonical(value) for name, value in attributes.items()}
    if data is None or isinstance(data, bytes):
        return Seen(canonical, data)
    return Seen(canonical, _canonical(data))


def encode(event: SdkEvent, mode: Mode) -> HTTPMessage:
    """The request the SDK sends for ``event`` in ``mode``, its data in the JSON event format."""
    convert = to_binary if mode == "binary" else to_structured
    return convert(event, JSONFormat())


def sent(event: SdkEvent, mode: Mode) -> Seen:
    """What a receiver that keeps every attribute and the data exactly must store for ``event``."""
    attributes = dict(event.get_attributes())
    if mode == "binary":
        attributes = {
            name: value if isinstance(value, str | datetime) else str(value)
            for name, value in attributes.items()
        }
    data = event.get_data()
    if attributes["specversion"] == "0.3" and isinstance(data, bytes):
        attributes.setdefault("datacontentencoding", "base64")
    return seen(attributes, data)


def read(file: bytes) -> Seen:
    """``file`` read by the SDK's 2.x JSON event format reader, minus the ``time`` it invents."""
    event = JSONFormat().read(None, file)
    attributes = dict(event.get_attributes())
    if "time" not in json.loads(file):
        attributes.pop("time")
    return seen(attributes, event.get_data())


def read_legacy(file: bytes) -> Seen:
    """``file`` read by the SDK's 1.x-style ``from_json``, which keeps ``time`` as its text."""
    event = legacy_from_json(file)
    attributes = dict(event.get_attributes())
    if "time" not in json.loads(file):
        attributes.pop("time")
    return seen(attributes, event.get_data())


def _canonical(value: Any) -> str:
    if isinstance(value, datetime):
        value = value.isoformat()
    return json.dumps(value, sort_keys=True, ensure_ascii=False)
