"""Names and labels of the objects a JobSink creates for an event.

One event, identified by its (source, id) pair, becomes one Job and one Secret that share a name.
The name is the idempotency key of the receiver, so it must be:

* deterministic: the same (sink, source, id) always gives the same name;
* unambiguous: the hash input is a JSON array, so ``("ab", "c")`` and ``("a", "bc")`` differ
  (Knative hashes the bare concatenation ``source + id`` and silently drops the second event);
* strong: SHA-256, of which 130 bits are kept as 26 lowercase base32 characters;
* short: at most 52 characters, a valid DNS-1123 label for every legal JobSink name. 52, not 63,
  because an Indexed Job's pods get the hostname ``<job name>-<index>``, which must itself be a
  DNS-1123 label for any int32 completion index (the apiserver rejects the Job otherwise).

The sink name is part of the hash input, so two sinks whose names share a truncated prefix can never
produce the same Job name.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from typing import Final

LABEL_SINK_NAME: Final = "sinks.knative.dev/job-sink-name"
LABEL_SINK_ID: Final = "sinks.knative.dev/job-sink-id"
ANNOTATION_EVENT_SOURCE: Final = "sinks.knative.dev/event-source"
ANNOTATION_EVENT_ID: Final = "sinks.knative.dev/event-id"
ANNOTATION_EVENT_STORED: Final = "sinks.knative.dev/event-stored"
"""Set on a Job by the delivery that completed it with its Secret after an earlier one failed."""

LABEL_DEAD_LETTER: Final = "sinks.knative.dev/dead-letter"
"""On the Jobs of a JobSink with a dead-letter sink: ``pending`` from creation, then ``delivered``
or ``gave-up`` once the event of the failed Job was sent or given up (``receiver.deadletter``).
A label, so that the receiver watches only these Jobs."""
ANNOTATION_DEAD_LETTER: Final = "sinks.knative.dev/dead-letter"
"""When and how a Job's dead letter ended: ``<outcome> <RFC 3339 time>: <detail>``."""
DEAD_LETTER_PENDING: Final = "pending"
DEAD_LETTER_DELIVERED: Final = "delivered"
DEAD_LETTER_GAVE_UP: Final = "gave-up"

EVENT_VOLUME: Final = "jobsink-event"
"""Name of the Secret volume (and of the user's volumeMount that relocates it)."""
EVENT_MOUNT_PATH: Final = "/etc/jobsink-event"
"""Default directory of the event file; the file itself is ``<dir>/event``."""
EVENT_KEY: Final = "event"
"""Key of the event in the Secret, hence the file name inside the mount directory."""
ENV_EVENT_PATH: Final = "K_EVENT_PATH"
ENV_EXECUTION_MODE: Final = "K_EXECUTION_MODE"
EXECUTION_MODE_BATCH: Final = "batch"

MAX_SINK_NAME: Final = 63
"""A JobSink name is a label value on every Job and Secret, and label values stop at 63 chars."""
MAX_JOB_NAME: Final = 52
"""63 minus ``len("-2147483646")``: room for any Indexed pod hostname suffix."""
HASH_CHARS: Final = 26
"""26 base32 characters carry 130 bits of the SHA-256 digest."""
PREFIX_CHARS: Final = MAX_JOB_NAME - HASH_CHARS - 1

_NOT_LABEL_CHARS = re.compile(r"[^a-z0-9-]")


_ENCODE = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
"""RFC 4648's base32 alphabet, lowercase."""
_PAIRS = [a + b for a in _BASE32 for b in _BASE32]
"""Every two base32 characters, by the 10 bits they spell."""
_SHIFTS = range(HASH_CHARS * 5 - 10, -1, -10)


def event_hash(sink: str, source: str, id: str) -> str:
    """Lowercase base32 SHA-256 of the JSON array ``[sink, source, id]``, cut to 130 bits.

    The same characters as ``base64.b32encode(digest).lower()[:26]``, ten bits at a time
    (``tests/jobsink/test_names.py`` compares the two).
    """
    encoded = _ENCODE([sink, source, id])
    digest = hashlib.sha256(encoded.encode("utf-8", "surrogatepass")).digest()
    bits = int.from_bytes(digest[:17], "big") >> (17 * 8 - HASH_CHARS * 5)
    return "".join([_PAIRS[bits >> shift & 1023] for shift in _SHIFTS])


@functools.lru_cache(maxsize=4096)
def _prefix(sink: str) -> str:
    return _NOT_LABEL_CHARS.sub("-", sink.lower())[:PREFIX_CHARS].strip("-")


def job_name(sink: str, source: str, id: str) -> str:
    """The name of the Job, and of its event Secret, for event (source, id) sent to ``sink``.

    ``<prefix>-<hash>``: the prefix is the sink name made label-safe ('.' becomes '-') and cut to
    25 characters without a trailing '-', so people can still tell which sink a Job came from.
    """
    prefix = _prefix(sink)
    digest = event_hash(sink, source, id)
    return f"{prefix}-{digest}" if prefix else digest


def selector(sink: str) -> str:
    """Label selector of every Job and Secret created for ``sink``; also ``status.job.selector``."""
    return f"{LABEL_SINK_NAME}={sink}"
