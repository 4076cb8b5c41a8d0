"""Fixtures of the fault and hostile-input suites.

Every test here is marked ``faults`` (and ``e2e`` by the parent conftest). ``fault_cluster``
gives each test a control plane of its own, in a pytest temporary directory that is kept after
the run (logs of every component, restarts included, under ``<dir>/logs``); a failing test's
report ends with the tails of those logs.

``receiver_target`` and ``webhook_target`` (``targets.Target``) are the hostile-input suite's own
server processes on the session's control plane, started once for the package.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from controlplane import ControlPlane
from tests.e2e.faults.cluster import FaultCluster, start_fault_cluster, suspended_sink
from tests.e2e.faults.targets import Target, start_receiver_target, start_webhook_target
from tests.e2e.services import create_namespace, delete_namespace
from tests.e2e.support import unique_name

_HERE = Path(__file__).parent
FAULT_CLUSTER = pytest.StashKey[FaultCluster]()


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.faults)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    cluster = item.stash.get(FAULT_CLUSTER, None)
    if report.failed and cluster is not None:
        plane = cluster.plane
        report.sections.append(
            (f"dedicated control plane {plane.workdir} (logs kept there)", plane.log_tails(30))
        )
    return report


@pytest.fixture
def fault_cluster(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FaultCluster]:
    """Control plane, JobSink ``faults/fault-sink`` (suspended Jobs), receivers a and b."""
    cluster = start_fault_cluster(tmp_path_factory.mktemp("fault-plane"))
    request.node.stash[FAULT_CLUSTER] = cluster
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="package")
def receiver_target(
    control_plane: ControlPlane, jobsink_crd: list[str], api_client: client.ApiClient
) -> Iterator[Target]:
    namespace = unique_name("hostile")
    create_namespace(api_client, namespace)
    sink = suspended_sink("hostile-sink", namespace)
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(sink))
    target = start_receiver_target(control_plane, namespace, "hostile-sink")
    try:
        yield target
    finally:
        target.process.stop()
        delete_namespace(api_client, namespace)


@pytest.fixture(scope="package")
def webhook_target(control_plane: ControlPlane, jobsink_crd: list[str]) -> Iterator[Target]:
    target = start_webhook_target(control_plane, control_plane.workdir / "webhook-hostile")
    try:
        yield target
    finally:
        target.process.stop()
