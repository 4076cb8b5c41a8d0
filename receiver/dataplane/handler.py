"""The receiver's data plane: one request, read top to bottom.

A POST takes these steps, cheapest refusal first, nothing written before delivery:

1. route: the path's shape (404) and the method it takes (405);
2. the declared Content-Length (413);
3. the JobSink named by the path (404);
4. authenticate: with authentication on, the bearer token for the JobSink's audience (401, 503
   while the audience or the keys are not there yet; ``authenticate``);
5. the body, streamed under the size limit, a deadline from the request's head and the shared
   body budget (413, 408, 503);
6. decode: one event or a batch (400, 415, 413 for too many);
7. authorize: the subject, the JobSink and the events (403; ``authorize``);
8. deliver: an in-flight slot (429), then each event through the write protocol (202, 409, 413,
   5xx);
9. answer.

A GET (or HEAD) on an event's Location takes steps 1, 3 and 4, is authorized by its subject
alone (step 7 without events: there is none to filter), then reads the event's Job and answers
its state.

Delivery's Kubernetes calls run on the event loop (the write protocol is asynchronous, its
client ``kubeapi.aio``): a task per request that takes an in-flight slot first (``_deliver``) and
gives it back when the task ends. The other reads (a JobSink missing from the cache, an event's
Job) are blocking calls in a thread pool, under a slot too (``_kube``). Nothing else holds a
slot: a sender that is slow to send its body holds only its bytes in the body budget, so slow
senders cannot keep others' events from the apiserver.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from starlette.requests import Request
from starlette.responses import Response

from jobsink.names import job_name
from kubeapi.object_client import ObjectClient
from receiver.auth.subject import Subject
from receiver.dataplane import answers, body, deliver, refusals, routes, wire
from receiver.dataplane.authenticate import Authenticator, Unauthenticated
from receiver.dataplane.authorize import Authorizer, EveryoneAllowed
from receiver.dataplane.body import ClientGone
from receiver.dataplane.deliver import Delivered
from receiver.dataplane.refusals import FAILURES, Failure, Rejection
from receiver.limits import BodyBudget, InflightLimit
from receiver.metrics import Metrics
from receiver.outcomes.events import NORMAL, EventRecorder
from receiver.protocol import Outcome, WriteProtocol
from receiver.settings import MAX_EVENT_BYTES, LimitSettings
from receiver.tracing import Tracing

log = logging.getLogger("jobsink.receiver")

T = TypeVar("T")


class SinkLookup(Protocol):
    """What the data plane needs of the JobSink cache (``receiver.controller.sinks.SinkCache``)."""

    @property
    def synced(self) -> bool: ...

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...


class DataPlane:
    def __init__(
        self,
        limits: LimitSettings,
        sinks: SinkLookup,
        protocol: WriteProtocol,
        jobs: ObjectClient,
        *,
        namespace: str | None = None,
        metrics: Metrics | None = None,
        authorizer: Authorizer | None = None,
        authenticator: Authenticator | None = None,
        recorder: EventRecorder | None = None,
        tracing: Tracing | None = None,
    ) -> None:
        """``namespace``: serve only this namespace's JobSinks (None: all). ``recorder``: where
        the aggregated "Job created" Events go (None: a recorder that only counts)."""
        self.limits = limits
        self.sinks = sinks
        self.protocol = protocol
        self.jobs = jobs
        self.namespace = namespace
        self.metrics = metrics or Metrics()
        self.authorizer = authorizer or EveryoneAllowed()
        self.authenticator = authenticator or Unauthenticated()
        self.recorder = recorder or EventRecorder(None, metrics=self.metrics)
        self.tracing = tracing or Tracing(None)
        self.slots = InflightLimit(limits.max_inflight)
        self.body_budget = BodyBudget(limits.body_budget_bytes)
        self.pool = ThreadPoolExecutor(limits.max_inflight, thread_name_prefix="jobsink-kube")
        self.deliveries: set[asyncio.Task[Any]] = set()
        self.draining = False

    @property
    def ready(self) -> bool:
        return self.sinks.synced and not self.draining

    async def handle(self, request: Request) -> Response:
        """Every request that is not a probe; every failure is answered here, a 500 included."""
        began = asyncio.get_running_loop().time()
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        try:
            route = routes.route(raw_path, request.method)  # 1
            if isinstance(route, routes.SinkPath):
                with self.tracing.receive(request.headers.raw) as span:
                    response = await self._post(request, route, began)
                    if span is not None:
                        span.set_attribute("http.response.status_code", response.status_code)
                        span.set_attribute("k8s.namespace.name", route.namespace)
                        span.set_attribute("k8s.jobsink.name", route.name)
                    return response
            return await self._job(request, route)
        except FAILURES as failure:
            return self._refuse(failure)
        except ClientGone:
            self.metrics.child(self.metrics.events_rejected, "client_gone").inc()
            log.info("client left before its body arrived", extra={"path": request.url.path})
            return Response(status_code=400)  # nobody reads it
        except Exception as error:
            # A JobSink that cannot be rendered (stored while the webhook was down) or a bug: the
            # sender keeps the event (5xx) and succeeds once the JobSink is fixed.
            log.exception("event failed", extra={"path": request.url.path})
            self.metrics.child(self.metrics.events_rejected, "internal").inc()
            message = f"internal error: {type(error).__name__}: {error}"
            return answers.Json(answers.error_body(message), status_code=500)

    async def _post(self, request: Request, route: routes.SinkPath, began: float) -> Response:
        try:
            body.check_declared_length(request.headers, MAX_EVENT_BYTES)  # 2
            sink = await self._sink(route.namespace, route.name)  # 3
            subject = await self._authenticate(request, sink)  # 4
            raw = await body.read(  # 5
                request,
                limit=MAX_EVENT_BYTES,
                budget=self.body_budget,
                began=began,
                seconds=self.limits.body_timeout,
                retry_after=self.limits.retry_after_seconds,
            )
        except FAILURES as failure:
            return self._refuse(failure, close=True)  # the body is not (all) read
        limit = self.limits.max_batch_events
        with self.tracing.span("decode"):
            decoded = wire.decode(request.headers.raw, raw, max_batch_events=limit)  # 6
            decoded = wire.with_request_trace(decoded, request.headers.raw)
        await self.authorizer.authorize(subject, sink, decoded)  # 7
        deadline = time.monotonic() + self.limits.request_timeout
        protocol = self.protocol
        match decoded:  # 8, 9
            case wire.Single(event):
                delivered = await self._deliver(deliver.one(protocol, sink, event, deadline))
                self._count(delivered, sink)
                _log_accepted(route, delivered)
                detailed = answers.wants_json(request.headers.get("accept"))
                return answers.accepted(route, delivered, detailed=detailed)
            case wire.Batch(items):
                outcomes = await self._deliver(deliver.batch(protocol, sink, items, deadline))
                for outcome in outcomes:
                    self._count(outcome, sink)
                return answers.batch(route, outcomes, self.limits.retry_after_seconds)

    async def _job(self, request: Request, route: routes.EventPath) -> Response:
        sink = await self._sink(route.namespace, route.name)
        subject = await self._authenticate(request, sink)
        await self.authorizer.authorize(subject, sink, None)
        name = job_name(route.name, route.source, route.id)
        deadline = time.monotonic() + self.limits.request_timeout
        job = await self._kube(lambda: self.jobs.get(route.namespace, name, deadline=deadline))
        if job is None:
            raise Rejection(404, f"no Job {name} for this event (never received, or deleted)")
        return answers.job(route, name, job)

    async def _sink(self, namespace: str, name: str) -> dict[str, Any]:
        if self.namespace and namespace != self.namespace:
            raise Rejection(404, f"this receiver serves namespace {self.namespace} only")
        sink = self.sinks.cached(namespace, name)
        if sink is None:
            sink = await self._kube(lambda: self.sinks.get(namespace, name))
        if sink is None:
            raise Rejection(404, f"JobSink {namespace}/{name} not found", "jobsink")
        return sink

    async def _authenticate(self, request: Request, sink: dict[str, Any]) -> Subject | None:
        return await self.authenticator.authenticate(request.headers.get("authorization"), sink)

    async def _kube(self, work: Callable[[], T]) -> T:
        """``work`` (blocking Kubernetes calls) on a worker under an in-flight slot; ``Rejection``
        429 when none is free.

        The slot is the worker's: given back when ``work`` ends, not when this request does, so
        a request cancelled or left by its client while ``work`` runs frees nothing early.
        """
        if not self.slots.try_acquire():
            raise Rejection.overloaded(self.limits.retry_after_seconds)
        self.metrics.inflight.inc()
        if self.tracing.enabled:
            # Worker threads do not inherit the request's context: its span is their parent.
            work = _in_context(contextvars.copy_context(), work)
        try:
            future = self.pool.submit(work)
        except BaseException:
            self._release_slot()
            raise
        future.add_done_callback(lambda _: self._release_slot())
        return await asyncio.wrap_future(future)

    async def _deliver(self, work: Coroutine[Any, Any, T]) -> T:
        """``work`` as a task on the loop under an in-flight slot; ``Rejection`` 429 (and
        ``work`` closed unstarted) when none is free.

        As in ``_kube``, the slot is the task's: a request cancelled or left by its client
        while the task runs frees nothing early (the task is shielded and runs to its end).
        """
        if not self.slots.try_acquire():
            work.close()
            raise Rejection.overloaded(self.limits.retry_after_seconds)
        self.metrics.inflight.inc()
        try:
            task = asyncio.create_task(work)
        except BaseException:
            self._release_slot()
            raise
        self.deliveries.add(task)
        task.add_done_callback(self._delivered)
        return await asyncio.shield(task)

    def _delivered(self, task: asyncio.Task[Any]) -> None:
        self.deliveries.discard(task)
        self._release_slot()
        if not task.cancelled():
            task.exception()  # its request, if still there, has it through the shield

    async def drain(self) -> None:
        """Wait for deliveries still running (their requests may have been cancelled), then for
        the worker threads."""
        if self.deliveries:
            await asyncio.wait(set(self.deliveries))
        await asyncio.to_thread(self.pool.shutdown, wait=True)

    def _release_slot(self) -> None:
        self.slots.release()
        self.metrics.inflight.dec()

    def _count(self, outcome: Delivered | Failure, sink: dict[str, Any]) -> None:
        if not isinstance(outcome, Delivered):
            self.metrics.child(self.metrics.events_rejected, refusals.reason_of(outcome)).inc()
            return
        accepted = outcome.accepted
        if accepted.outcome is Outcome.DUPLICATE:
            self.metrics.events_duplicate.inc()
            return
        self.metrics.child(self.metrics.events_accepted, accepted.outcome.value).inc()
        if accepted.outcome is Outcome.CREATED:
            self.metrics.jobs_created.inc()
            self.metrics.count_for_sink(
                self.metrics.sink_jobs_created, accepted.namespace, sink["metadata"]["name"]
            )
            # One Event per JobSink and interval with a count, not one per Job: a storm of
            # events must not become a storm of etcd writes.
            self.recorder.emit(sink, NORMAL, "SuccessfulCreate", "Created Job for an event")

    def _refuse(self, failure: Failure, *, close: bool = False) -> Response:
        self.metrics.child(self.metrics.events_rejected, refusals.reason_of(failure)).inc()
        status = refusals.status_of(failure)
        level = logging.WARNING if status >= 500 else logging.INFO
        log.log(level, "request refused", extra={"status": status, "error": str(failure)})
        return answers.refused(failure, self.limits.retry_after_seconds, close=close)


def _in_context(context: contextvars.Context, work: Callable[[], T]) -> Callable[[], T]:
    return lambda: context.run(work)


def _log_accepted(route: routes.SinkPath, delivered: Delivered) -> None:
    accepted, event = delivered.accepted, delivered.event
    log.info(
        "event accepted",
        extra={"namespace": route.namespace, "jobsink": route.name, "job": accepted.name,
               "outcome": accepted.outcome.value, "source": event.source, "id": event.id},
    )  # fmt: skip
