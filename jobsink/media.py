"""Media types (``type/subtype; parameters``) and the kind of data a body of each type holds.

Both ends of an event ask the same two questions: what is the essence of this Content-Type, and is
the data it labels JSON, text or opaque bytes. The receiver asks them to store a binary-mode body;
``jobsink send`` asks them to encode a structured-mode event. Answering both here keeps what the CLI
sends in structured mode identical to what the receiver stores for the same event in binary mode.
"""

from __future__ import annotations

import re
from typing import Final, Literal

CLOUDEVENTS_JSON: Final = "application/cloudevents+json"
"""Structured content mode: the body is one event in the JSON format."""
CLOUDEVENTS_BATCH_JSON: Final = "application/cloudevents-batch+json"
"""Batched content mode: the body is a JSON array of structured events."""

DataKind = Literal["json", "text", "binary"]
"""How event data is stored: embedded JSON, a JSON string, or ``data_base64``."""

_SYNTAX = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+/[!#$%&'*+.^_`|~0-9A-Za-z-]+(?:\s*;.*)?", re.S)
_JSON = frozenset({"application/json", "text/json"})
# Textual types outside text/*: what senders commonly label XML, forms and YAML with.
_TEXTUAL = frozenset({"application/xml", "application/x-www-form-urlencoded", "application/yaml"})


def essence(content_type: str | None) -> str | None:
    """The lowercase ``type/subtype`` of a Content-Type, without parameters; None when empty."""
    if not content_type:
        return None
    return content_type.split(";", 1)[0].strip().lower() or None


def is_media_type(value: str) -> bool:
    """Whether ``value`` has the syntax of a media type (``type/subtype``, optional parameters)."""
    return _SYNTAX.fullmatch(value) is not None


def is_json(content_type: str | None) -> bool:
    """``application/json``, ``text/json`` and any ``+json`` structured syntax suffix."""
    kind = essence(content_type)
    return kind is not None and (kind in _JSON or kind.endswith("+json"))


def kind_of(content_type: str | None) -> DataKind | None:
    """The kind of data ``content_type`` labels, or None when no type is declared (the caller
    decides from the bytes). Text is any ``text/*``, the common textual ``application/`` types,
    ``+xml``, and anything that declares a ``charset``."""
    if content_type is None:
        return None
    kind = essence(content_type) or ""
    if kind in _JSON or kind.endswith("+json"):
        return "json"
    if (
        kind.startswith("text/")
        or kind in _TEXTUAL
        or kind.endswith("+xml")
        or "charset=" in content_type.lower()
    ):
        return "text"
    return "binary"
