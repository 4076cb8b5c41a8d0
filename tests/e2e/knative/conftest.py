"""Fixtures of the Knative scenarios: Knative Eventing's components as Pods on a plane of their own.

Every test here is marked ``knative`` (and ``e2e``). The package starts its own control plane
with a node that routes Services (Knative's Pods talk through Services and cluster DNS, and the
apiserver calls Knative's webhook through its Service), installs Knative Eventing on it, and
stops it when the package is done. Its own plane, not the session's node plane: Knative's
JobSink CRD has the name and group of ours, and its controller would reconcile our JobSinks.

One run at a time routes Services on a machine, so these tests are moved to the front of the
session, before anything starts the session's node plane (which would hold the Services and
leave this package's node without them).

They skip with the reason when Knative cannot run here (no node, not cached and no Go to build
it), unless ``JOBSINK_REQUIRE_KNATIVE=1`` (set by ``.ci/run``): then the tests fail with it.
"""

from __future__ import annotations

import os
from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from controlplane import ControlPlane
from controlplane.knative import (
    JobSinkPython,
    RunningKnative,
    install_jobsink_python,
    knative_unavailable_reason,
    restore_knatives_job_sink,
    start_knative,
)
from tests.e2e.knative.cluster import eventually
from tests.e2e.node.runs import require_node
from tests.e2e.support import unique_name

REQUIRE_KNATIVE = "JOBSINK_REQUIRE_KNATIVE"
SERVICES_WAIT = "JOBSINK_NODE_SERVICES_WAIT"
_HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    ours = [item for item in items if _HERE in item.path.parents]
    for item in ours:
        item.add_marker(pytest.mark.knative)
    # First in the session (deselection keeps the order): see the module's docstring.
    items[:] = ours + [item for item in items if _HERE not in item.path.parents]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed scenario's report carries the Pods of the Knative plane and the end of the logs
    of Knative's Deployments: the Pods' logs are not among the plane's process logs."""
    report = yield
    cluster = getattr(item, "funcargs", {}).get("knative_cluster")
    if report.failed and report.when == "call" and isinstance(cluster, KnativeCluster):
        plane = cluster.plane
        pods = plane.kubectl("get", "pods", "-A", "-o", "wide", check=False)
        report.sections.append(("Pods of the Knative plane", pods.stdout + pods.stderr))
        for document in cluster.knative.plan.deployments:
            metadata = document["metadata"]
            logs = plane.kubectl(
                "logs", "-n", metadata["namespace"], f"deployment/{metadata['name']}",
                "--tail=20", check=False,
            )  # fmt: skip
            report.sections.append((f"{metadata['name']} (last lines)", logs.stdout + logs.stderr))
    return report


def require_knative(plane: ControlPlane | None = None) -> None:
    """Skip (or, with JOBSINK_REQUIRE_KNATIVE=1, fail) when Knative cannot run here."""
    reason = knative_unavailable_reason(plane)
    if reason is None:
        return
    if os.environ.get(REQUIRE_KNATIVE) == "1":
        pytest.fail(f"{REQUIRE_KNATIVE}=1 but Knative cannot run here: {reason}", pytrace=False)
    pytest.skip(f"Knative cannot run here: {reason}")


@dataclass
class KnativeCluster:
    """The Knative plane, and which data plane serves Knative's ``job-sink`` Service now:
    Knative's own (``ours`` None) or JobSink for Python. Tests ask for the one they need through
    the fixtures ``jobsink_python`` and ``knatives_job_sink``; a switch happens only when the
    other one serves (about half a minute each way)."""

    plane: ControlPlane
    knative: RunningKnative
    ours: JobSinkPython | None = None

    def serve_with_jobsink_python(self) -> JobSinkPython:
        if self.ours is None:
            self.ours = install_jobsink_python(self.plane, self.knative, print)
        return self.ours

    def serve_with_knatives_job_sink(self) -> None:
        if self.ours is not None:
            restore_knatives_job_sink(self.plane, self.knative, print)
            self.ours = None


@pytest.fixture(scope="package")
def knative_cluster() -> Iterator[KnativeCluster]:
    require_node()
    require_knative()
    # Insisting on Services makes the node wait for them while another run on the machine holds
    # them, when JOBSINK_NODE_SERVICES_WAIT allows a wait; without it, this package skips.
    plane = ControlPlane(
        node=True,
        services=True if os.environ.get(SERVICES_WAIT) else None,
        keep_workdir=os.environ.get("JOBSINK_E2E_KEEP") == "1",
    )
    plane.start()
    try:
        require_knative(plane)
        running = start_knative(plane, lambda _message: None)
        yield KnativeCluster(plane, running)
    finally:
        plane.stop()


@pytest.fixture
def jobsink_python(knative_cluster: KnativeCluster) -> JobSinkPython:
    """JobSink for Python in place of Knative's ``job-sink`` data plane (the README's "With
    Knative Eventing" install); Knative's CRD, webhook and controller stay."""
    return knative_cluster.serve_with_jobsink_python()


@pytest.fixture
def knatives_job_sink(knative_cluster: KnativeCluster) -> None:
    """Knative's own ``job-sink`` Deployment behind its Service, as Knative's config has it."""
    knative_cluster.serve_with_knatives_job_sink()


@pytest.fixture
def knative_namespace(knative_cluster: KnativeCluster, request: pytest.FixtureRequest) -> str:
    """A fresh namespace on the Knative plane (left to the plane's teardown)."""
    name = unique_name("kn", request.node.name)
    knative_cluster.plane.kubectl("create", "namespace", name)
    # Pods need the namespace's default ServiceAccount, which the controller manager makes.
    eventually(
        lambda: knative_cluster.plane.kubectl(
            "get", "serviceaccount", "default", "-n", name, check=False
        ).returncode == 0,
        "the namespace's default ServiceAccount",
    )  # fmt: skip
    return name
