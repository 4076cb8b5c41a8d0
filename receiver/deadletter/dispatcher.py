"""The dead-letter dispatcher: sends the event of each failed Job to its JobSink's dead-letter sink.

Only the holder of the status Lease sends, so there is one sender at a time. Every receiver
process watches the pending Jobs (``receiver.deadletter.pending``), so a new leader starts at
once from what it already knows; before sending it reads the Job live and skips it when another
leader already recorded an outcome.

For each failed Job, on its own schedule (a sink that is down delays the others' letters by at
most its attempt's ``timeout``, never by its backoff):

1. read the Job live (another leader may have recorded an outcome) and its JobSink from the
   cache;
2. read the event from the Job's Secret once, and build the letter (``receiver.deadletter.letter``);
3. POST it to ``status.deadLetterSinkUri`` (published by the status reconciler), at most
   ``retry + 1`` times, waiting per ``spec.delivery`` (``jobsink.delivery``) in between;
4. record the outcome on the Job (``receiver.deadletter.marks``), count it, and say so in an
   Event on the JobSink: ``DeadLetterDelivered`` or ``DeadLetterGaveUp``.

**At least once.** Step 4 comes after the sink's 2xx, so a process that dies in between leaves
the Job pending and the next leader sends the letter again. A JobSink as dead-letter sink keeps
one Job per (source, id), so the repetition costs nothing there; other sinks see it as a CloudEvents
redelivery of the same id. Attempts are counted in memory: a restart starts the count over.

**Jobs deleted early.** A Job deleted before its letter was sent (``ttlSecondsAfterFinished``
shorter than the retries) is still sent if its Secret was read (the letter is kept in memory) or
is still there; otherwise the loss is reported with ``DeadLetterGaveUp``. Holding the Job with a
finalizer would not hold its event: the TTL controller deletes with foreground propagation, which
removes the Secret first, and it would cost a second write on every Job of such a JobSink.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final, Protocol

from jobsink import types
from jobsink.delivery import RetryPolicy, dead_letter_sink, retry_policy
from jobsink.names import (
    DEAD_LETTER_DELIVERED,
    DEAD_LETTER_GAVE_UP,
    DEAD_LETTER_PENDING,
    EVENT_KEY,
    LABEL_DEAD_LETTER,
)
from kubeapi.calls import Caller
from kubeapi.daemon import Daemon
from kubeapi.errors import KubeError
from kubeapi.informer import Informer
from kubeapi.listwatch import ListWatch
from kubeapi.messages import one_line
from kubeapi.object_client import ObjectClient
from kubeapi.resources import JOBS, SECRETS
from receiver.controller.lease import LeaderElector
from receiver.controller.sinks import SinkCache
from receiver.deadletter.letter import dead_letter
from receiver.deadletter.marks import JobMarks, outcome_of
from receiver.deadletter.pending import PendingJob, PendingJobs
from receiver.deadletter.sender import Answer, Sender
from receiver.metrics import Metrics

log = logging.getLogger(__name__)

CALL_TIMEOUT: Final = 10.0
IDLE_WAIT: Final = 1.0
"""Longest sleep with nothing due: how soon a process that just took the Lease starts sending."""
KUBE_RETRY: Final = 5.0
"""Seconds before a dead letter whose Kubernetes reads or writes failed is tried again."""
SELECTOR: Final = f"{LABEL_DEAD_LETTER}={DEAD_LETTER_PENDING}"
UNRESOLVED: Final = (
    "the dead-letter sink is not resolved (see the JobSink's DeadLetterSinkResolved condition)"
)


class Recorder(Protocol):
    """``receiver.outcomes.events.EventRecorder``'s recording method."""

    async def record(
        self, regarding: dict[str, Any], type_: str, reason: str, note: str
    ) -> None: ...


@dataclass
class Progress:
    """What this process knows of one dead letter: its attempts and when the next is due."""

    job: PendingJob
    due: float
    attempts: int = 0
    letter: bytes | None = None
    last: str = ""
    """The last attempt's answer, for the give-up message."""
    policy: RetryPolicy = field(default_factory=RetryPolicy)


class DeadLetterDispatcher:
    def __init__(
        self,
        caller: Caller,
        cache: SinkCache,
        elector: LeaderElector,
        recorder: Recorder,
        *,
        namespace: str | None = None,
        metrics: Metrics | None = None,
        sender: Sender | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._cache = cache
        self._elector = elector
        self._recorder = recorder
        self._metrics = metrics or Metrics()
        self._sender = sender or Sender()
        self._clock = clock
        self._secrets = ObjectClient(caller, SECRETS)
        self._marks = JobMarks(caller)
        self._wakeup = threading.Event()
        self.pending = PendingJobs(lambda: self._elector.is_leader, self._wakeup.set)
        self.informer = Informer(
            ListWatch(caller, JOBS, namespace, label_selector=SELECTOR),
            name="jobsink-dead-letters",
            store=self.pending,
        )
        self._progress: dict[tuple[str, str], Progress] = {}
        self._daemon = Daemon("jobsink-dead-letter-sender", self._run, interrupt=self._wakeup.set)

    def start(self) -> None:
        self.informer.start()
        self._daemon.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._daemon.stop(timeout)
        self.informer.stop(timeout)
        self._sender.close()

    # -- the loop ------------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._daemon.stopping.is_set():
            self._wakeup.clear()
            wait = IDLE_WAIT
            if self._elector.is_leader and self.informer.synced:
                wait = min(wait, self.run_due())
            self._wakeup.wait(max(wait, 0.01))

    def run_due(self) -> float:
        """Work on every dead letter that is due; seconds until the next one is."""
        now = self._clock()
        jobs = {job.key: job for job in self.pending.snapshot()}
        for key in [key for key in self._progress if key not in jobs]:
            del self._progress[key]
        for key, job in jobs.items():
            known = self._progress.get(key)
            if known is None or known.job.uid != job.uid:
                self._progress[key] = Progress(job, due=now)
        for progress in sorted(self._progress.values(), key=lambda p: p.due):
            if self._daemon.stopping.is_set() or not self._elector.is_leader:
                break
            if progress.due > self._clock():
                continue
            try:
                self._step(progress)
            except KubeError as error:
                progress.due = self._clock() + KUBE_RETRY
                log.warning(
                    "dead letter of Job %s/%s: %s; trying again in %.0fs",
                    progress.job.namespace,
                    progress.job.name,
                    one_line(error),
                    KUBE_RETRY,
                )
            except Exception:
                # A bug or an object shaped unlike we expect must not stop every other letter.
                log.exception("dead letter of Job %s/%s", progress.job.namespace, progress.job.name)
                progress.due = self._clock() + KUBE_RETRY
        upcoming = [p.due for p in self._progress.values()]
        return min(upcoming) - self._clock() if upcoming else IDLE_WAIT

    def _step(self, progress: Progress) -> None:
        job = progress.job
        # Read live before each attempt: a leader before this one may have finished it.
        live = self._marks.read(job.namespace, job.name, job.uid)
        if live is not None and outcome_of(live) != DEAD_LETTER_PENDING:
            self._finish(progress)
            return
        sink = self._cache.watched(job.namespace, job.sink)
        if sink is None or dead_letter_sink(sink) is None:
            what = "is gone" if sink is None else "no longer has a dead-letter sink"
            self._give_up(progress, sink, f"the JobSink {job.sink} {what}")
            return
        progress.policy = retry_policy((sink.get("spec") or {}).get("delivery"))
        if progress.letter is None:
            letter = self._letter(job, sink)
            if isinstance(letter, str):
                self._give_up(progress, sink, letter)
                return
            progress.letter = letter
        status = sink.get("status") or {}
        url = status.get("deadLetterSinkUri")
        progress.attempts += 1
        if not isinstance(url, str) or not url:
            answer, detail = Answer.RETRY, UNRESOLVED
        else:
            attempt = self._sender.send(
                url,
                progress.letter,
                timeout=progress.policy.timeout,
                ca_certs=status.get("deadLetterSinkCACerts"),
            )
            answer, detail = attempt.answer, f"{url}: {attempt.detail}"
        progress.last = detail
        if answer is Answer.DELIVERED:
            self._delivered(progress, sink, str(url))
        elif answer is Answer.REFUSED or progress.attempts >= progress.policy.attempts:
            self._give_up(progress, sink, f"after {progress.attempts} attempt(s), {detail}")
        else:
            delay = progress.policy.delay_before(progress.attempts)
            progress.due = self._clock() + delay
            log.info(
                "dead letter of Job %s/%s not delivered (%s); retry %d of %d in %.1fs",
                job.namespace,
                job.name,
                detail,
                progress.attempts,
                progress.policy.retry,
                delay,
            )

    def _letter(self, job: PendingJob, sink: dict[str, Any]) -> bytes | str:
        """The letter, or why there can be none (a message for the give-up Event)."""
        secret = self._secrets.get(job.namespace, job.name, deadline=self._clock() + CALL_TIMEOUT)
        owners = ((secret or {}).get("metadata") or {}).get("ownerReferences") or []
        if secret is None or not any(ref.get("uid") == job.uid for ref in owners):
            return (
                f"the event of Job {job.name} is no longer stored (its Secret is gone: was the "
                "Job deleted, by its ttlSecondsAfterFinished for example, before its dead letter "
                "was sent?)"
            )
        address = ((sink.get("status") or {}).get("address") or {}).get("url") or ""
        try:
            stored = base64.b64decode((secret.get("data") or {})[EVENT_KEY], validate=True)
            return dead_letter(stored, str(address), job.failure)
        except Exception as error:  # undecodable base64, not JSON, not a CloudEvent
            return f"the stored event of Job {job.name} cannot be read: {error}"

    # -- outcomes ------------------------------------------------------------------------------

    def _delivered(self, progress: Progress, sink: dict[str, Any], url: str) -> None:
        job = progress.job
        self._mark(job, DEAD_LETTER_DELIVERED, url)
        self._metrics.dead_letters_delivered.labels(job.namespace, job.sink).inc()
        note = f"Sent the event of failed Job {job.name} to {url}"
        log.info("dead letter of Job %s/%s delivered to %s", job.namespace, job.name, url)
        self._record(sink, job, "Normal", "DeadLetterDelivered", note)
        self._finish(progress)

    def _give_up(self, progress: Progress, sink: dict[str, Any] | None, why: str) -> None:
        job = progress.job
        self._mark(job, DEAD_LETTER_GAVE_UP, why)
        self._metrics.dead_letters_failed.labels(job.namespace, job.sink).inc()
        note = f"Gave up the dead letter of failed Job {job.name}: {why}"
        log.warning("dead letter of Job %s/%s given up: %s", job.namespace, job.name, why)
        self._record(sink, job, "Warning", "DeadLetterGaveUp", note)
        self._finish(progress)

    def _mark(self, job: PendingJob, outcome: str, detail: str) -> None:
        if not self._marks.mark(job.namespace, job.name, job.uid, outcome, detail):
            log.info(
                "Job %s/%s not marked %s: it is gone, or already shows an outcome",
                job.namespace,
                job.name,
                outcome,
            )

    def _finish(self, progress: Progress) -> None:
        self.pending.done(progress.job)
        self._progress.pop(progress.job.key, None)

    def _record(
        self, sink: dict[str, Any] | None, job: PendingJob, type_: str, reason: str, note: str
    ) -> None:
        meta = (sink or {}).get("metadata") or {}
        regarding = {
            "apiVersion": types.API_VERSION,
            "kind": types.KIND,
            "metadata": {"namespace": job.namespace, "name": job.sink, "uid": meta.get("uid")},
        }
        try:
            asyncio.run(self._recorder.record(regarding, type_, reason, note))
        except Exception:
            # An Event is a hint for people; the outcome is already on the Job and in the metrics.
            log.exception("recording %s for JobSink %s/%s", reason, job.namespace, job.sink)
