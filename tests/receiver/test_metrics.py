"""Every receiver metric lives on the registry handed to ``build``: one receiver's figures are its
own, the process-wide registry holds none of ours, and ``/metrics`` still shows the process."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client
from prometheus_client import REGISTRY

import receiver
from receiver.app import Background, build, create_app
from receiver.controller.sinks import SinkCache
from receiver.controller.status import StatusReconciler
from receiver.dataplane.handler import DataPlane
from receiver.metrics import Metrics, exposition
from receiver.protocol import WriteProtocol
from receiver.settings import Settings
from receiver.sweeper import Sweeper
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.figures import figure
from tests.receiver.test_sweeper import later, secretless_job

SERVED = [
    # the data plane and its Kubernetes calls (docs/reference/receiver.md)
    "jobsink_events_accepted_total",
    "jobsink_events_duplicate_total",
    "jobsink_events_rejected_total",
    "jobsink_jobs_created_total",
    "jobsink_jobs_swept_total",
    "jobsink_kube_request_duration_seconds",
    "jobsink_kube_request_errors_total",
    "jobsink_requests_inflight",
    # the controller parts (docs/reference/status.md)
    "jobsink_status_reconciles_total",
    "jobsink_status_leader",
    "jobsink_status_writes_held_total",
    "jobsink_sink_cache_objects",
    "jobsink_sink_cache_lookups_total",
    "jobsink_sink_cache_restarts_total",
    # the process, once on the served registry
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "process_open_fds",
    "python_info",
    "python_gc_objects_collected_total",
]


@pytest.fixture
def api_clients(fake_url: str) -> Iterator[list[client.ApiClient]]:
    """One client per receiver, as two processes would have."""
    made = [FakeKubeApi.api_client(fake_url) for _ in range(2)]
    yield made
    for api in made:
        api.close()  # type: ignore[no-untyped-call]


def built(api: client.ApiClient) -> tuple[DataPlane, list[Background]]:
    return build(Settings(), api)


def part(background: list[Background], kind: type[Any]) -> Any:
    (found,) = [each for each in background if isinstance(each, kind)]
    return found


def test_the_process_wide_registry_holds_none_of_ours(api_clients: list[client.ApiClient]) -> None:
    # Every module, so that a metric made at import anywhere in the package shows up here.
    for module in pkgutil.walk_packages(receiver.__path__, "receiver."):
        importlib.import_module(module.name)
    plane, background = built(api_clients[0])
    create_app(plane, background)
    ours = [metric.name for metric in REGISTRY.collect() if metric.name.startswith("jobsink")]
    assert ours == []


def served_names(metrics: Metrics) -> list[str]:
    lines = exposition(metrics).decode().splitlines()
    return [line.split()[2] for line in lines if line.startswith("# TYPE ")]


def test_the_served_registry_has_every_metric(api_clients: list[client.ApiClient]) -> None:
    plane, background = built(api_clients[0])
    create_app(plane, background)
    assert sorted(set(SERVED) - set(served_names(plane.metrics))) == []


def test_process_metrics_are_added_once_per_registry(api_clients: list[client.ApiClient]) -> None:
    plane, background = built(api_clients[0])
    create_app(plane, background)
    create_app(plane, background)  # a second app over the same parts must not fail
    assert served_names(plane.metrics).count("python_info") == 1
    assert "python_info" not in served_names(Metrics()), "only an app adds them"


def test_two_receivers_keep_separate_controller_figures(
    api_clients: list[client.ApiClient],
    fake: FakeKubeApi,
    protocol: WriteProtocol,
    sink: dict[str, Any],
) -> None:
    (one, one_parts), (two, two_parts) = (built(api) for api in api_clients)
    assert part(one_parts, SinkCache).get("default", "absent") is None  # a live GET: missing
    part(one_parts, StatusReconciler).elector._set_leading(True)
    stranded = secretless_job(fake, protocol, sink)
    assert part(two_parts, Sweeper).sweep(now=later()) == [("default", stranded)]

    def controller_figures(metrics: Metrics) -> dict[str, float]:
        return {
            "missing": figure(metrics, "jobsink_sink_cache_lookups_total", result="missing"),
            "leader": figure(metrics, "jobsink_status_leader"),
            "swept": figure(metrics, "jobsink_jobs_swept_total"),
        }

    assert controller_figures(one.metrics) == {"missing": 1, "leader": 1, "swept": 0}
    assert controller_figures(two.metrics) == {"missing": 0, "leader": 0, "swept": 1}
