"""Prometheus metrics of the receiver (served at ``GET /metrics``)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_ACCEPTED = Counter(
    "jobsink_events_accepted",
    "Events answered 202 that created their Job, or completed one an earlier delivery left halfway",
    ["outcome"],  # created | completed
)
EVENTS_DUPLICATE = Counter(
    "jobsink_events_duplicate", "Events answered 202 whose Job and Secret already existed"
)
EVENTS_REJECTED = Counter(
    "jobsink_events_rejected",
    "Events (or requests) refused, by reason",
    ["reason"],
)
JOBS_CREATED = Counter("jobsink_jobs_created", "Jobs created by this receiver")
JOBS_SWEPT = Counter("jobsink_jobs_swept", "Jobs deleted because their Secret never arrived")
KUBE_LATENCY = Histogram(
    "jobsink_kube_request_duration_seconds",
    "Kubernetes API calls by operation and HTTP code (or 'error' for no answer)",
    ["operation", "code"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
KUBE_ERRORS = Counter(
    "jobsink_kube_request_errors",
    "Kubernetes API calls answered 429, 5xx or not at all",
    ["operation", "code"],
)
INFLIGHT = Gauge("jobsink_requests_inflight", "Requests holding an in-flight slot")


def observe_kube_call(operation: str, code: str, seconds: float) -> None:
    """``kubeapi.calls.Observer`` feeding the two Kubernetes metrics."""
    KUBE_LATENCY.labels(operation, code).observe(seconds)
    if code == "error" or code == "429" or code.startswith("5"):
        KUBE_ERRORS.labels(operation, code).inc()
