"""Prometheus metrics of the webhook, on a registry of its own so tests can build many apps.

The app that serves the registry adds the process_* and python_* metrics to it
(``include_process_metrics``), as the process-wide registry would have.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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
