"""The optional server-side dry-run step of validation, with a deadline.

Outcomes, and why:
- the apiserver refuses the Job (4xx): deny, because every event would otherwise produce a Job the
  cluster refuses. Each of the apiserver's causes that names a field of the Job is reported at
  that field inside the JobSink (``spec.template...`` of the Job is ``spec.job.spec.template...``
  of the JobSink), one error per cause, in the apiserver's words; a refusal that names no field
  (a quota, a policy) is reported on ``spec.job``;
- the dry-run cannot be completed (timeout, 5xx, 429, connection error): allow with a warning.
  Local validation already passed; denying would make every JobSink write depend on a second
  round trip, and the warning says the check was skipped, so this is never a silent fail-open;
- ``dryRun: true`` admission requests run it too: a dry-run has no side effects either.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from typing import Any

from kubernetes import client

from jobsink.defaults import default
from jobsink.render import dry_run_job
from jobsink.validation import FieldError
from kubeapi import dryrun
from kubeapi.errors import Conflict, KubeError

log = logging.getLogger(__name__)

#: Answers that say "try later" rather than "this Job is wrong".
UNAVAILABLE = frozenset({408, 429})

#: Where the rendered Job sits in its JobSink: the Job's ``spec`` and ``metadata`` come from there.
JOB_PATH = "spec.job"
REFUSED = "the apiserver refused a dry-run create of the Job"


@dataclass(frozen=True)
class Verdict:
    errors: list[FieldError] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class DryRun:
    """Dry-run creates the Job a JobSink renders, in the JobSink's namespace."""

    def __init__(self, api: client.ApiClient, *, timeout: float) -> None:
        self.api = api
        self.timeout = timeout

    async def check(self, sink: dict[str, Any], namespace: str) -> Verdict:
        job = dry_run_job(default(sink))
        try:
            # The client is synchronous; the thread gets the same deadline so it ends too.
            await asyncio.wait_for(
                asyncio.to_thread(
                    dryrun.create_job, self.api, namespace, job, timeout=self.timeout
                ),
                self.timeout + 0.25,
            )
        except Conflict:  # the placeholder name exists; the Job itself was accepted
            return Verdict()
        except KubeError as error:
            if error.retryable or error.status >= 500 or error.status in UNAVAILABLE:
                return self._skipped(str(error))
            return Verdict(errors=refusal_errors(error))
        except TimeoutError as error:
            return self._skipped(f"{type(error).__name__}: {error}".rstrip(": "))
        return Verdict()

    def _skipped(self, why: str) -> Verdict:
        log.warning("server-side dry-run skipped", extra={"error": why})
        return Verdict(
            warnings=[f"server-side dry-run of the Job skipped ({why}); local checks passed"]
        )


def refusal_errors(error: KubeError) -> list[FieldError]:
    """The JobSink's field errors for the apiserver's refusal of its Job: one per cause that
    names a field, at that field under ``spec.job``; the causes that name none on ``spec.job``;
    and when no cause names a field, the whole message on ``spec.job``."""
    fielded = [c for c in error.causes if c.field]
    if not fielded:
        return [FieldError(JOB_PATH, f"{REFUSED}: {error.message}")]
    errors = [FieldError(f"{JOB_PATH}.{c.field}", f"{REFUSED}: {c.message}") for c in fielded]
    errors += [
        FieldError(JOB_PATH, f"{REFUSED}: {c.message}")
        for c in error.causes
        if not c.field and c.message
    ]
    return errors
