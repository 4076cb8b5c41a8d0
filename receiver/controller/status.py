"""The JobSink status reconciler: publishes each JobSink's address, selector, applying
EventPolicies and conditions.

It runs inside every receiver process, reads JobSinks from the shared watch cache (so it costs no
extra watch), and writes only while its process holds the status Lease. A write is a merge patch of
the owned status keys, sent only when they differ from what is stored, with the read
resourceVersion as precondition: a conflict means someone changed the JobSink, so it is read again
and the patch recomputed. Its own write comes back through the watch, finds nothing to change and
stops there, so there are no write loops; a second writer that keeps changing the status back is
held off by ``receiver.controller.storms``.

EventPolicies come from their own watch (``receiver.auth.policy_cache``); when a namespace's
policies change, every JobSink of that namespace is queued, and those whose status does not
change stop at the comparison.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Literal

from jobsink.lifecycle import spec_problems, status_patch
from kubeapi.addressables import Addressables
from kubeapi.calls import Caller
from kubeapi.errors import Conflict
from kubeapi.jobsinks import JobSinks
from kubeapi.leases import Leases
from kubeapi.messages import one_line
from kubeapi.transport import Api
from receiver.auth.policy_status import SinkPolicyStatus
from receiver.controller.addressing import addressing_from, with_audiences
from receiver.controller.destinations import RETRY_UNRESOLVED, DestinationResolver
from receiver.controller.lease import LeaderElector
from receiver.controller.sinks import Key, SinkCache
from receiver.controller.storms import StormGuard
from receiver.metrics import Metrics
from receiver.outcomes.events import WARNING, EventRecorder
from receiver.settings import ServerSettings, StatusSettings

log = logging.getLogger(__name__)

CONFLICT_RETRIES = 5

Outcome = Literal["updated", "unchanged", "gone"]


class PoliciesNotLoaded(Exception):
    """The EventPolicies are not listed yet: the status would say nothing true about them."""


def _problems(sink: dict[str, Any]) -> list[str]:
    """The spec's problems; a crash in validation must not stop the address being published."""
    try:
        return spec_problems(sink)
    except Exception:
        metadata = sink.get("metadata") or {}
        log.exception(
            "validating JobSink %s/%s failed", metadata.get("namespace"), metadata.get("name")
        )
        return []


class StatusReconciler:
    """Keeps ``.status`` of every cached JobSink right, while this process leads.

    ``server`` is the listeners, whose ``transport_encryption`` decides the published addresses
    (None: plain HTTP); ``ca_certs`` is published with https addresses, and replaced by
    ``publish_ca_certs`` when the certificates rotate. ``audiences``: authentication is on, so
    every address carries the JobSink's OIDC audience. The Lease elector and storm guard it makes
    itself count on its ``metrics``; ones handed in keep their own.
    """

    def __init__(
        self,
        api_client: Api,
        cache: SinkCache,
        settings: StatusSettings,
        identity: str | None = None,
        *,
        server: ServerSettings | None = None,
        ca_certs: str | None = None,
        audiences: bool = False,
        resync_every: float = 600.0,
        max_backoff: float = 60.0,
        policies: SinkPolicyStatus | None = None,
        workers: int = 4,
        jobsinks: JobSinks | None = None,
        elector: LeaderElector | None = None,
        storms: StormGuard | None = None,
        metrics: Metrics | None = None,
        resolver: DestinationResolver | None = None,
        recorder: EventRecorder | None = None,
    ) -> None:
        """``policies``: the EventPolicies part of the status (None: not published)."""
        metrics = metrics or Metrics()
        self._recorder = recorder or EventRecorder(None, metrics=metrics)
        self._reconciles = metrics.status_reconciles
        lease = settings.lease  # its settings ensure renew_seconds < duration_seconds
        self._jobsinks = jobsinks or JobSinks(api_client)
        self._cache = cache
        self._resolver = resolver or DestinationResolver(cache, Addressables(Caller(api_client)))
        addressing = addressing_from(settings, server, ca_certs)
        self.addressing = with_audiences(addressing) if audiences else addressing
        self.elector = elector or LeaderElector(
            Leases(api_client, lease.namespace or settings.system_namespace),
            lease.name,
            identity,
            duration=lease.duration_seconds,
            renew_every=lease.renew_seconds,
            metrics=metrics,
        )
        self._resync_every = resync_every
        self._max_backoff = max_backoff
        self._ready: set[Key] = set()
        self._delayed: dict[Key, float] = {}
        self._failures: dict[Key, int] = {}
        self._unresolved: set[Key] = set()
        """JobSinks whose dead-letter sink did not resolve: tried again after a while."""
        self._storms = storms or StormGuard(max_hold=max_backoff, metrics=metrics)
        self._wakeup = threading.Condition()
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._processing: set[Key] = set()
        self._workers = workers
        self._next_resync = time.monotonic() + resync_every
        cache.subscribe(self._sink_changed)
        self._policies = policies
        if policies is not None:
            policies.policies.subscribe(self._policies_changed)
        self.elector.on_change(self._leadership_changed)

    def start(self) -> None:
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._run, name=f"jobsink-status-{i}", daemon=True)
            for i in range(self._workers)
        ]
        for thread in self._threads:
            thread.start()
        self.elector.start()

    def stop(self, timeout: float = 5.0, *, release: bool = True) -> None:
        """Stop writing, then leave the election (handing the Lease on unless ``release=False``)."""
        self._stopping.set()
        with self._wakeup:
            self._wakeup.notify_all()
        for thread in self._threads:
            thread.join(timeout)
        self._threads = []
        self.elector.stop(timeout, release=release)

    def enqueue(self, key: Key) -> None:
        """Ask for ``key`` to be reconciled; repeated asks before it runs collapse into one."""
        with self._wakeup:
            self._delayed.pop(key, None)
            self._ready.add(key)
            self._wakeup.notify()

    def _policies_changed(self, namespace: str | None) -> None:
        for key in self._cache.sink_keys():
            if namespace is None or key[0] == namespace:
                self.enqueue(key)

    def publish_ca_certs(self, ca_certs: str | None) -> None:
        """New CA certificates for the https addresses: every JobSink's status is written again,
        so senders learn of a new CA before the serving certificate it signs is installed."""
        self.addressing = replace(self.addressing, ca_certs=ca_certs)
        for key in self._cache.sink_keys():
            self.enqueue(key)

    def _sink_changed(self, key: Key) -> None:
        self.enqueue(key)
        # A JobSink that is another's dead-letter sink may have just got (or lost) its address.
        for referrer in self._resolver.referrers_of(key):
            self.enqueue(referrer)

    def _leadership_changed(self, leading: bool) -> None:
        if leading:
            # Whatever happened while another process led (or nobody did) is caught up here.
            for key in self._cache.sink_keys():
                self.enqueue(key)

    def _run(self) -> None:
        while not self._stopping.is_set():
            key = self._next()
            if key is None:
                continue
            try:
                self._process(key)
            finally:
                with self._wakeup:
                    self._processing.discard(key)
                    if key in self._ready:
                        self._wakeup.notify()

    def _next(self) -> Key | None:
        """The next key no other worker holds, or None when stop was asked first. Also the
        periodic resync: whichever worker wakes for it queues every cached JobSink."""
        with self._wakeup:
            while not self._stopping.is_set():
                now = time.monotonic()
                if now >= self._next_resync:
                    self._next_resync = now + self._resync_every
                    self._ready.update(self._cache.sink_keys())
                for due_key in [k for k, due in self._delayed.items() if due <= now]:
                    del self._delayed[due_key]
                    self._ready.add(due_key)
                # A key being reconciled stays queued until its worker is done with it.
                free = next((k for k in self._ready if k not in self._processing), None)
                if free is not None:
                    self._ready.discard(free)
                    self._processing.add(free)
                    return free
                wake = min([self._next_resync, *self._delayed.values()])
                self._wakeup.wait(max(0.0, wake - now))
        return None

    def _process(self, key: Key) -> None:
        if not self.elector.is_leader:
            return  # the next leader queues every JobSink when it takes over
        held_until = self._storms.held_until(key)
        if held_until is not None:
            self._defer(key, held_until)
            return
        try:
            outcome = self.reconcile(key)
        except Exception as error:
            self._reconciles.labels("error").inc()
            delay = self._retry_later(key)
            self._recorder.emit(
                self._reference(key), WARNING, "StatusNotWritten", one_line(error)[:300]
            )
            log.warning(
                "status of JobSink %s/%s not written (%s); retrying in %.1fs",
                *key,
                one_line(error),
                delay,
            )
            return
        self._failures.pop(key, None)
        if outcome == "updated":
            self._storms.written(key)
        elif outcome == "gone":
            self._storms.forget(key)
            self._resolver.forget(key)
            self._unresolved.discard(key)
        if key in self._unresolved:
            self._defer(key, time.monotonic() + RETRY_UNRESOLVED)

    def _reference(self, key: Key) -> dict[str, Any]:
        """The JobSink of ``key`` as the cache has it, else a reference without uid."""
        sink = self._cache.watched(*key)
        return (
            sink if sink is not None else {"kind": "JobSink", "namespace": key[0], "name": key[1]}
        )

    def _retry_later(self, key: Key) -> float:
        failures = self._failures[key] = self._failures.get(key, 0) + 1
        delay: float = min(0.5 * 2.0 ** (failures - 1), self._max_backoff)
        self._defer(key, time.monotonic() + delay)
        return delay

    def _defer(self, key: Key, due: float) -> None:
        """Reconcile ``key`` at ``due`` (monotonic), unless something asks for it sooner."""
        with self._wakeup:
            if key not in self._ready:
                self._delayed[key] = due
            self._wakeup.notify()

    def reconcile(self, key: Key) -> Outcome:
        """Bring one JobSink's status up to date."""
        sink: dict[str, Any] | None = self._cache.watched(*key)
        for _ in range(CONFLICT_RETRIES):
            if sink is None:
                self._reconciles.labels("gone").inc()
                return "gone"
            policies = None
            if self._policies is not None:
                policies = self._policies.of(sink)
                if policies is None:
                    raise PoliciesNotLoaded("EventPolicies are not listed yet")
            dead_letter = self._resolver.resolve(sink)
            if dead_letter is not None and dead_letter.url is None:
                self._unresolved.add(key)
            else:
                self._unresolved.discard(key)
            now = datetime.now(UTC)
            patch = status_patch(sink, self.addressing, now, _problems(sink), dead_letter, policies)
            if not patch:
                self._reconciles.labels("unchanged").inc()
                return "unchanged"
            try:
                patched = self._jobsinks.patch_status(
                    *key, patch, resource_version=sink["metadata"]["resourceVersion"]
                )
            except Conflict:
                # The cache may lag behind the write that beat us; read the truth and redo it.
                sink = self._jobsinks.get(*key)
                continue
            if patched is None:
                self._reconciles.labels("gone").inc()
                return "gone"
            self._reconciles.labels("updated").inc()
            problems = _problems(sink)
            if problems:
                # Said once per change of the status, not on every resync.
                self._recorder.emit(sink, WARNING, "InvalidSpec", "; ".join(problems)[:500])
            log.info("status of JobSink %s/%s updated", *key)
            return "updated"
        raise Conflict(
            409, "Conflict", f"{key[0]}/{key[1]} kept changing over {CONFLICT_RETRIES} attempts"
        )
