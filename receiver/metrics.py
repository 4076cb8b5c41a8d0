"""Prometheus metrics of the receiver's data plane and of its Kubernetes calls (``GET /metrics``).

They live on a registry of their own, handed to the data plane and to the Kubernetes caller, so
tests can build many receivers in one process and read each one's figures. The controller parts
(JobSink cache, Lease, status reconciler, storm guard, sweeper) still count on the process-wide
registry; ``exposition`` serves both.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

KUBE_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

JOBS_SWEPT = Counter("jobsink_jobs_swept", "Jobs deleted because their Secret never arrived")
"""The sweeper's, on the process-wide registry with the other controller parts' metrics."""


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.events_accepted = Counter(
            "jobsink_events_accepted",
            "Events answered 202 that created their Job, or completed one an earlier delivery "
            "left halfway, by outcome (created, completed)",
            ["outcome"],
            registry=self.registry,
        )
        self.events_duplicate = Counter(
            "jobsink_events_duplicate",
            "Events answered 202 whose Job and Secret already existed",
            registry=self.registry,
        )
        self.events_rejected = Counter(
            "jobsink_events_rejected",
            "Events (or requests) refused, by reason",
            ["reason"],
            registry=self.registry,
        )
        self.jobs_created = Counter(
            "jobsink_jobs_created", "Jobs created by this receiver", registry=self.registry
        )
        self.kube_latency = Histogram(
            "jobsink_kube_request_duration_seconds",
            "Kubernetes API calls by operation and HTTP code (or 'error' for no answer)",
            ["operation", "code"],
            buckets=KUBE_LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.kube_errors = Counter(
            "jobsink_kube_request_errors",
            "Kubernetes API calls answered 429, 5xx or not at all",
            ["operation", "code"],
            registry=self.registry,
        )
        self.inflight = Gauge(
            "jobsink_requests_inflight",
            "Requests holding an in-flight slot",
            registry=self.registry,
        )

    def observe_kube_call(self, operation: str, code: str, seconds: float) -> None:
        """``kubeapi.calls.Observer`` feeding the two Kubernetes metrics."""
        self.kube_latency.labels(operation, code).observe(seconds)
        if code == "error" or code == "429" or code.startswith("5"):
            self.kube_errors.labels(operation, code).inc()


def exposition(metrics: Metrics) -> bytes:
    """The text served at ``/metrics``: this receiver's registry, then the process-wide one."""
    return generate_latest(metrics.registry) + generate_latest(REGISTRY)
