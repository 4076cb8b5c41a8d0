"""Prometheus metrics of the receiver (``GET /metrics``): its data plane, its Kubernetes calls and
its controller parts (JobSink cache, Lease, status reconciler, storm guard, sweeper).

They live on a registry of their own, handed to every part by ``receiver.app.build``, so tests can
build many receivers in one process and read each one's figures, and nothing of ours lands on the
process-wide registry. The app that serves the registry adds the process_* and python_* metrics
to it (``include_process_metrics``), as the process-wide registry would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

KUBE_LATENCY_BUCKETS = (0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
JOB_DURATION_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400, 43200, 86400)
"""Seconds from an event's receipt to its Job's end: batch work takes seconds to a day."""
MAX_SINK_LABELS = 1000
"""Distinct (namespace, jobsink) label pairs per metric; later JobSinks share ``OVERFLOW``."""
OVERFLOW = "_other"


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _with_process_metrics: bool = field(default=False, init=False, repr=False)

    _sink_labels: set[tuple[str, str]] = field(default_factory=set, init=False, repr=False)
    _sink_children: dict[tuple[int, str, str], Counter] = field(
        default_factory=dict, init=False, repr=False
    )
    _children: dict[tuple[int, tuple[str, ...]], Any] = field(
        default_factory=dict, init=False, repr=False
    )

    def __post_init__(self) -> None:
        self._data_plane()
        self._controller()
        self._authentication()
        self._dead_letters()
        self._outcomes()

    def _data_plane(self) -> None:
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

    def _controller(self) -> None:
        self.sink_lookups = Counter(
            "jobsink_sink_cache_lookups",
            "JobSink lookups by where the answer came from",
            ["result"],  # hit | fetched | missing | remembered
            registry=self.registry,
        )
        self.sink_cache_restarts = Counter(
            "jobsink_sink_cache_restarts",
            "Restarts of the JobSink list/watch",
            ["reason"],
            registry=self.registry,
        )
        self.sink_cache_objects = Gauge(
            "jobsink_sink_cache_objects",
            "JobSinks held by the watch cache",
            registry=self.registry,
        )
        self.status_leader = Gauge(
            "jobsink_status_leader",
            "1 while this process holds the status Lease",
            registry=self.registry,
        )
        self.status_reconciles = Counter(
            "jobsink_status_reconciles",
            "JobSink status reconciles by outcome",
            ["result"],  # updated | unchanged | gone | error
            registry=self.registry,
        )
        self.status_writes_held = Counter(
            "jobsink_status_writes_held",
            "Status writes postponed because another writer keeps changing the status back",
            registry=self.registry,
        )
        self.jobs_swept = Counter(
            "jobsink_jobs_swept",
            "Jobs deleted because their Secret never arrived",
            registry=self.registry,
        )

    def _authentication(self) -> None:
        self.oidc_key_fetches = Counter(
            "jobsink_oidc_key_fetches",
            "Fetches of the OIDC issuer's discovery document and JWKS, by outcome (ok, error)",
            ["outcome"],
            registry=self.registry,
        )
        self.oidc_tokens = Counter(
            "jobsink_oidc_tokens",
            "Bearer tokens checked, by how (verified: signature checked; remembered: a token "
            "verified before; rejected)",
            ["how"],
            registry=self.registry,
        )

    def _dead_letters(self) -> None:
        # Labels are the JobSink's namespace and name: bounded by the JobSinks that exist.
        self.dead_letters_delivered = Counter(
            "jobsink_dead_letters_delivered",
            "Events of failed Jobs delivered to their JobSink's dead-letter sink",
            ["namespace", "jobsink"],
            registry=self.registry,
        )
        self.dead_letters_failed = Counter(
            "jobsink_dead_letters_failed",
            "Events of failed Jobs whose dead letter was given up",
            ["namespace", "jobsink"],
            registry=self.registry,
        )

    def _outcomes(self) -> None:
        sink = ["namespace", "jobsink"]
        self.sink_jobs_created = Counter(
            "jobsink_sink_jobs_created",
            "Jobs this receiver created for events, by JobSink",
            sink,
            registry=self.registry,
        )
        self.sink_jobs_succeeded = Counter(
            "jobsink_sink_jobs_succeeded",
            "Jobs of events that ended Complete, by JobSink (counted by the status Lease holder)",
            sink,
            registry=self.registry,
        )
        self.sink_jobs_failed = Counter(
            "jobsink_sink_jobs_failed",
            "Jobs of events that ended Failed, by JobSink (counted by the status Lease holder)",
            sink,
            registry=self.registry,
        )
        self.sink_job_duration = Histogram(
            "jobsink_sink_job_duration_seconds",
            "Seconds from an event's receipt (its Job's creation) to the Job's end, by JobSink "
            "and outcome (succeeded, failed)",
            [*sink, "outcome"],
            buckets=JOB_DURATION_BUCKETS,
            registry=self.registry,
        )
        self.kube_events = Counter(
            "jobsink_kube_events",
            "Kubernetes Events: occurrences observed or dropped by a bound (sink_rate, "
            "global_rate, full), Events created or updated, writes failed",
            ["result"],
            registry=self.registry,
        )

    def sink(self, namespace: str, name: str) -> tuple[str, str]:
        """The labels of one JobSink, or ``OVERFLOW`` for both past ``MAX_SINK_LABELS`` pairs:
        label sets are never freed, so a namespace creating JobSinks without end must not grow
        the exposition without end."""
        pair = (namespace, name)
        if pair in self._sink_labels:
            return pair
        if len(self._sink_labels) >= MAX_SINK_LABELS:
            return OVERFLOW, OVERFLOW
        self._sink_labels.add(pair)
        return pair

    def count_for_sink(self, counter: Counter, namespace: str, name: str) -> None:
        """Add one to ``counter`` for a JobSink, the labelled child kept (``labels`` takes a lock
        and checks the values each time; the data plane counts every created Job)."""
        labels = self.sink(namespace, name)
        key = (id(counter), *labels)
        child = self._sink_children.get(key)
        if child is None:
            child = self._sink_children[key] = counter.labels(*labels)
        child.inc()

    def observe_kube_call(self, operation: str, code: str, seconds: float) -> None:
        """``kubeapi.calls.Observer`` feeding the two Kubernetes metrics."""
        self.child(self.kube_latency, operation, code).observe(seconds)
        if code == "error" or code == "429" or code.startswith("5"):
            self.child(self.kube_errors, operation, code).inc()

    def child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, kept: ``labels`` takes a lock and checks the values each
        time, and the data plane labels several per event. For label values from a fixed set
        (operations, outcomes, reasons, status codes); JobSinks go through ``count_for_sink``."""
        key = (id(metric), values)
        found = self._children.get(key)
        if found is None:
            found = self._children[key] = metric.labels(*values)
        return found

    def include_process_metrics(self) -> None:
        """Add the process_* and python_* metrics (CPU, memory, file descriptors, GC, version).

        Called by the app that serves the registry, not on every ``Metrics``: a part built alone
        gets a registry nobody serves. A second call does nothing, since a registry refuses a
        metric name twice.
        """
        if self._with_process_metrics:
            return
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._with_process_metrics = True


def exposition(metrics: Metrics) -> bytes:
    """The text served at ``/metrics``."""
    return generate_latest(metrics.registry)
