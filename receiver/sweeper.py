"""The sweeper: deletes Jobs whose event Secret never arrived.

Such a Job is what a delivery leaves when it fails between its two writes (crash, timeout, API
error). Its sender got a 5xx and normally redelivers, which completes the Job. If it never does,
the Job's Pod waits forever for its Secret volume; after ``grace`` seconds the sweeper deletes the
Job (uid precondition, so a newer Job of the same name is never touched; resourceVersion
precondition from before the Secret check, so a redelivery that completed the Job in between,
which annotates it, wins: see ``receiver.protocol``, step 4). ``grace`` is far longer
than any request deadline, so a delivery still in progress is never swept from under itself.

Secrets stranded without their Job need no sweeper: each is owned by its Job, so the garbage
collector deletes it with the Job, and the write protocol replaces (never adopts) one found under
a new Job of the same name.

Every replica may sweep: each deletion is guarded by the Job's uid and re-checks the Secret with a
live read first, so doing it twice is harmless.

A pass reads the metadata of the Jobs and of the Secrets side by side, in pages, and keeps one
page of each: a paginated list comes in key order (``namespace/name``; each continue token
resumes after the last key), and a Job and its Secret share that key, so walking both lists
together is a merge, and a cluster of a million Jobs costs no more memory than one of ten. Each
page and each call has its own timeout, so the size of the cluster never runs a pass out of
time. Should a list ever come out of order, the Jobs whose Secret the walk missed only cost the
live read that every deletion makes anyway (and a warning says so).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from jobsink.names import LABEL_SINK_ID
from kubeapi.daemon import Daemon
from kubeapi.errors import KubeError
from kubeapi.listwatch import Listing, ListWatch, Pager
from kubeapi.object_client import ObjectClient
from receiver.metrics import Metrics

log = logging.getLogger(__name__)

CALL_TIMEOUT = 30.0
"""Seconds for one call: a page of a list, a read, a delete."""
PAGE_SIZE = 100
"""Objects per list page; a page of Jobs and one of Secrets are held at once. A page of 500 Jobs'
metadata is about 0.6 MB of JSON and 3 MB once parsed, on top of whatever load the receiver is
under; a background pass once a minute has no hurry, so it takes smaller pages."""


class SecretOwners:
    """Walks the Secrets' metadata in key order, alongside the Jobs' in the same order, and
    tells which Jobs own the Secret of their name."""

    def __init__(self, secrets: Iterable[dict[str, Any]]) -> None:
        self._secrets: Iterator[dict[str, Any]] = iter(secrets)
        self._at: tuple[str, dict[str, Any]] | None = None
        self._last_job = ""
        self.out_of_order = False
        """A Job came before the one asked about last: the walk may have passed its Secret."""
        self._next()

    def owns(self, meta: dict[str, Any]) -> bool:
        """True when the Secret of ``meta``'s name is owned by that very Job (its uid)."""
        key = _key(meta)
        if key < self._last_job:
            self.out_of_order = True
        self._last_job = key
        while self._at is not None and self._at[0] < key:
            self._next()
        if self._at is None or self._at[0] != key:
            return False
        refs = self._at[1].get("ownerReferences") or []
        return any(ref.get("kind") == "Job" and ref.get("uid") == meta["uid"] for ref in refs)

    def _next(self) -> None:
        previous = self._at[0] if self._at is not None else ""
        secret = next(self._secrets, None)
        if secret is None:
            self._at = None
            return
        meta = secret["metadata"]
        self._at = (_key(meta), meta)
        if self._at[0] < previous:
            self.out_of_order = True


def _key(meta: dict[str, Any]) -> str:
    # The order of the apiserver's storage keys (neither part may hold a "/").
    return f"{meta['namespace']}/{meta['name']}"


class Sweeper:
    def __init__(
        self,
        jobs: ObjectClient,
        secrets: ObjectClient,
        *,
        interval: float,
        grace: float,
        namespace: str | None = None,
        metrics: Metrics | None = None,
        page_size: int = PAGE_SIZE,
    ) -> None:
        self._jobs = jobs
        self._page_size = page_size
        self._secrets = secrets
        self._interval = interval
        self._grace = grace
        self._namespace = namespace
        self._swept = (metrics or Metrics()).jobs_swept
        self._daemon = Daemon("jobsink-sweeper", self._run)
        self._stopping = self._daemon.stopping

    def start(self) -> None:
        if self._interval > 0:
            self._daemon.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._daemon.stop(timeout)

    def _run(self) -> None:
        while not self._stopping.wait(self._interval):
            try:
                self.sweep()
            except KubeError as error:
                log.warning("sweep failed", extra={"error": str(error)})
            except Exception:
                # Anything else (an object shaped unlike we expect, a bug) must not end the thread:
                # no sweep would ever run again, and nothing would say so.
                log.exception("sweep failed")

    def sweep(self, now: datetime | None = None) -> list[tuple[str, str]]:
        """One pass; returns the (namespace, name) of the Jobs it deleted."""
        now = now or datetime.now(UTC)
        # Metadata only: a full Secret list would carry every stored event (up to 1 MiB each).
        jobs = Listing(self._lister(self._jobs), self._page_size)
        owners = SecretOwners(Listing(self._lister(self._secrets), self._page_size))
        swept = []
        for job in jobs:
            meta = job["metadata"]
            if meta.get("deletionTimestamp") or not self._old(meta, now) or owners.owns(meta):
                continue
            if not self._orphan(meta):
                continue
            if self._jobs.delete(
                meta["namespace"],
                meta["name"],
                uid=meta["uid"],
                resource_version=meta["resourceVersion"],
                deadline=time.monotonic() + CALL_TIMEOUT,
            ):
                self._swept.inc()
                swept.append((meta["namespace"], meta["name"]))
                log.info(
                    "deleted a Job whose event Secret never arrived",
                    extra={"namespace": meta["namespace"], "job": meta["name"]},
                )
        if owners.out_of_order:
            log.warning(
                "sweep: a list came out of key order; Jobs whose Secret the walk missed were "
                "checked with a read each",
                extra={"jobs": jobs.count},
            )
        return swept

    def _lister(self, objects: ObjectClient) -> Pager:
        return ListWatch(
            objects.caller,
            objects.resource,
            self._namespace,
            label_selector=LABEL_SINK_ID,
            metadata_only=True,
            list_timeout=CALL_TIMEOUT,
        )

    def _old(self, meta: dict[str, Any], now: datetime) -> bool:
        created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
        return (now - created).total_seconds() > self._grace

    def _orphan(self, meta: dict[str, Any]) -> bool:
        """Confirmed with a live read: the Secret may have been written after its list passed
        by."""
        secret = self._secrets.get(
            meta["namespace"], meta["name"], deadline=time.monotonic() + CALL_TIMEOUT
        )
        if secret is None:
            return True
        refs = secret["metadata"].get("ownerReferences") or []
        return not any(ref.get("uid") == meta["uid"] for ref in refs)
