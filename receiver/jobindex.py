"""A watch-backed index of the Jobs JobSinks created: what makes duplicates and new events cheap.

It lists and watches the metadata of the Jobs labelled ``sinks.knative.dev/job-sink-id``
(``PartialObjectMetadata``: no spec, no status) in pages, and keeps of each Job only a 60-bit
key and a 128-bit fingerprint of what the write protocol checks (``receiver.jobdigest``): about
150 bytes of RSS per Job (docs/benchmarks.md, "Job index"), with no string, dict or tuple per Job.

With it, a new event skips the read-only duplicate check (the index says there is no Job: go
straight to create, where a stale index only means a 409), and a redelivery of an event this
process completed costs no call at all: the index still shows the very Job (same uid) that this
process saw its Secret attached to. A Job deleted since drops out of the index, and with it the
shortcut.

``synced`` here is the informer's ``current``, not its ``synced``: a store that may have missed a
deletion would answer "duplicate, nothing to do" for an event whose Job is gone, and the event
would be lost. So from any failure until the watch is open again (or the list is done, after a
410), the protocol reads the apiserver instead. A re-list after every watch failure is not
needed for that: resuming the watch from the last resourceVersion misses nothing (the apiserver
replays since that version or answers 410), and costs no list of every Job.

**The bound.** The index holds at most ``max_entries`` Jobs (``JOBSINK_RECEIVER_INDEX_MAX_ENTRIES``,
default 2,000,000: about 300 MiB). Past it, it is ``bounded``: it keeps following the Jobs it
holds but takes no new ones, so "not in the index" no longer means "no such Job", and for such a
name it answers ``UNKNOWN``: the protocol then reads the apiserver as it does without an index
(correct, one read more per event). A warning says so once. When deletions have taken it below
90% of the bound it lists again, and is complete again if the Jobs now fit.
"""

from __future__ import annotations

import enum
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Any

from jobsink.names import LABEL_SINK_ID
from kubeapi.informer import Informer, Source
from kubeapi.listwatch import ListWatch
from kubeapi.object_client import ObjectClient
from receiver.jobdigest import Claim, fingerprint, job_key, uid_digest

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 2_000_000
PAGE_SIZE = 500
"""Jobs per list page (client-go's default too). Measured with 100,000 Jobs: RSS per indexed Job
rises with the page size (220 B at 250, 281 at 500, 362 at 1,000, 650 at 2,000: a page in flight
leaves its high-water mark behind), and time to ready falls only a little (12.4, 11.2, 10.2,
8.8 s)."""
RELIST_BELOW = 0.9
"""A bounded index lists again once deletions have taken it below this share of its bound."""


class Seen(enum.Enum):
    """What the index says about the Job of one event's name."""

    NO_JOB = "no-job"
    """The index is complete and current, and holds no Job of that name."""
    CLAIMED = "claimed"
    """A Job of that name that belongs to the event (its uid is not known yet)."""
    OTHER = "other"
    """A Job of that name that does not: another event's, being deleted, or of a replaced
    JobSink."""
    UNKNOWN = "unknown"
    """Not current, or bounded and the name not among its entries: ask the apiserver."""


class JobDigests:
    """The index's ``kubeapi.informer.Store``: key to fingerprint, up to ``max_entries``."""

    def __init__(self, max_entries: int, *, relist: Callable[[], None]) -> None:
        self.max_entries = max_entries
        self._relist = relist
        self._entries: dict[int, int] = {}
        self.bounded = False
        """Some Job was left out for want of room: a missing name proves nothing."""
        self._relist_asked = False

    def get(self, namespace: str, name: str) -> int | None:
        return self._entries.get(job_key(namespace, name))

    def __len__(self) -> int:
        return len(self._entries)

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        # Emptied first, not swapped at the end: the informer is not current while it lists,
        # so nothing trusts the old entries meanwhile, and a big cluster then needs room for
        # one set of entries, not two.
        was_bounded, self.bounded, self._relist_asked = self.bounded, False, False
        self._entries = {}
        for obj in objects:
            self.put(obj)
        if was_bounded and not self.bounded:
            log.info("job index: back within its bound, %d entries", len(self._entries))

    def put(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = job_key(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        entries = self._entries
        if key not in entries and len(entries) >= self.max_entries:
            if not self.bounded:
                self.bounded = True
                log.warning(
                    "job index: full at %d entries (JOBSINK_RECEIVER_INDEX_MAX_ENTRIES); "
                    "Jobs past it are not indexed, and events whose Job is not indexed are "
                    "checked against the apiserver",
                    self.max_entries,
                )
            return
        entries[key] = fingerprint(meta)

    def remove(self, obj: dict[str, Any]) -> None:
        meta = obj.get("metadata") or {}
        key = job_key(str(meta.get("namespace") or ""), str(meta.get("name") or ""))
        self._entries.pop(key, None)
        if (
            self.bounded
            and not self._relist_asked
            and len(self._entries) < self.max_entries * RELIST_BELOW
        ):
            self._relist_asked = True
            self._relist()


class JobIndex:
    def __init__(
        self,
        jobs: ObjectClient,
        *,
        namespace: str | None = None,
        watch_timeout: int = 300,
        max_backoff: float = 30.0,
        completed_size: int = 100_000,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        page_size: int = PAGE_SIZE,
        source: Source | None = None,
    ) -> None:
        """``source`` defaults to a metadata-only list/watch of ``jobs``; tests pass a fake."""
        self.digests = JobDigests(max_entries, relist=lambda: self.informer.relist())
        self.informer = Informer(
            source
            or ListWatch(
                jobs.caller,
                jobs.resource,
                namespace or None,
                label_selector=LABEL_SINK_ID,
                metadata_only=True,
            ),
            name="jobsink-job-index",
            store=self.digests,
            page_size=page_size,
            watch_timeout=watch_timeout,
            max_backoff=max_backoff,
        )
        self._completed: OrderedDict[int, int] = OrderedDict()
        """Key to uid digest of the Jobs this process saw get their Secret, newest last."""
        self._completed_size = completed_size
        self._lock = threading.Lock()

    # -- what the write protocol asks ---------------------------------------------------------

    @property
    def synced(self) -> bool:
        """True while the index is known to miss no change (see the module doc)."""
        return self.informer.current

    @property
    def bounded(self) -> bool:
        """True while some Job is left out for want of room (see the module doc)."""
        return self.digests.bounded

    def seen(self, namespace: str, name: str, claim: Claim) -> Seen:
        if not self.synced:
            return Seen.UNKNOWN
        found = self.digests.get(namespace, name)
        if found is None:
            return Seen.UNKNOWN if self.digests.bounded else Seen.NO_JOB
        return Seen.CLAIMED if claim.matches(found) else Seen.OTHER

    def shows(self, namespace: str, name: str, claim: Claim, job_uid: str) -> bool:
        """True when the index shows the Job with ``job_uid`` standing as ``claim``'s."""
        found = self.digests.get(namespace, name) if self.synced else None
        return found is not None and claim.matches(found, uid_digest(job_uid))

    def completed(self, namespace: str, name: str, claim: Claim) -> bool:
        """True when this process saw the Job the index shows as ``claim``'s get its Secret."""
        found = self.digests.get(namespace, name) if self.synced else None
        with self._lock:
            uid = self._completed.get(job_key(namespace, name))
        return found is not None and uid is not None and claim.matches(found, uid)

    def mark_completed(self, namespace: str, name: str, job_uid: str) -> None:
        key = job_key(namespace, name)
        with self._lock:
            self._completed[key] = uid_digest(job_uid)
            self._completed.move_to_end(key)
            while len(self._completed) > self._completed_size:
                self._completed.popitem(last=False)

    def __len__(self) -> int:
        return len(self.digests)

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.informer.stop(timeout)
