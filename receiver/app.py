"""The receiver's application (``receiver.asgi``) and the parts it runs.

``create_app`` takes its parts ready-made (tests hand it a fake apiserver's client); ``build``
makes the real ones from settings. Background parts (JobSink cache, status reconciler, sweeper)
start in the lifespan and stop after the last in-flight request has finished.
"""

from __future__ import annotations

from collections.abc import Sequence

from kubeapi import object_client
from kubeapi.calls import Caller
from kubeapi.config import size_connection_pool
from kubeapi.events import EventClient
from kubeapi.transport import Api
from receiver.asgi import Background, ReceiverApp
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
from receiver.jobindex import JobIndex
from receiver.knative_features import FeaturesWatch, FollowedAuthentication, follow
from receiver.limits import TokenBucket
from receiver.metrics import Metrics
from receiver.outcomes.events import EventRecorder
from receiver.outcomes.jobs import JobOutcomes
from receiver.protocol import WriteProtocol
from receiver.settings import AuthenticationSettings, Settings
from receiver.sweeper import Sweeper
from receiver.tracing import Tracing, configure


def create_app(
    plane: DataPlane,
    background: Sequence[Background] = (),
    certificates: ServingCertificates | None = None,
) -> ReceiverApp:
    """``certificates``: the HTTPS listener's; the receiver is not ready until it listens."""
    return ReceiverApp(plane, background, certificates)


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
    throttle = TokenBucket(kube.qps, kube.burst) if kube.qps else None
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
            # Imported here: its HTTP client library is needed only where status is written.
            from receiver.deadletter.dispatcher import DeadLetterDispatcher

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
    authorizer = EventPolicyAuthorizer(
        policies, settings.authorization.default_mode, retry_after=limits.retry_after_seconds
    )
    authentication = authenticator(
        settings.authentication, api_client, limits.retry_after_seconds, metrics
    )
    if settings.knative.features:
        followed = FollowedAuthentication(
            authenticator(
                settings.authentication.model_copy(update={"enabled": True}),
                api_client,
                limits.retry_after_seconds,
                metrics,
            ),
            limits.retry_after_seconds,
        )
        background.append(
            FeaturesWatch(
                follow(followed, authorizer),
                namespace=settings.status.system_namespace,
                name=settings.knative.features,
                api_client=api_client,
            )
        )
        authentication = followed
    plane = DataPlane(
        limits,
        sinks,
        protocol,
        jobs,
        namespace=settings.namespace,
        metrics=metrics,
        authenticator=authentication,
        authorizer=authorizer,
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
