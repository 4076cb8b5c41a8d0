"""The write protocol: one CloudEvent becomes exactly one Job and one event Secret.

Order and why (docs/design.md, "The write protocol", lists every crash point):

1. **Read-only duplicate check.** The Job comes from the receiver's Job index (a metadata watch;
   ``receiver.jobindex``) or, while that is not synced or cannot tell (past its bound), from the
   apiserver's watch cache; the Secret from the apiserver's watch cache. Both present, the Job
   belonging to this event and the Secret owned by that Job: answer 202 with no write at all. An
   event this process completed, whose Job the index still shows, costs no call. A stale read
   only sends us down the create path, where 409 settles it.
2. **Job first**, owned by the JobSink. Its Pod cannot start before the Secret volume exists (the
   kubelet retries the mount), so a Job without its Secret is harmless, and the sender, who got a
   5xx, redelivers and step 3 completes it.
3. **Secret second**, owned by the Job (uid from the create answer or from a live GET of the Job
   after 409), so deleting the Job deletes the event. A Secret of the same name owned by another
   Job uid is left over from an earlier Job for this very event (the name hashes sink, source and
   id) and would be garbage-collected under the new Job: it is deleted (uid precondition) and
   written again, never adopted.
4. **Confirm a completed Job.** When this delivery wrote the Secret of a Job that an earlier one
   created, it then annotates the Job (``event-stored``, uid precondition). The write changes the
   Job's resourceVersion, and the sweeper deletes only with the resourceVersion it saw before it
   found the Secret missing, so one of the two loses cleanly: either the sweeper's delete fails,
   or the annotation finds the Job gone and the sender is told to retry (503), which creates a
   new Job. Either way the event ends in a Job with its Secret. (A concurrent duplicate that saw
   Job and Secret just before the sweeper's delete still answers 202: its twin's 503 redelivery
   is what recreates the Job.)

``AlreadyExists`` is success once the existing object is shown to belong to this event.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from jobsink import tracecontext
from jobsink.event import CloudEvent
from jobsink.names import (
    ANNOTATION_EVENT_ID,
    ANNOTATION_EVENT_SOURCE,
    ANNOTATION_EVENT_STORED,
    LABEL_SINK_NAME,
    job_name,
)
from jobsink.render import secret_owned_by
from kubeapi.errors import AlreadyExists, ServerError
from kubeapi.object_client import ObjectClient
from receiver.jobdigest import Claim
from receiver.jobindex import JobIndex, Seen
from receiver.jobtemplates import JobTemplates
from receiver.tracing import Tracing

MAX_ATTEMPTS = 3
"""Create/verify rounds for one object when it keeps vanishing or being replaced under us."""


class Outcome(enum.Enum):
    CREATED = "created"
    """This delivery created the Job (and its Secret)."""
    COMPLETED = "completed"
    """The Job existed without its Secret (an earlier delivery failed halfway); now complete."""
    DUPLICATE = "duplicate"
    """Job and Secret both existed (found by the check, or by 409s when it raced another)."""


@dataclass(frozen=True)
class Accepted:
    namespace: str
    name: str
    outcome: Outcome


class EventConflict(Exception):
    """A Job with this event's name exists but belongs to another event or was not made by us.

    With a 130-bit hash this means someone created the object by hand; retrying cannot help (409).
    """


class Busy(Exception):
    """The Job of this event is being deleted; a redelivery shortly creates a new one (503)."""

    retry_after = 2


class WriteProtocol:
    """Delivers events through a Job and a Secret resource (real or fake apiserver alike)."""

    def __init__(
        self,
        jobs: ObjectClient,
        secrets: ObjectClient,
        index: JobIndex | None = None,
        tracing: Tracing | None = None,
        templates: JobTemplates | None = None,
    ) -> None:
        self._jobs = jobs
        self._templates = templates if templates is not None else JobTemplates()
        self._secrets = secrets
        self._index = index
        self._tracing = tracing or Tracing(None)

    def name_of(self, sink: dict[str, Any], event: CloudEvent) -> str:
        return job_name(sink["metadata"]["name"], event.source, event.id)

    async def deliver(
        self, sink: dict[str, Any], event: CloudEvent, *, deadline: float
    ) -> Accepted:
        """Make sure the Job and Secret of ``event`` exist, on the event loop (its calls are the
        object clients' ``_async`` ones; a thread without a loop drives it with ``asyncio.run``).

        Raises a ``kubeapi.errors.KubeError`` (retryable or not), ``EventConflict`` or ``Busy``;
        after any of them a redelivery of the same event converges on the same single Job and
        Secret.
        """
        namespace = sink["metadata"]["namespace"]
        name = self.name_of(sink, event)
        if await self._already_done(namespace, name, sink, event, deadline):
            return Accepted(namespace, name, Outcome.DUPLICATE)
        trace = tracecontext.of_extensions(event.extra)
        rendered = self._templates.render(sink, event, trace, name)
        job, created = await self._ensure_job(namespace, rendered.job, sink, event, deadline)
        body = secret_owned_by(rendered.secret, name, _uid(job))
        completed = await self._ensure_secret(namespace, body, deadline)
        if completed and not created:
            await self._confirm(namespace, name, _uid(job), deadline)
        self._completed(namespace, name, _uid(job))
        if created:
            return Accepted(namespace, name, Outcome.CREATED)
        return Accepted(namespace, name, Outcome.COMPLETED if completed else Outcome.DUPLICATE)

    async def _already_done(
        self, namespace: str, name: str, sink: dict[str, Any], event: CloudEvent, deadline: float
    ) -> bool:
        """Step 1: True when this event's Job and its Secret are both there."""
        sink_meta = sink["metadata"]
        claim = Claim(
            sink_name=sink_meta["name"],
            sink_uid=str(sink_meta.get("uid") or ""),
            job_name=name,
            source=event.source,
            id=event.id,
        )
        index = self._index
        seen = index.seen(namespace, name, claim) if index is not None else Seen.UNKNOWN
        if index is not None and seen is Seen.CLAIMED:
            # Asked afresh each time, with this JobSink's uid: the Job may since be going away
            # (deletion, or its JobSink replaced).
            if index.completed(namespace, name, claim):
                return True
            secret = await self._secrets.get_async(
                namespace, name, deadline=deadline, cached=True, metadata_only=True
            )
            job_uid = _owner_uid(secret) if secret is not None else None
            if job_uid is None or not index.shows(namespace, name, claim, job_uid):
                return False
        elif seen is Seen.UNKNOWN:
            job = await self._jobs.get_async(
                namespace, name, deadline=deadline, cached=True, metadata_only=True
            )
            if job is None or not self._belongs(job, sink, event):
                return False
            job_uid = _uid(job)
            secret = await self._secrets.get_async(
                namespace, name, deadline=deadline, cached=True, metadata_only=True
            )
            if secret is None or _owner_uid(secret) != job_uid:
                return False
        else:
            return False  # no Job, or not this event's: the create path settles it
        self._completed(namespace, name, job_uid)
        return True

    async def _confirm(self, namespace: str, name: str, job_uid: str, deadline: float) -> None:
        """Step 4: prove the Job this delivery completed still stands (see the module doc)."""
        stored = await self._jobs.annotate_async(
            namespace, name, job_uid, {ANNOTATION_EVENT_STORED: "true"}, deadline=deadline
        )
        if stored is None or (stored.get("metadata") or {}).get("deletionTimestamp"):
            raise Busy(f"job {name} was deleted while its event was being stored; retry")

    def _completed(self, namespace: str, name: str, job_uid: str) -> None:
        if self._index is not None:
            self._index.mark_completed(namespace, name, job_uid)

    async def _ensure_job(
        self,
        namespace: str,
        body: dict[str, Any],
        sink: dict[str, Any],
        event: CloudEvent,
        deadline: float,
    ) -> tuple[dict[str, Any], bool]:
        name = body["metadata"]["name"]
        for _ in range(MAX_ATTEMPTS):
            try:
                with self._tracing.span("create Job", client=True):
                    return await self._jobs.create_async(
                        namespace, body, deadline=deadline, metadata_only=True
                    ), True
            except AlreadyExists:
                pass
            # Taken: by an earlier delivery of this event, or a concurrent one. A live read (not the
            # cache) so that the Secret gets the uid of the Job that exists now.
            existing = await self._jobs.get_async(
                namespace, name, deadline=deadline, metadata_only=True
            )
            if existing is None:
                continue  # deleted between our create and our read: create again
            self._check_belongs(existing, sink, event)
            return existing, False
        raise ServerError(503, "Conflict", f"job {name} keeps changing; retry", retry_after=1)

    async def _ensure_secret(self, namespace: str, body: dict[str, Any], deadline: float) -> bool:
        """True when this call wrote the Secret, False when the Job's own Secret was there."""
        name = body["metadata"]["name"]
        job_uid = body["metadata"]["ownerReferences"][0]["uid"]
        for _ in range(MAX_ATTEMPTS):
            try:
                with self._tracing.span("create Secret", client=True):
                    # Metadata only: the apiserver would otherwise send the whole event back.
                    await self._secrets.create_async(
                        namespace, body, deadline=deadline, answer=False, metadata_only=True
                    )
                return True
            except AlreadyExists:
                pass
            existing = await self._secrets.get_async(
                namespace, name, deadline=deadline, metadata_only=True
            )
            if existing is None:
                continue
            if _owner_uid(existing) == job_uid:
                return False
            # Left over from an earlier Job for this same event; the garbage collector would take
            # it away from the new Job. Replace it, never adopt it.
            await self._secrets.delete_async(namespace, name, uid=_uid(existing), deadline=deadline)
        raise ServerError(503, "Conflict", f"secret {name} keeps changing; retry", retry_after=1)

    def _belongs(self, job: dict[str, Any], sink: dict[str, Any], event: CloudEvent) -> bool:
        try:
            self._check_belongs(job, sink, event)
        except (EventConflict, Busy):
            return False
        return True

    @staticmethod
    def _check_belongs(job: dict[str, Any], sink: dict[str, Any], event: CloudEvent) -> None:
        meta = job.get("metadata") or {}
        annotations = meta.get("annotations") or {}
        labels = meta.get("labels") or {}
        sink_meta = sink["metadata"]
        if (
            annotations.get(ANNOTATION_EVENT_SOURCE) != event.source
            or annotations.get(ANNOTATION_EVENT_ID) != event.id
            or labels.get(LABEL_SINK_NAME) != sink_meta["name"]
        ):
            raise EventConflict(
                f"job {meta.get('name')} exists but was not created for this event of "
                f"JobSink {sink_meta['name']}"
            )
        owners = {ref.get("uid") for ref in meta.get("ownerReferences") or []}
        if meta.get("deletionTimestamp") or (
            sink_meta.get("uid") and sink_meta["uid"] not in owners
        ):
            # Being deleted, or left from a deleted JobSink of the same name: the garbage collector
            # takes it soon, and answering 202 now would lose the event.
            raise Busy(f"job {meta.get('name')} is being deleted; retry shortly")


def _uid(obj: dict[str, Any]) -> str:
    return str(obj["metadata"]["uid"])


def _owner_uid(secret: dict[str, Any]) -> str | None:
    for ref in (secret.get("metadata") or {}).get("ownerReferences") or []:
        if ref.get("kind") == "Job" and ref.get("controller"):
            return str(ref.get("uid"))
    return None
