"""W3C Trace Context carried by an event: the CloudEvents distributed-tracing extension
(``traceparent``, ``tracestate``), or the request's headers of the same names.

Pure functions, no I/O. What the receiver does with them (docs/observing.md, "Tracing"):

* an event that carries the ``traceparent`` extension is stored exactly as sent;
* an event without it, sent with a valid ``traceparent`` header, is stored with the header's
  ``traceparent`` (and a valid ``tracestate``) added as extensions, as Knative's ingress adds the
  extension from the request, so the stored event says which trace it belongs to;
* the Job of an event with a valid ``traceparent`` gets it as an annotation and as the variables
  ``TRACEPARENT``/``TRACESTATE`` of its containers, so the job continues the trace. A malformed
  value is never copied there: tools that read ``TRACEPARENT`` would start a broken trace.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

TRACEPARENT: Final = "traceparent"
TRACESTATE: Final = "tracestate"
ANNOTATION_TRACEPARENT: Final = "sinks.knative.dev/traceparent"
ANNOTATION_TRACESTATE: Final = "sinks.knative.dev/tracestate"
ENV_TRACEPARENT: Final = "TRACEPARENT"
ENV_TRACESTATE: Final = "TRACESTATE"

MAX_TRACEPARENT: Final = 256
"""A later version's traceparent may be longer than 55 characters; not without end."""
MAX_TRACESTATE: Final = 512
"""The length a tracestate must be propagated at (W3C Trace Context, "tracestate limits")."""
MAX_TRACESTATE_MEMBERS: Final = 32

# version "00": exactly version-traceid-parentid-flags; a later version may append "-" fields.
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?")
_KEY = r"(?:[a-z][a-z0-9_\-*/]{0,255}|[a-z0-9][a-z0-9_\-*/]{0,240}@[a-z][a-z0-9_\-*/]{0,13})"
_VALUE = r"[\x20-\x2b\x2d-\x3c\x3e-\x7e]{0,255}[\x21-\x2b\x2d-\x3c\x3e-\x7e]"
_MEMBER = re.compile(rf"{_KEY}={_VALUE}")


@dataclass(frozen=True)
class TraceContext:
    """A valid traceparent, and a tracestate when one valid came with it."""

    traceparent: str
    tracestate: str | None = None

    @property
    def trace_id(self) -> str:
        return self.traceparent[3:35]

    @property
    def parent_id(self) -> str:
        return self.traceparent[36:52]


def valid_traceparent(value: object) -> str | None:
    """``value`` when it is a traceparent W3C Trace Context accepts, else None.

    Version ``ff`` is invalid; version ``00`` is exactly 55 characters; an all-zero trace id or
    parent id is invalid; hex is lowercase.
    """
    if not isinstance(value, str) or len(value) > MAX_TRACEPARENT:
        return None
    match = _TRACEPARENT.fullmatch(value)
    if match is None:
        return None
    version, trace_id, parent_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest is not None):
        return None
    if trace_id == "0" * 32 or parent_id == "0" * 16:
        return None
    return value


def valid_tracestate(value: object) -> str | None:
    """``value`` when it is a well-formed tracestate of at most 512 characters and 32 members
    (empty members, from ``a=1,,b=2``, are allowed by the spec), else None."""
    if not isinstance(value, str) or len(value) > MAX_TRACESTATE:
        return None
    members = [m.strip(" \t") for m in value.split(",")]
    present = [m for m in members if m]
    if not present or len(present) > MAX_TRACESTATE_MEMBERS:
        return None
    if not all(_MEMBER.fullmatch(m) for m in present):
        return None
    keys = [m.split("=", 1)[0] for m in present]
    return value if len(set(keys)) == len(keys) else None


def parse(traceparent: object, tracestate: object = None) -> TraceContext | None:
    """The context of a traceparent and tracestate; None when the traceparent is not valid. An
    invalid tracestate is left out (the spec: a bad tracestate never spoils the traceparent)."""
    parent = valid_traceparent(traceparent)
    if parent is None:
        return None
    return TraceContext(parent, valid_tracestate(tracestate))


def of_attributes(attributes: Mapping[str, object]) -> TraceContext | None:
    """The context of an event's distributed-tracing extension."""
    return parse(attributes.get(TRACEPARENT), attributes.get(TRACESTATE))


def of_extensions(extra: Iterable[tuple[str, object]]) -> TraceContext | None:
    """:func:`of_attributes` of a ``CloudEvent.extra``, without building the attribute dict."""
    parent = state = None
    for name, value in extra:
        if name == TRACEPARENT:
            parent = value
        elif name == TRACESTATE:
            state = value
    return None if parent is None else parse(parent, state)


def of_headers(headers: Iterable[tuple[bytes, bytes]]) -> TraceContext | None:
    """The context of a request's ``traceparent``/``tracestate`` headers. A header sent twice
    is not a traceparent (W3C: treat as invalid); repeated tracestate headers are one list."""
    parents: list[str] = []
    states: list[str] = []
    for raw_name, raw_value in headers:
        if len(raw_name) not in (10, 11):
            continue  # every request passes here: most headers are told apart by length alone
        name = raw_name.lower()
        if name == b"traceparent":
            parents.append(raw_value.decode("latin-1").strip())
        elif name == b"tracestate":
            states.append(raw_value.decode("latin-1").strip())
    if len(parents) != 1:
        return None
    return parse(parents[0], ",".join(states) if states else None)


def missing_extensions(
    attributes: Mapping[str, object], request: TraceContext | None
) -> dict[str, str]:
    """The extensions to add to an event from its request's context: none when the event has a
    ``traceparent`` of its own (valid or not: what the sender sent is kept as sent) or the
    request has no valid one."""
    if request is None or TRACEPARENT in attributes:
        return {}
    added = {TRACEPARENT: request.traceparent}
    if request.tracestate is not None and TRACESTATE not in attributes:
        added[TRACESTATE] = request.tracestate
    return added


def job_annotations(context: TraceContext | None) -> dict[str, str]:
    """The Job annotations of a context."""
    if context is None:
        return {}
    found = {ANNOTATION_TRACEPARENT: context.traceparent}
    if context.tracestate is not None:
        found[ANNOTATION_TRACESTATE] = context.tracestate
    return found


def job_environment(context: TraceContext | None) -> list[dict[str, str]]:
    """The container variables of a context."""
    if context is None:
        return []
    variables = [{"name": ENV_TRACEPARENT, "value": context.traceparent}]
    if context.tracestate is not None:
        variables.append({"name": ENV_TRACESTATE, "value": context.tracestate})
    return variables
