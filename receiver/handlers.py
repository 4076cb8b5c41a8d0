"""The two endpoints of the data plane: POST an event, GET the state of its Job.

Transport-level order for a POST, cheapest refusal first, nothing created before the last step:
path (404) → method (405) → Content-Length (413) → in-flight slot (429) → JobSink (404) →
body, streamed under the size limit and a timeout (413, 408) → decode (400, 415) →
stored size (413) → write protocol (202, 409, 5xx).

All Kubernetes I/O runs in a bounded thread pool, one worker per in-flight slot, so the event loop
never blocks and nothing queues without bound.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol, TypeVar

from fastapi import Request, Response
from fastapi.responses import JSONResponse

from jobsink.event import CloudEvent
from jobsink.names import job_name
from jobsink.validation.meta import annotation_overflow
from kubeapi.errors import KubeError
from kubeapi.object_client import ObjectClient
from receiver import metrics, responses, routes, wire
from receiver.limits import InflightLimit
from receiver.protocol import Accepted, Busy, EventConflict, Outcome, WriteProtocol
from receiver.settings import MAX_EVENT_BYTES, Settings
from receiver.wire import Rejection

log = logging.getLogger("jobsink.receiver")

T = TypeVar("T")


class SinkLookup(Protocol):
    """What the handlers need of ``receiver.sinks.SinkCache``."""

    @property
    def synced(self) -> bool: ...

    def cached(self, namespace: str, name: str) -> dict[str, Any] | None: ...

    def get(self, namespace: str, name: str) -> dict[str, Any] | None: ...


class Receiver:
    def __init__(
        self,
        settings: Settings,
        sinks: SinkLookup,
        protocol: WriteProtocol,
        jobs: ObjectClient,
    ) -> None:
        self.settings = settings
        self.sinks = sinks
        self.protocol = protocol
        self.jobs = jobs
        self.limit = InflightLimit(settings.max_inflight)
        self.pool = ThreadPoolExecutor(settings.max_inflight, thread_name_prefix="jobsink-kube")
        self.draining = False

    @property
    def ready(self) -> bool:
        return self.sinks.synced and not self.draining

    async def handle(self, request: Request) -> Response:
        """Every request that is not a health, readiness or metrics probe."""
        route = routes.parse(request.scope.get("raw_path") or request.url.path.encode())
        try:
            if route is None:
                raise Rejection(404, "no such path: POST events to /<namespace>/<jobsink>", "path")
            allowed = "POST" if isinstance(route, routes.SinkPath) else "GET, HEAD"
            if request.method not in allowed.split(", "):
                raise Rejection(405, f"method {request.method} not allowed here", allowed)
            if isinstance(route, routes.SinkPath):
                _check_content_length(request)
            if not self.limit.try_acquire():
                raise Rejection(429, "too many requests in flight; retry shortly")
        except Rejection as rejection:
            return self._refuse(rejection)
        metrics.INFLIGHT.inc()
        try:
            if isinstance(route, routes.SinkPath):
                return await self._post(request, route)
            return await self._status(route)
        except (Rejection, KubeError, EventConflict, Busy) as failure:
            return self._refuse(failure)
        except Exception as error:
            # A JobSink that cannot be rendered (stored while the webhook was down) or a bug: the
            # sender keeps the event (5xx) and succeeds once the JobSink is fixed.
            log.exception("event failed", extra={"path": request.url.path})
            metrics.EVENTS_REJECTED.labels("internal").inc()
            body = responses.error_body(f"internal error: {type(error).__name__}: {error}")
            return JSONResponse(body, status_code=500)
        finally:
            self.limit.release()
            metrics.INFLIGHT.dec()

    async def _post(self, request: Request, route: routes.SinkPath) -> Response:
        sink = await self._sink(route.namespace, route.name)
        body = await _read_body(request, MAX_EVENT_BYTES, self.settings.body_timeout)
        decoded = wire.decode(request.headers.raw, body)
        if wire.mode_of(request.headers.get("content-type")) == "batch":
            return await self._batch(sink, route, decoded)
        event = decoded[0].event
        assert event is not None  # binary/structured raise instead of returning a rejection
        _check_size(sink, event)
        deadline = time.monotonic() + self.settings.request_timeout
        accepted = await self._run(lambda: self.protocol.deliver(sink, event, deadline=deadline))
        self._count(accepted)
        location = routes.location(route.namespace, route.name, event.source, event.id)
        log.info(
            "event accepted",
            extra={"namespace": route.namespace, "jobsink": route.name, "job": accepted.name,
                   "outcome": accepted.outcome.value, "source": event.source, "id": event.id},
        )  # fmt: skip
        return JSONResponse(
            responses.accepted_body(accepted, location),
            status_code=202,
            headers={"Location": location},
        )

    async def _batch(
        self, sink: dict[str, Any], route: routes.SinkPath, decoded: list[wire.Decoded]
    ) -> Response:
        if len(decoded) > self.settings.max_batch_events:
            raise Rejection(
                413, f"batch of {len(decoded)} events; at most {self.settings.max_batch_events}"
            )
        deadline = time.monotonic() + self.settings.request_timeout
        results = await self._run(lambda: [self._deliver_one(sink, d, deadline) for d in decoded])
        worst = max((status for status, _ in results), key=_severity, default=202)
        body = [dict(item, index=i, status=status) for i, (status, item) in enumerate(results)]
        headers = {"Retry-After": str(self.settings.retry_after_seconds)} if worst >= 500 else {}
        return JSONResponse({"results": body}, status_code=worst, headers=headers)

    def _deliver_one(
        self, sink: dict[str, Any], decoded: wire.Decoded, deadline: float
    ) -> tuple[int, dict[str, Any]]:
        """One event of a batch, in a worker thread: its own outcome, whatever the others do."""
        try:
            if decoded.rejection is not None:
                raise decoded.rejection
            assert decoded.event is not None
            _check_size(sink, decoded.event)
            accepted = self.protocol.deliver(sink, decoded.event, deadline=deadline)
        except (Rejection, KubeError, EventConflict, Busy) as failure:
            metrics.EVENTS_REJECTED.labels(responses.reason_of(failure)).inc()
            return responses.status_of(failure), responses.failure_body(failure)
        self._count(accepted)
        meta = sink["metadata"]
        event = decoded.event
        location = routes.location(meta["namespace"], meta["name"], event.source, event.id)
        return 202, responses.accepted_body(accepted, location)

    async def _status(self, route: routes.EventPath) -> Response:
        await self._sink(route.namespace, route.name)
        name = job_name(route.name, route.source, route.id)
        deadline = time.monotonic() + self.settings.request_timeout
        job = await self._run(lambda: self.jobs.get(route.namespace, name, deadline=deadline))
        if job is None:
            raise Rejection(404, f"no Job {name} for this event (never received, or deleted)")
        status, state = responses.job_state(job)
        headers = {"Reason": state} if status != 202 else {}
        if status == 202:
            headers["Location"] = routes.location(
                route.namespace, route.name, route.source, route.id
            )
        body = {
            "namespace": route.namespace,
            "job": name,
            "state": state,
            "conditions": (job.get("status") or {}).get("conditions") or [],
        }
        return JSONResponse(body, status_code=status, headers=headers)

    async def _sink(self, namespace: str, name: str) -> dict[str, Any]:
        if self.settings.namespace and namespace != self.settings.namespace:
            raise Rejection(404, f"this receiver serves namespace {self.settings.namespace} only")
        sink = self.sinks.cached(namespace, name)
        if sink is None:
            sink = await self._run(lambda: self.sinks.get(namespace, name))
        if sink is None:
            raise Rejection(404, f"JobSink {namespace}/{name} not found", "jobsink")
        return sink

    async def _run(self, work: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.pool, work)

    def _count(self, accepted: Accepted) -> None:
        if accepted.outcome is Outcome.DUPLICATE:
            metrics.EVENTS_DUPLICATE.inc()
            return
        metrics.EVENTS_ACCEPTED.labels(accepted.outcome.value).inc()
        if accepted.outcome is Outcome.CREATED:
            metrics.JOBS_CREATED.inc()

    def _refuse(self, failure: responses.Failure) -> Response:
        metrics.EVENTS_REJECTED.labels(responses.reason_of(failure)).inc()
        level = logging.WARNING if responses.status_of(failure) >= 500 else logging.INFO
        log.log(level, "request refused", extra={"status": responses.status_of(failure),
                                                 "error": str(failure)})  # fmt: skip
        return responses.failure_response(failure, self.settings.retry_after_seconds)


def _severity(status: int) -> int:
    """Batch status: retryable failures first (the sender retries the whole, idempotent batch),
    then client errors, then success."""
    return 3 if status >= 500 or status == 429 else 2 if status >= 400 else 1


def _check_content_length(request: Request) -> None:
    declared = request.headers.get("content-length")
    if declared is None:
        return
    if not declared.isdigit():
        raise Rejection(400, "content-length: not a number", "content-length")
    if int(declared) > MAX_EVENT_BYTES:
        raise Rejection(413, f"body of {declared} bytes; an event is stored whole in a Secret, "
                        f"which holds at most {MAX_EVENT_BYTES} bytes")  # fmt: skip


def _check_size(sink: dict[str, Any], event: CloudEvent) -> None:
    size = len(event.to_json())
    if size > MAX_EVENT_BYTES:
        raise Rejection(413, f"the event is {size} bytes as stored JSON; a Secret holds at most "
                        f"{MAX_EVENT_BYTES}")  # fmt: skip
    overflow = annotation_overflow(sink, event.source, event.id)
    if overflow:
        raise Rejection(413, f"source and id are {overflow} bytes too long: they are stored as "
                        "Job annotations, which hold 256 KiB in all", "source")  # fmt: skip


async def _read_body(request: Request, limit: int, seconds: float) -> bytes:
    """The body, refused with 413 as soon as it passes ``limit``, 408 if it trickles too slowly."""
    chunks: list[bytes] = []
    size = 0
    try:
        async with asyncio.timeout(seconds):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise Rejection(413, f"body larger than {limit} bytes, the most a Secret holds")
                chunks.append(chunk)
    except TimeoutError:
        raise Rejection(408, f"body not received within {seconds:g} seconds") from None
    return b"".join(chunks)
