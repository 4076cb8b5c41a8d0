"""Reading one sample off a receiver's own metrics registry."""

from __future__ import annotations

from receiver.metrics import Metrics


def figure(metrics: Metrics, name: str, **labels: str) -> float:
    """The sample's value, 0 when it was never counted (a labelled child appears on first use)."""
    return metrics.registry.get_sample_value(name, labels) or 0.0
