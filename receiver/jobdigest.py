"""What the Job index keeps of a Job: two ints, and how the write protocol asks about them.

The write protocol's duplicate check asks two things of a Job: does it belong to this event
(``receiver.protocol``: the sink name and id labels, the event source and id annotations, the
JobSink among its owners, not being deleted), and is it the Job with this uid (the owner of the
Secret found, or the one this process completed). Neither needs the strings themselves, only
whether they are equal to the ones the protocol expects, so the index keeps, per Job:

- the **key**: 60 bits of BLAKE2b of ``namespace/name`` (neither may hold a ``/``);
- the **fingerprint**: 64 bits of BLAKE2b of the belonging fields, then 64 bits of BLAKE2b of
  the uid, in one 128-bit int.

Why ints of those widths: CPython stores an int in 30-bit digits, so an int below 2**60 is a
32-byte object and a 128-bit one 48 bytes, against 64 bytes for a 16-byte ``bytes``. Measured
with tracemalloc over 200,000 entries in a dict: 132 bytes per entry for this pair, 150 for two
16-byte ``bytes``. In a receiver's RSS it is about 150 bytes per Job at a million Jobs
(docs/benchmarks.md, "Job index").

Why collisions cost nothing but speed: two names with the same key share one entry, whose
fingerprint then matches neither claim (the sink id label is the Job's own name), so both go down
the path that writes and reads the apiserver, where the create's 409 settles the truth. A false
"this is the event's Job" needs a 64-bit collision between one Job's fields and the claim's,
about 1 in 1.8e19 per check.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    LABEL_SINK_ID,
    LABEL_SINK_NAME,
)

KEY_BITS = 60
HALF = 64
UID_MASK = (1 << HALF) - 1


def _digest(text: str, bits: int) -> int:
    raw = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(raw, "big") >> (64 - bits)


def job_key(namespace: str, name: str) -> int:
    """The index's key for the Job ``namespace/name``."""
    return _digest(f"{namespace}/{name}", KEY_BITS)


def uid_digest(uid: str) -> int:
    return _digest(uid, HALF)


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def _belonging(
    sink_name: object,
    sink_id: object,
    source: object,
    event_id: object,
    owners: Iterable[object],
    deleting: bool,
) -> int:
    # A JSON array: unambiguous whatever the strings hold, and a missing field (None) never
    # equals a present one.
    fields = [sink_name, sink_id, source, event_id, sorted(str(uid) for uid in owners), deleting]
    return _digest(_ENCODE(fields), HALF)


def fingerprint(metadata: dict[str, Any]) -> int:
    """The fingerprint of a Job from its metadata (a ``PartialObjectMetadata`` is enough)."""
    labels = metadata.get("labels") or {}
    annotations = metadata.get("annotations") or {}
    belonging = _belonging(
        labels.get(LABEL_SINK_NAME),
        labels.get(LABEL_SINK_ID),
        annotations.get(ANNOTATION_EVENT_SOURCE),
        annotations.get(ANNOTATION_EVENT_ID),
        (ref.get("uid") for ref in metadata.get("ownerReferences") or []),
        bool(metadata.get("deletionTimestamp")),
    )
    return belonging << HALF | uid_digest(str(metadata.get("uid") or ""))


@dataclass(frozen=True)
class Claim:
    """What the Job of one event carries when it is that event's and stands (the fields
    ``receiver.protocol`` checks on a whole Job, as ``jobsink.render`` writes them)."""

    sink_name: str
    sink_uid: str
    job_name: str
    source: str
    id: str

    @property
    def belonging(self) -> int:
        """The first half of the fingerprint of any Job that belongs to this claim."""
        # Kept by hand: ``functools.cached_property`` takes a lock on every read.
        found: int | None = self.__dict__.get("_belonging")
        if found is None:
            found = self.__dict__["_belonging"] = _belonging(
                self.sink_name, self.job_name, self.source, self.id, [self.sink_uid], False
            )
        return found

    def matches(self, fingerprint: int, uid: int | None = None) -> bool:
        """The fingerprinted Job belongs to this claim and, given a ``uid_digest``, has that
        uid."""
        if fingerprint >> HALF != self.belonging:
            return False
        return uid is None or fingerprint & UID_MASK == uid
