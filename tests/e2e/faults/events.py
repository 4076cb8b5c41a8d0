"""The events a fault run sends, and the file each one's Job must hold.

Three kinds in rotation, so that every storm covers both HTTP modes and the three ways data is
stored (embedded JSON, a JSON string, base64). The expected file is written from the
documentation (README, "Receiver: events in, Jobs out"), not from the product's code.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

EXTENSION = "faultseq"
"""An extension attribute on every event: its index, so a stored file names its place in the run."""

EventKey = tuple[str, str]
"""(source, id): what identifies an event to a sender, and to the annotations of its Job."""


@dataclass(frozen=True)
class SentEvent:
    """One CloudEvent as the sender puts it on the wire, and its expected stored JSON."""

    index: int
    kind: str
    headers: Mapping[str, str]
    body: bytes
    stored: Mapping[str, Any]

    @property
    def source(self) -> str:
        return str(self.stored["source"])

    @property
    def id(self) -> str:
        return str(self.stored["id"])

    @property
    def key(self) -> EventKey:
        return (self.source, self.id)


def _attributes(run: str, index: int, kind: str) -> dict[str, str]:
    return {
        "specversion": "1.0",
        "id": f"{index:06d}",
        # A slash and a space: the Location and the annotations must carry them unchanged.
        "source": f"faults/{run} {kind}",
        "type": "dev.jobsink.fault.probe",
    }


def _binary_headers(attributes: Mapping[str, str], content_type: str) -> dict[str, str]:
    headers = {f"ce-{name}": value for name, value in attributes.items()}
    return {**headers, "content-type": content_type}


def _binary_json(run: str, index: int) -> SentEvent:
    attributes = {**_attributes(run, index, "binary-json"), EXTENSION: str(index)}
    data = {"index": index, "note": "sent through a fault", "ratio": 1.5, "tags": ["a", "b"]}
    return SentEvent(
        index,
        "binary-json",
        _binary_headers(attributes, "application/json"),
        json.dumps(data, indent=1).encode(),  # whitespace the receiver drops when it stores
        {**attributes, "datacontenttype": "application/json", "data": data},
    )


def _binary_bytes(run: str, index: int) -> SentEvent:
    attributes = {**_attributes(run, index, "binary-bytes"), EXTENSION: str(index)}
    # 64 bytes that are not UTF-8 (0xff never is): stored as data_base64, compared byte for byte.
    data = b"\xff\x00" + hashlib.sha256(f"{run}/{index}".encode()).digest() * 2
    return SentEvent(
        index,
        "binary-bytes",
        _binary_headers(attributes, "application/octet-stream"),
        data,
        {
            **attributes,
            "datacontenttype": "application/octet-stream",
            "data_base64": base64.b64encode(data).decode(),
        },
    )


def _structured_text(run: str, index: int) -> SentEvent:
    event = {
        **_attributes(run, index, "structured-text"),
        "datacontenttype": "text/plain",
        "subject": f"probe {index}",
        EXTENSION: str(index),
        "data": f"événement n°{index}\nsecond line",
    }
    return SentEvent(
        index,
        "structured-text",
        {"content-type": "application/cloudevents+json"},
        json.dumps(event, ensure_ascii=False).encode(),
        event,
    )


KINDS: tuple[Callable[[str, int], SentEvent], ...] = (_binary_json, _binary_bytes, _structured_text)


def make_event(run: str, index: int) -> SentEvent:
    """Event ``index`` of run ``run``: the kind rotates with the index."""
    return KINDS[index % len(KINDS)](run, index)


def make_events(run: str, count: int) -> list[SentEvent]:
    return [make_event(run, index) for index in range(count)]


def _decoded(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except binascii.Error:
        return None


def stored_differences(expected: Mapping[str, Any], stored: Mapping[str, Any]) -> list[str]:
    """Attribute by attribute, what differs between the file a Job holds and the event sent.

    ``data_base64`` is compared as the bytes it encodes, so only a change of content counts.
    """
    differences = []
    for name in sorted(set(expected) | set(stored)):
        want, got = expected.get(name), stored.get(name)
        if name == "data_base64" and isinstance(want, str) and isinstance(got, str):
            same = _decoded(want) == _decoded(got)
        else:
            same = name in expected and name in stored and want == got
        if not same:
            differences.append(f"{name}: sent {want!r}, stored {got!r}")
    return differences
