"""The arithmetic of ``bench/webhook_apply.py``: percentiles, the apiserver's webhook histogram,
ratios, and the applied document."""

from __future__ import annotations

import pytest
import yaml

from bench.webhook_apply import (
    COUNTER,
    EXAMPLE,
    call_counts,
    latency_summary,
    per_call_ms,
    percentile,
    ratios,
    sink_document,
    webhook_totals,
)


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([float(i) for i in range(1, 101)], 50, 50.0),
        ([float(i) for i in range(1, 101)], 99, 99.0),
        ([float(i) for i in range(1, 201)], 99, 198.0),
        ([3.0, 1.0, 2.0], 50, 2.0),  # unsorted input
        ([7.0], 99, 7.0),
        ([1.0, 2.0], 50, 1.0),  # nearest rank: ceil(2 * 0.5) = 1
    ],
)
def test_percentile_is_nearest_rank(values: list[float], q: float, expected: float) -> None:
    assert percentile(values, q) == expected


def test_latency_summary_in_milliseconds() -> None:
    summary = latency_summary([0.1, 0.2, 0.3, 0.4])
    assert summary == {"applies": 4, "p50_ms": 200.0, "p99_ms": 400.0, "mean_ms": 250.0}


METRICS = """\
# TYPE apiserver_admission_webhook_admission_duration_seconds histogram
apiserver_admission_webhook_admission_duration_seconds_bucket{name="a.example",operation="UPDATE",rejected="false",type="admit",le="0.005"} 3
apiserver_admission_webhook_admission_duration_seconds_sum{name="a.example",operation="UPDATE",rejected="false",type="admit"} 0.5
apiserver_admission_webhook_admission_duration_seconds_count{name="a.example",operation="UPDATE",rejected="false",type="admit"} 10
apiserver_admission_webhook_admission_duration_seconds_sum{name="a.example",operation="UPDATE",rejected="true",type="admit"} 0.1
apiserver_admission_webhook_admission_duration_seconds_count{name="a.example",operation="UPDATE",rejected="true",type="admit"} 2
apiserver_admission_webhook_admission_duration_seconds_sum{name="a.example",operation="CREATE",rejected="false",type="admit"} 9
apiserver_admission_webhook_admission_duration_seconds_count{name="a.example",operation="CREATE",rejected="false",type="admit"} 1
apiserver_admission_webhook_admission_duration_seconds_sum{name="other",operation="UPDATE",rejected="false",type="validating"} 4
apiserver_admission_webhook_admission_duration_seconds_count{name="other",operation="UPDATE",rejected="false",type="validating"} 4
apiserver_admission_webhook_request_total{code="200",name="a.example",operation="UPDATE",rejected="false",type="admit"} 12
apiserver_admission_webhook_request_total{code="200",name="a.example",operation="CREATE",rejected="false",type="admit"} 1
"""  # noqa: E501


def test_webhook_totals_count_updates_of_the_named_webhooks_only() -> None:
    assert webhook_totals(METRICS, ["a.example"]) == {"a.example": (0.6, 12.0)}
    assert webhook_totals(METRICS, ["missing"]) == {}


def test_call_counts_count_every_operation() -> None:
    assert call_counts(METRICS, ["a.example", "missing"]) == {"a.example": 13.0, "missing": 0.0}


def test_per_call_ms_adds_the_windows_up() -> None:
    windows = [
        ({"a": (1.0, 10.0)}, {"a": (2.0, 30.0), "b": (0.5, 5.0)}),  # b: first seen in this window
        ({"a": (3.0, 40.0)}, {"a": (4.0, 50.0)}),
    ]
    assert per_call_ms(windows) == {
        "a": {"calls": 30.0, "mean_ms": pytest.approx(1000 * 2.0 / 30)},
        "b": {"calls": 5.0, "mean_ms": 100.0},
    }


def test_ratios_to_a_baseline() -> None:
    results = {"none": {"p50_ms": 100.0, "p99_ms": 200.0}, "x": {"p50_ms": 150.0, "p99_ms": 500.0}}
    assert ratios(results, "none") == {
        "none": {"p50": 1.0, "p99": 1.0},
        "x": {"p50": 1.5, "p99": 2.5},
    }


def test_the_applied_document_is_the_example_with_a_counter_in_the_job_template() -> None:
    example = yaml.safe_load(EXAMPLE.read_text())
    document = sink_document("ns", 7)
    assert document["metadata"] == {**example["metadata"], "namespace": "ns"}
    assert document["spec"]["job"]["metadata"]["annotations"] == {COUNTER: "7"}
    del document["spec"]["job"]["metadata"]
    assert document["spec"] == example["spec"]
