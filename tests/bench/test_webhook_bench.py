"""The arithmetic of ``bench/webhook_bench.py``: CPU per request and closed-loop rounds."""

from __future__ import annotations

from typing import Any

import pytest

from bench.webhook_bench import combine_rounds, cpu_ms_per_request, verdicts


@pytest.mark.parametrize(
    ("cpu_seconds", "measured", "warmup", "expected"),
    [
        (1.0, 1000, 0.0, 1.0),
        (1.0, 800, 200.0, 1.0),  # the warm-up's requests share the CPU time
        (0.0, 0, 0.0, 0.0),  # nothing measured: no division by zero
    ],
)
def test_cpu_ms_per_request(
    cpu_seconds: float, measured: int, warmup: float, expected: float
) -> None:
    assert cpu_ms_per_request(cpu_seconds, measured, warmup) == pytest.approx(expected)


def _round(requests: int, seconds: float, p50: float, cpu: float, **extra: Any) -> dict[str, Any]:
    return {
        "endpoint": "validation",
        "mode": "closed",
        "target_rate": 0,
        "requests": requests,
        "seconds": seconds,
        "achieved_rate": requests / seconds,
        "errors": extra.get("errors", 0),
        "skipped": 0,
        "statuses": extra.get("statuses", {"200": requests}),
        "p50_ms": p50,
        "p90_ms": p50 * 2,
        "p99_ms": p50 * 3,
        "p999_ms": p50 * 4,
        "max_ms": p50 * 5,
        "generator_cpu_seconds": 1.0,
        "server_cpu_ms_per_request": cpu,
        "load_average": p50,
    }


def test_rounds_combine_into_one_rate_over_all_measured_time() -> None:
    rounds = [
        _round(3000, 3.0, 1.0, 0.2),
        _round(1500, 3.0, 4.0, 0.4, errors=2, statuses={"200": 1498, "503": 2}),
        _round(6000, 4.0, 2.0, 0.3),
    ]
    combined = combine_rounds(rounds)
    assert combined["requests"] == 10500
    assert combined["seconds"] == 10.0
    assert combined["achieved_rate"] == pytest.approx(1050.0)
    assert combined["errors"] == 2
    assert combined["statuses"] == {"200": 10498, "503": 2}
    assert combined["p50_ms"] == 2.0  # the median of the rounds' p50s
    assert combined["p99_ms"] == 6.0
    assert combined["max_ms"] == 20.0  # the largest of all
    assert combined["server_cpu_ms_per_request"] == pytest.approx(
        (3000 * 0.2 + 1500 * 0.4 + 6000 * 0.3) / 10500
    )
    assert combined["generator_cpu_seconds"] == 3.0
    assert combined["rounds"] == 3


def test_an_even_number_of_rounds_takes_the_mean_of_the_middle_two() -> None:
    combined = combine_rounds([_round(100, 1.0, 1.0, 0.1), _round(100, 1.0, 3.0, 0.1)])
    assert combined["p50_ms"] == 2.0


def _phase(
    endpoint: str, mode: str, rate: float, achieved: float, p50: float = 1.0
) -> dict[str, Any]:
    return {
        "endpoint": endpoint,
        "mode": mode,
        "target_rate": rate,
        "achieved_rate": achieved,
        "p50_ms": p50,
        "p99_ms": 5.0,
        "max_ms": 10.0,
        "errors": 0,
        "statuses": {"200": 1},
    }


@pytest.mark.parametrize(
    ("validation_rate", "defaulting_rate", "met"),
    [
        (1000.0, 1600.0, {"validation": True, "defaulting": True}),
        (999.0, 1599.0, {"validation": False, "defaulting": False}),
    ],
)
def test_closed_loop_targets_are_ratios_to_echo(
    validation_rate: float, defaulting_rate: float, met: dict[str, bool]
) -> None:
    results = []
    for endpoint, closed in (
        ("echo", 2000.0),
        ("validation", validation_rate),
        ("defaulting", defaulting_rate),
    ):
        results += [
            _phase(endpoint, "open", 200, 200),
            _phase(endpoint, "open", 500, 500),
            _phase(endpoint, "closed", 0, closed),
        ]
    results.append(_phase("echo-asgi", "closed", 0, 4000.0))
    lines = [line for line in verdicts(results, rss_mb=80) if "max " in line]
    for endpoint, ok in met.items():
        (line,) = [line for line in lines if line.split()[1] == f"{endpoint}:"]
        assert line.startswith("met " if ok else "MISS"), line
        assert "x echo-asgi 4000/s" in line
