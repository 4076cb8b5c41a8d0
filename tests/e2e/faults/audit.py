"""The full audit after a fault: what the cluster holds against what the sender was promised.

A 202 promises that the event's Job and its Secret exist. After any fault, for one JobSink:

* every accepted event has exactly one Job, not being deleted, and that Job exactly one Secret;
* no Job lacks its Secret and no Secret lacks its Job (orphans either way), once the sweeper and
  the garbage collector have had their turn: hence :func:`audit_until_clean`;
* no event, accepted or not, has two or more Jobs, and no Job belongs to an event never sent;
* the file in each Secret equals the event as sent, attribute by attribute, data included.

Objects are matched by the event annotations and owner references, not by the product's naming
function, so a naming bug shows up here as a missing or unknown Job.
"""

from __future__ import annotations

import base64
import binascii
import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from jobsink.names import ANNOTATION_EVENT_ID, ANNOTATION_EVENT_SOURCE, LABEL_SINK_NAME
from tests.e2e.faults.events import EventKey, SentEvent, stored_differences

PAGE = 500


@dataclass(frozen=True)
class Stored:
    """The parts of a Job or a Secret the audit reads."""

    name: str
    uid: str
    key: EventKey | None
    deleting: bool
    owner_uids: frozenset[str]
    event_file: bytes | None  # Secrets only


@dataclass
class AuditReport:
    sent: int
    accepted: int
    jobs: int = 0
    secrets: int = 0
    accepted_without_job: list[EventKey] = field(default_factory=list)
    accepted_job_deleting: list[str] = field(default_factory=list)
    events_with_several_jobs: dict[EventKey, list[str]] = field(default_factory=dict)
    jobs_of_unknown_events: list[str] = field(default_factory=list)
    jobs_without_secret: list[str] = field(default_factory=list)
    jobs_with_several_secrets: list[str] = field(default_factory=list)
    secrets_without_job: list[str] = field(default_factory=list)
    stored_mismatches: dict[str, list[str]] = field(default_factory=dict)

    @property
    def problems(self) -> dict[str, int]:
        """Each kind of problem found, with its count (empty when the audit is clean)."""
        counts = {
            "accepted events without a Job": len(self.accepted_without_job),
            "accepted events whose Job is being deleted": len(self.accepted_job_deleting),
            "events with 2+ Jobs": len(self.events_with_several_jobs),
            "Jobs of events never sent": len(self.jobs_of_unknown_events),
            "Jobs without their Secret": len(self.jobs_without_secret),
            "Jobs with 2+ Secrets": len(self.jobs_with_several_secrets),
            "Secrets without their Job": len(self.secrets_without_job),
            "stored events differing from what was sent": len(self.stored_mismatches),
        }
        return {problem: count for problem, count in counts.items() if count}

    @property
    def clean(self) -> bool:
        return not self.problems

    def summary(self, examples: int = 3) -> str:
        lines = [
            f"audit: {self.sent} sent, {self.accepted} accepted (202), "
            f"{self.jobs} Jobs, {self.secrets} Secrets: "
            + ("clean" if self.clean else f"PROBLEMS {self.problems}")
        ]
        for label, found in (
            ("accepted without Job", self.accepted_without_job),
            ("several Jobs", list(self.events_with_several_jobs.items())),
            ("Jobs without Secret", self.jobs_without_secret),
            ("Secrets without Job", self.secrets_without_job),
            ("unknown events", self.jobs_of_unknown_events),
            ("stored differs", list(self.stored_mismatches.items())),
        ):
            if found:
                lines.append(f"  e.g. {label}: {found[:examples]}")
        return "\n".join(lines)


def stored(item: Mapping[str, Any]) -> Stored:
    meta = item["metadata"]
    annotations = meta.get("annotations") or {}
    source, id = annotations.get(ANNOTATION_EVENT_SOURCE), annotations.get(ANNOTATION_EVENT_ID)
    encoded = (item.get("data") or {}).get("event")
    try:
        event_file = base64.b64decode(encoded) if encoded is not None else None
    except binascii.Error:
        event_file = b"(not base64)"
    return Stored(
        name=meta["name"],
        uid=meta["uid"],
        key=(source, id) if source is not None and id is not None else None,
        deleting="deletionTimestamp" in meta,
        owner_uids=frozenset(ref["uid"] for ref in meta.get("ownerReferences") or []),
        event_file=event_file,
    )


def _pages(list_call: Callable[..., Any], namespace: str, selector: str) -> Iterator[Stored]:
    """Every object of one kind with ``selector``, read in pages of ``PAGE``."""
    token = None
    while True:
        answer = list_call(
            namespace,
            label_selector=selector,
            limit=PAGE,
            _continue=token,
            _preload_content=False,
            _request_timeout=60,
        )
        page = json.loads(answer.data)
        yield from (stored(item) for item in page["items"])
        token = page["metadata"].get("continue")
        if not token:
            return


def _stored_file_differences(event: SentEvent, secret: Stored) -> list[str]:
    try:
        stored = json.loads(secret.event_file or b"")
    except ValueError:
        return [f"the stored file is not JSON: {secret.event_file!r:.200}"]
    if not isinstance(stored, dict):
        return [f"the stored file is not a JSON object: {stored!r:.200}"]
    return stored_differences(event.stored, stored)


def judge(
    jobs: Sequence[Stored],
    secrets: Sequence[Stored],
    sent: Mapping[EventKey, SentEvent],
    accepted: Mapping[EventKey, SentEvent],
) -> AuditReport:
    """The audit's verdict on what one JobSink's Jobs and Secrets are (pure)."""
    report = AuditReport(sent=len(sent), accepted=len(accepted), jobs=len(jobs))
    report.secrets = len(secrets)

    jobs_by_event: dict[EventKey, list[Stored]] = defaultdict(list)
    for job in jobs:
        if job.key is None or job.key not in sent:
            report.jobs_of_unknown_events.append(job.name)
        else:
            jobs_by_event[job.key].append(job)
    secrets_by_owner: dict[str, list[Stored]] = defaultdict(list)
    for secret in secrets:
        for uid in secret.owner_uids:
            secrets_by_owner[uid].append(secret)
    job_uids = {job.uid for job in jobs}
    report.secrets_without_job = [s.name for s in secrets if not s.owner_uids & job_uids]

    for job in jobs:
        owned = secrets_by_owner.get(job.uid, [])
        if not owned:
            report.jobs_without_secret.append(job.name)
        elif len(owned) > 1:
            report.jobs_with_several_secrets.append(job.name)
    for key, found in jobs_by_event.items():
        if len(found) > 1:
            report.events_with_several_jobs[key] = [job.name for job in found]
    for key, event in accepted.items():
        found = jobs_by_event.get(key, [])
        if not found:
            report.accepted_without_job.append(key)
            continue
        for job in found:
            if job.deleting:
                report.accepted_job_deleting.append(job.name)
            for secret in secrets_by_owner.get(job.uid, []):
                if differences := _stored_file_differences(event, secret):
                    report.stored_mismatches[secret.name] = differences
    return report


def audit(
    api: client.ApiClient,
    namespace: str,
    sink: str,
    sent: Mapping[EventKey, SentEvent],
    accepted: Mapping[EventKey, SentEvent],
) -> AuditReport:
    """One look at the cluster: ``sent`` is every event tried, ``accepted`` those answered 202."""
    selector = f"{LABEL_SINK_NAME}={sink}"
    jobs = list(_pages(client.BatchV1Api(api).list_namespaced_job, namespace, selector))
    secrets = list(_pages(client.CoreV1Api(api).list_namespaced_secret, namespace, selector))
    return judge(jobs, secrets, sent, accepted)


def audit_until_clean(
    api: client.ApiClient,
    namespace: str,
    sink: str,
    sent: Mapping[EventKey, SentEvent],
    accepted: Mapping[EventKey, SentEvent],
    *,
    timeout: float,
    interval: float = 2.0,
) -> AuditReport:
    """Audit until clean or ``timeout`` passes (the sweeper and the GC finish what faults left)."""
    deadline = time.monotonic() + timeout
    while True:
        report = audit(api, namespace, sink, sent, accepted)
        if report.clean or time.monotonic() >= deadline:
            return report
        time.sleep(interval)
