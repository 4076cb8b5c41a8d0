"""The exactly-once audit of one contender's namespace, for either naming scheme (pure).

Both receivers turn event (source, id) sent to JobSink ``sink`` into one Job and one immutable
Secret that share a name, the Secret owned by the Job (controller reference by uid), both labelled
``sinks.knative.dev/job-sink-name=<sink>``, the Secret holding the structured JSON event under
``event``. Only the name differs:

* ours: ``jobsink.names.job_name`` (SHA-256 of ``[sink, source, id]``);
* Knative's ``cmd/jobsink``: ``kmeta.ChildName(sink + "-", md5hex(source + id))``.

The audit checks every expected name is a Job with its Secret, nothing else carries the sink's
label, and each Secret's stored event is the (source, id) its name was made from.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from jobsink.names import job_name as ours_job_name

#: kmeta.ChildName's limits: a Kubernetes name of at most 63 characters, a 32-digit md5 suffix.
_LONGEST = 63
_MD5_HEX = 32
_HEAD = _LONGEST - _MD5_HEX

Naming = Callable[[str, str, str], str]
"""(sink, source, id) -> the name of the Job and Secret of that event."""


def knative_job_name(sink: str, source: str, id: str) -> str:
    """The name Knative Eventing's ``cmd/jobsink`` gives the Job of an event (``toJobName``)."""
    suffix = hashlib.md5((source + id).encode(), usedforsecurity=False).hexdigest()
    return _child_name(sink + "-", suffix)


def _child_name(parent: str, suffix: str) -> str:
    """``knative.dev/pkg/kmeta.ChildName`` for a 32-character suffix: a parent too long for
    it is cut and replaced by a hash of parent and suffix."""
    if len(parent) <= _LONGEST - len(suffix):
        return parent + suffix
    digest = hashlib.md5((parent + suffix).encode(), usedforsecurity=False).hexdigest()
    name = parent[:_HEAD] + digest
    while name and not name[-1].isalnum():
        name = name[:-1]
    return name


NAMING: Mapping[str, Naming] = {"ours": ours_job_name, "knative": knative_job_name}
"""Naming scheme by the implementation a contender runs."""


@dataclass(frozen=True)
class Audit:
    """What the namespace holds against what was sent; ``exactly_once`` sums it up."""

    distinct_events: int
    jobs: int
    secrets: int
    missing_jobs: int
    unexpected_jobs: int
    jobs_without_secret: int
    secrets_not_owned_by_their_job: int
    secrets_with_a_foreign_event: int

    @property
    def exactly_once(self) -> bool:
        return (
            self.jobs == self.distinct_events
            and self.missing_jobs == 0
            and self.unexpected_jobs == 0
            and self.jobs_without_secret == 0
            and self.secrets == self.jobs
            and self.secrets_not_owned_by_their_job == 0
            and self.secrets_with_a_foreign_event == 0
        )

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "exactly_once": self.exactly_once}


def _stored_event(secret: Mapping[str, Any]) -> tuple[str, str] | None:
    """(source, id) of the structured event a Secret holds, or None if it holds none."""
    encoded = (secret.get("data") or {}).get("event")
    if not isinstance(encoded, str):
        return None
    try:
        event = json.loads(base64.b64decode(encoded, validate=True))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(event, dict):
        return None
    source, id = event.get("source"), event.get("id")
    return (source, id) if isinstance(source, str) and isinstance(id, str) else None


def audit(
    sink: str,
    naming: Naming,
    events: Iterable[tuple[str, str]],
    jobs: Sequence[Mapping[str, Any]],
    secrets: Sequence[Mapping[str, Any]],
) -> Audit:
    """``jobs`` and ``secrets``: every object labelled with the sink's name in its namespace;
    ``events``: every (source, id) sent to it, repeats included."""
    distinct = set(events)
    expected = {naming(sink, source, id) for source, id in distinct}
    job_uid = {job["metadata"]["name"]: job["metadata"]["uid"] for job in jobs}
    owned: set[str] = set()
    foreign = 0
    for secret in secrets:
        name = secret["metadata"]["name"]
        references = secret["metadata"].get("ownerReferences") or []
        if any(
            ref.get("kind") == "Job"
            and ref.get("name") == name
            and ref.get("uid") == job_uid.get(name)
            and ref.get("controller") is True
            for ref in references
        ):
            owned.add(name)
        stored = _stored_event(secret)
        if stored is None or naming(sink, *stored) != name:
            foreign += 1
    return Audit(
        distinct_events=len(distinct),
        jobs=len(jobs),
        secrets=len(secrets),
        missing_jobs=len(expected - job_uid.keys()),
        unexpected_jobs=len(job_uid.keys() - expected),
        jobs_without_secret=len(job_uid.keys() - owned),
        secrets_not_owned_by_their_job=len(secrets) - len(owned),
        secrets_with_a_foreign_event=foreign,
    )
