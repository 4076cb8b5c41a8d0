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
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any

from jobsink.names import LABEL_SINK_ID
from kubeapi.daemon import Daemon
from kubeapi.errors import KubeError
from kubeapi.object_client import ObjectClient
from receiver.metrics import Metrics

log = logging.getLogger(__name__)

CALL_TIMEOUT = 30.0


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
    ) -> None:
        self._jobs = jobs
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
        deadline = time.monotonic() + CALL_TIMEOUT
        # Metadata only: a full Secret list would carry every stored event (up to 1 MiB each).
        secrets = self._secrets.list_metadata(self._namespace, LABEL_SINK_ID, deadline=deadline)
        owned = {
            (meta["namespace"], meta["name"], ref.get("uid"))
            for secret in secrets
            for meta in [secret["metadata"]]
            for ref in meta.get("ownerReferences") or []
            if ref.get("kind") == "Job"
        }
        jobs = self._jobs.list_metadata(self._namespace, LABEL_SINK_ID, deadline=deadline)
        swept = []
        for job in jobs:
            meta = job["metadata"]
            key = (meta["namespace"], meta["name"], meta["uid"])
            if key in owned or meta.get("deletionTimestamp") or not self._old(meta, now):
                continue
            if not self._orphan(meta, deadline):
                continue
            if self._jobs.delete(
                meta["namespace"],
                meta["name"],
                uid=meta["uid"],
                resource_version=meta["resourceVersion"],
                deadline=deadline,
            ):
                self._swept.inc()
                swept.append((meta["namespace"], meta["name"]))
                log.info(
                    "deleted a Job whose event Secret never arrived",
                    extra={"namespace": meta["namespace"], "job": meta["name"]},
                )
        return swept

    def _old(self, meta: dict[str, Any], now: datetime) -> bool:
        created = datetime.fromisoformat(str(meta["creationTimestamp"]).replace("Z", "+00:00"))
        return (now - created).total_seconds() > self._grace

    def _orphan(self, meta: dict[str, Any], deadline: float) -> bool:
        """Confirmed with a live read: the list came from the apiserver's cache."""
        secret = self._secrets.get(meta["namespace"], meta["name"], deadline=deadline)
        if secret is None:
            return True
        refs = secret["metadata"].get("ownerReferences") or []
        return not any(ref.get("uid") == meta["uid"] for ref in refs)
