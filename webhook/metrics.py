"""Prometheus metrics of the webhook, on a registry of its own so tests can build many apps.

The app that serves the registry adds the process_* and python_* metrics to it
(``include_process_metrics``), as the process-wide registry would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
)

#: Fine buckets at the low end: a healthy review takes well under 10 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


@dataclass
class Metrics:
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    _with_process_metrics: bool = field(default=False, init=False, repr=False)
    #: Each label set's child, looked up once: ``labels()`` took about a third of the time the
    #: webhook spends outside of the admission functions themselves.
    _children: dict[tuple[str, ...], Any] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        self.reviews = Counter(
            "jobsink_webhook_reviews",
            "AdmissionReviews answered, by endpoint, operation and result "
            "(allowed, patched, denied, invalid_request, error).",
            ["endpoint", "operation", "result"],
            registry=self.registry,
        )
        self.dry_runs = Counter(
            "jobsink_webhook_dry_runs",
            "Server-side dry-run creates of rendered Jobs, by outcome "
            "(accepted, refused, skipped: the apiserver was unavailable or too slow).",
            ["outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "jobsink_webhook_review_duration_seconds",
            "Time from a complete request body to the encoded answer, by endpoint.",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def count_review(self, endpoint: str, operation: str, result: str) -> None:
        key = ("reviews", endpoint, operation, result)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.reviews.labels(endpoint, operation, result)
        child.inc()

    def observe_latency(self, endpoint: str, seconds: float) -> None:
        key = ("latency", endpoint)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.latency.labels(endpoint)
        child.observe(seconds)

    def include_process_metrics(self) -> None:
        """Add the process_* and python_* metrics (CPU, memory, file descriptors, GC, version),
        once: a registry refuses a metric name twice, and an app may be built over given metrics.
        """
        if self._with_process_metrics:
            return
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self._with_process_metrics = True
