"""The receiver's FastAPI application: routes, and what starts and stops with it.

``create_app`` takes its parts ready-made (tests hand it a fake apiserver's client); ``build``
makes the real ones from settings. Background parts (JobSink cache, status reconciler, sweeper)
start in the lifespan and stop after the last in-flight request has finished.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.types import ASGIApp, Receive, Scope, Send

from kubeapi import object_client
from kubeapi.calls import Caller
from kubeapi.config import size_connection_pool
from kubeapi.events import EventClient
from kubeapi.transport import Api
from receiver.auth.discovery import ApiserverDiscovery, UrlDiscovery
from receiver.auth.keys import KeySet
from receiver.auth.policy_cache import NoPolicies, PolicyCache, PolicyView
from receiver.auth.policy_status import SinkPolicyStatus
from receiver.auth.tokens import TokenVerifier
from receiver.certificates import ServingCertificates, TrustBundle
from receiver.controller.sinks import SinkCache
from receiver.controller.status import StatusReconciler
from receiver.dataplane.authenticate import Authenticator, BearerTokens, Unauthenticated
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.handler import DataPlane, SinkLookup
from receiver.deadletter.dispatcher import DeadLetterDispatcher
from receiver.jobindex import JobIndex
from receiver.limits import TokenBucket
from receiver.metrics import Metrics, exposition
from receiver.outcomes.events import EventRecorder
from receiver.outcomes.jobs import JobOutcomes
from receiver.protocol import WriteProtocol
from receiver.settings import AuthenticationSettings, Settings
from receiver.sweeper import Sweeper
from receiver.tracing import Tracing, configure

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class Background(Protocol):
    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> None: ...


def create_app(
    plane: DataPlane,
    background: Sequence[Background] = (),
    certificates: ServingCertificates | None = None,
) -> FastAPI:
    """``certificates``: the HTTPS listener's; the receiver is not ready until it listens."""
    plane.metrics.include_process_metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        for part in background:
            part.start()
        try:
            yield
        finally:
            # uvicorn calls this after in-flight requests have finished; their worker threads
            # are done too, and wait=True makes sure of it before the parts stop.
            plane.draining = True
            plane.pool.shutdown(wait=True)
            for part in reversed(background):
                part.stop()

    app = FastAPI(
        title="JobSink receiver",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.plane = plane

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        certified = certificates is None or certificates.listening
        if plane.ready and certified:
            return JSONResponse({"status": "ready"})
        reason = (
            "draining"
            if plane.draining
            else "JobSink cache not synced yet"
            if not plane.ready
            else "HTTPS listener not started: no serving certificate yet"
        )
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return Response(exposition(plane.metrics), media_type=CONTENT_TYPE_LATEST)

    app.add_middleware(EventsFirst, plane=plane)
    return app


class EventsFirst:
    """Sends every request but the three probes straight to the data plane.

    The hot path skips FastAPI's routing, dependency and exception layers: in a profile under load
    they were about a fifth of the receiver's CPU, taken from the apiserver on a small node.
    ``DataPlane.handle`` answers every failure itself, a JSON 500 included.
    """

    def __init__(self, app: ASGIApp, plane: DataPlane) -> None:
        self.app = app
        self.plane = plane

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in PROBES:
            await self.app(scope, receive, send)
            return
        response = await self.plane.handle(Request(scope, receive))
        await response(scope, receive, send)


def build(
    settings: Settings,
    api_client: Api,
    sinks: SinkLookup | None = None,
    metrics: Metrics | None = None,
    trust: TrustBundle | None = None,
    tracing: Tracing | None = None,
) -> tuple[DataPlane, list[Background]]:
    """The real receiver over ``api_client``: the data plane, and the background parts (span
    exporter, Event recorder, Job index, EventPolicy cache, JobSink cache, status reconciler,
    dead-letter dispatcher and the watch of how Jobs end unless ``sinks`` is given, sweeper), all
    counting on ``metrics``. ``trust``: the CA certificates the status publishes with https
    addresses. ``tracing`` defaults to what the ``OTEL_*`` variables ask for."""
    metrics = metrics or Metrics()
    limits, kube = settings.limits, settings.kube
    size_connection_pool(api_client, limits.max_inflight + 8)
    throttle = TokenBucket(kube.qps, kube.burst).wait if kube.qps else None
    caller = Caller(api_client, observe=metrics.observe_kube_call, throttle=throttle)
    jobs, secrets = object_client.jobs(caller), object_client.secrets(caller)
    index = JobIndex(jobs, namespace=settings.namespace, max_entries=settings.index.max_entries)
    tracing = tracing or configure()  # the OTEL_* variables
    protocol = WriteProtocol(jobs, secrets, index, tracing)
    # Event writes go around the client-side QPS limit: they have bounds of their own
    # (receiver.outcomes.series) and must never take the data plane's share of calls.
    recorder = EventRecorder(
        EventClient(Caller(api_client, observe=metrics.observe_kube_call)), metrics=metrics
    )
    # Started first and stopped last, so the other parts' last Events are written.
    background: list[Background] = [tracing, recorder, index]
    policies: PolicyView = NoPolicies()
    if settings.authorization.event_policies:
        policy_cache = PolicyCache(api_client, namespace=settings.namespace)
        background.append(policy_cache)
        policies = policy_cache
    if sinks is None:
        cache = SinkCache(api_client, namespace=settings.namespace, metrics=metrics)
        background.append(cache)
        if settings.status.enabled:
            reconciler = StatusReconciler(
                api_client,
                cache,
                settings.status,
                server=settings.server,
                ca_certs=trust.pem if trust else None,
                audiences=settings.authentication.enabled,
                policies=SinkPolicyStatus(
                    policies,
                    authentication=settings.authentication.enabled,
                    default_mode=settings.authorization.default_mode,
                ),
                metrics=metrics,
                recorder=recorder,
            )
            if trust is not None:
                trust.subscribe(reconciler.publish_ca_certs)
            background.append(reconciler)
            # Dead letters go out from the Lease holder only, like status writes.
            background.append(
                DeadLetterDispatcher(
                    caller,
                    cache,
                    reconciler.elector,
                    recorder,
                    namespace=settings.namespace,
                    metrics=metrics,
                )
            )
            outcomes = JobOutcomes(
                jobs,
                recorder,
                metrics=metrics,
                namespace=settings.namespace,
                grace=settings.status.lease.duration_seconds,
            )
            reconciler.elector.on_change(outcomes.leadership_changed)
            background.append(outcomes)
        sinks = cache
    background.append(
        Sweeper(
            jobs,
            secrets,
            interval=settings.sweeper.interval_seconds,
            grace=settings.sweeper.grace_seconds,
            namespace=settings.namespace,
            metrics=metrics,
        )
    )
    plane = DataPlane(
        limits,
        sinks,
        protocol,
        jobs,
        namespace=settings.namespace,
        metrics=metrics,
        authenticator=authenticator(
            settings.authentication, api_client, limits.retry_after_seconds, metrics
        ),
        authorizer=EventPolicyAuthorizer(
            policies,
            settings.authorization.default_mode,
            retry_after=limits.retry_after_seconds,
        ),
        recorder=recorder,
        tracing=tracing,
    )
    return plane, background


def authenticator(
    settings: AuthenticationSettings,
    api_client: Api,
    retry_after: int,
    metrics: Metrics | None = None,
) -> Authenticator:
    """Bearer tokens verified against the issuer's keys when authentication is on; else none."""
    if not settings.enabled:
        return Unauthenticated()
    fetch = (
        UrlDiscovery(settings.discovery_base_url, settings.discovery_ca_file)
        if settings.discovery_base_url
        else ApiserverDiscovery(api_client)
    )
    keys = KeySet(
        fetch,
        refetch_seconds=settings.refetch_seconds,
        max_age_seconds=settings.keys_max_age_seconds,
        metrics=metrics,
    )
    verifier = TokenVerifier(
        keys,
        skew_seconds=settings.clock_skew_seconds,
        max_token_bytes=settings.max_token_bytes,
        cache_entries=settings.verified_tokens,
        metrics=metrics,
    )
    return BearerTokens(verifier, retry_after)
