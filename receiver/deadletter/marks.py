"""Recording on a Job that its dead letter is done: the one write that makes delivery resumable.

A merge patch of the Job's ``sinks.knative.dev/dead-letter`` label (``delivered`` or ``gave-up``,
which takes it out of the dispatcher's watch) and annotation (``<outcome> <time>: <detail>``),
with the Job's uid and the resourceVersion just read as preconditions. A conflict means the Job
changed in between (the job controller writes its status): it is read again, and the patch is
not repeated when the Job already shows an outcome (another leader finished it first).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any, Final

from jobsink.names import ANNOTATION_DEAD_LETTER, DEAD_LETTER_PENDING, LABEL_DEAD_LETTER
from kubeapi.calls import Caller
from kubeapi.errors import Conflict, NotFound
from kubeapi.raw import MERGE_PATCH
from kubeapi.resources import JOBS, path

CALL_TIMEOUT: Final = 10.0
CONFLICT_RETRIES: Final = 5
MAX_DETAIL: Final = 512


def outcome_of(job: dict[str, Any] | None) -> str | None:
    """The Job's dead-letter label: ``pending``, ``delivered``, ``gave-up``, or None."""
    labels = ((job or {}).get("metadata") or {}).get("labels") or {}
    value = labels.get(LABEL_DEAD_LETTER)
    return str(value) if value is not None else None


def annotation(outcome: str, detail: str, now: datetime) -> str:
    stamp = now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"{outcome} {stamp}: {detail}"[:MAX_DETAIL]


class JobMarks:
    def __init__(self, caller: Caller) -> None:
        self._caller = caller

    def read(self, namespace: str, name: str, uid: str) -> dict[str, Any] | None:
        """The Job with ``uid``, live; None when it is gone or was replaced by a namesake."""
        try:
            job = self._caller.call(
                "get_job",
                "GET",
                path(JOBS, namespace, name),
                deadline=time.monotonic() + CALL_TIMEOUT,
            )
        except NotFound:
            return None
        return job if (job.get("metadata") or {}).get("uid") == uid else None

    def mark(self, namespace: str, name: str, uid: str, outcome: str, detail: str) -> bool:
        """Record ``outcome`` on the Job; False when the Job is gone or already showed one."""
        for _ in range(CONFLICT_RETRIES):
            job = self.read(namespace, name, uid)
            if job is None or outcome_of(job) not in (DEAD_LETTER_PENDING, None):
                return False
            body = {
                "metadata": {
                    "uid": uid,
                    "resourceVersion": job["metadata"]["resourceVersion"],
                    "labels": {LABEL_DEAD_LETTER: outcome},
                    "annotations": {
                        ANNOTATION_DEAD_LETTER: annotation(outcome, detail, datetime.now(UTC))
                    },
                }
            }
            try:
                self._caller.call(
                    "patch_job",
                    "PATCH",
                    path(JOBS, namespace, name),
                    body=body,
                    content_type=MERGE_PATCH,
                    deadline=time.monotonic() + CALL_TIMEOUT,
                )
            except NotFound:
                return False
            except Conflict:
                continue
            return True
        raise Conflict(409, "Conflict", f"Job {namespace}/{name} kept changing")
