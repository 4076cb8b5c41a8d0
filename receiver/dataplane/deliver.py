"""Delivery: an event that fits where it is stored, and whose Location clients can read, goes
through the write protocol.

On the event loop (the write protocol's calls are asynchronous), under the handler's in-flight
slot. A single event's failure is raised; a batch returns each event's own outcome, whatever the
others do.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jobsink import tracecontext
from jobsink.event import CloudEvent
from jobsink.validation.meta import annotation_overflow
from receiver.dataplane import routes
from receiver.dataplane.refusals import FAILURES, Failure, Rejection
from receiver.protocol import Accepted, WriteProtocol
from receiver.settings import MAX_EVENT_BYTES


@dataclass(frozen=True, slots=True)
class Delivered:
    """An event whose Job and Secret exist, and its Location (``routes.location``)."""

    event: CloudEvent
    accepted: Accepted
    location: str


async def one(
    protocol: WriteProtocol, sink: dict[str, Any], event: CloudEvent, deadline: float
) -> Delivered:
    """Deliver ``event``; raises a ``Failure``."""
    check_size(sink, event)
    where = check_location(sink, event)
    return Delivered(event, await protocol.deliver(sink, event, deadline=deadline), where)


async def batch(
    protocol: WriteProtocol,
    sink: dict[str, Any],
    items: tuple[CloudEvent | Rejection, ...],
    deadline: float,
) -> list[Delivered | Failure]:
    """Deliver every decoded event of a batch, in order; a refused element stays refused."""
    outcomes: list[Delivered | Failure] = []
    for item in items:
        if isinstance(item, Rejection):
            outcomes.append(item)
            continue
        try:
            outcomes.append(await one(protocol, sink, item, deadline))
        except FAILURES as failure:
            outcomes.append(failure)
    return outcomes


def check_size(sink: dict[str, Any], event: CloudEvent) -> None:
    """``Rejection`` 413 when the event cannot be stored: its JSON is larger than a Secret holds,
    or its source and id overflow the Job's annotations."""
    size = len(event.to_json())
    if size > MAX_EVENT_BYTES:
        raise Rejection(413, f"the event is {size} bytes as stored JSON; a Secret holds at most "
                        f"{MAX_EVENT_BYTES}")  # fmt: skip
    trace = tracecontext.job_annotations(tracecontext.of_extensions(event.extra))
    overflow = annotation_overflow(sink, event.source, event.id, trace)
    if overflow:
        raise Rejection(413, f"source and id are {overflow} bytes too long: they are stored as "
                        "Job annotations, which hold 256 KiB in all", "source")  # fmt: skip


def check_location(sink: dict[str, Any], event: CloudEvent) -> str:
    """The event's Location; ``Rejection`` 413 naming ``source`` or ``id`` (the longer once
    escaped) when it would be longer than clients read: refused before anything is written,
    rather than a 202 whose Location the sender cannot read or poll."""
    meta = sink["metadata"]
    where = routes.location(meta["namespace"], meta["name"], event.source, event.id)
    if len(where) <= routes.MAX_LOCATION_BYTES:
        return where
    escaped_source, escaped_id = routes.escape(event.source), routes.escape(event.id)
    longer = "source" if len(escaped_source) >= len(escaped_id) else "id"
    raise Rejection(413, f"source and id make a Location of {len(where)} bytes once "
                    f"percent-escaped; at most {routes.MAX_LOCATION_BYTES}", longer)  # fmt: skip
