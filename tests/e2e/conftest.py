"""Fixtures of the end-to-end suite: one real control plane per session, a namespace per test.

Every test under ``tests/e2e/`` is marked ``e2e`` automatically, so ``pytest -m "not e2e"``
deselects them and no control plane starts. Set ``JOBSINK_E2E_KEEP=1`` to keep the control
plane's directory (logs, kubeconfig) after the session; its path is printed at start.

Fixtures:
- ``control_plane`` (session): a started ``controlplane.ControlPlane``.
- ``kubectl`` (session): ``kubectl(*args, input=None, check=True)`` -> ``CompletedProcess``;
  raises ``controlplane.KubectlError`` (with ``.stderr``) on failure when ``check``.
- ``api_client`` (session): an official-client ``ApiClient`` with admin credentials.
- ``namespace`` (function): a fresh namespace whose ``default`` ServiceAccount exists.
- ``jobsink_crd`` (session): ``kubectl apply -f crds/``, waited until Established; fails the
  tests that need it when ``crds/`` has no JobSink CRD.
- ``webhook`` (session): ``jobsink webhook`` as a subprocess plus both webhook
  configurations (``url`` on 127.0.0.1, ``caBundle`` from the control plane's CA), waited
  until the apiserver actually calls them.
- ``receiver`` (session): ``jobsink receiver`` on a free loopback port (plain HTTP), its
  ``--public-url`` set to that address, waited until /readyz. More receivers:
  ``tests.e2e.services.start_receiver(control_plane, name="receiver-2")``.
- ``node_plane`` (session): a second control plane with a local node (containerd, kubelet,
  kube-scheduler), on which Pods run. Skips with the reason when no node can run here (not
  root, no cgroup v1, ...), unless ``JOBSINK_REQUIRE_NODE=1`` (set by ``.ci/run``): then the
  tests fail with it. Tests under ``tests/e2e/node/`` are marked ``node`` automatically.
- ``node_stack`` (session): the CRD, ``jobsink webhook`` and ``jobsink receiver`` on
  ``node_plane``; ``node_namespace`` (function): a fresh namespace there.
When a test fails, the tails of every component's log are appended to its report, and at the
end of the session the full logs are copied to a printed ``/tmp/jobsink-e2e-logs-*`` directory.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path

import pytest
from kubernetes import client

from controlplane import ControlPlane
from jobsink.types import CRD_NAME
from tests.e2e.node.residue import packet_filter_rules
from tests.e2e.node.runs import NodeStack, require_node
from tests.e2e.services import (
    RunningReceiver,
    RunningWebhook,
    apply_crds,
    create_namespace,
    delete_namespace,
    start_receiver,
    start_webhook,
)
from tests.e2e.support import unique_name

CONTROL_PLANE = pytest.StashKey[ControlPlane]()
NODE_PLANE = pytest.StashKey[ControlPlane]()
E2E_FAILED = pytest.StashKey[bool]()
_HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
        if _HERE / "node" in item.path.parents:
            item.add_marker(pytest.mark.node)
        if _HERE / "cluster" in item.path.parents:
            item.add_marker(pytest.mark.cluster)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    on_node = item.get_closest_marker("node") or item.get_closest_marker("cluster")
    key = NODE_PLANE if on_node else CONTROL_PLANE
    plane = item.config.stash.get(key, None)
    if report.failed and plane is not None and item.get_closest_marker("e2e"):
        report.sections.append(("control-plane logs (last lines)", plane.log_tails(40)))
        item.config.stash[E2E_FAILED] = True
    return report


def _terminal_printer(config: pytest.Config) -> Callable[[str], None]:
    """Print progress (a cold build takes minutes) past pytest's output capture."""
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    capture = config.pluginmanager.get_plugin("capturemanager")

    def say(message: str) -> None:
        if reporter is None or capture is None:
            return
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"[control plane] {message}")

    return say


def _session_plane(
    request: pytest.FixtureRequest, key: pytest.StashKey[ControlPlane], *, node: bool
) -> Iterator[ControlPlane]:
    config = request.config
    say = _terminal_printer(config)
    plane = ControlPlane(keep_workdir=os.environ.get("JOBSINK_E2E_KEEP") == "1", node=node)
    rules_before = packet_filter_rules(plane.run_id) if node else []
    plane.start(progress=say)
    routed_services = plane.node is not None and plane.node.services
    say(f"workdir {plane.workdir}; KUBECONFIG={plane.kubeconfig}")
    config.stash[key] = plane
    try:
        yield plane
    finally:
        del config.stash[key]
        if config.stash.get(E2E_FAILED, False):
            # The work directory goes with the control plane; the full logs outlive it.
            kept = Path(tempfile.mkdtemp(prefix="jobsink-e2e-logs-"))
            shutil.copytree(plane.layout.logs, kept, dirs_exist_ok=True)
            say(f"end-to-end tests failed: full component logs kept in {kept}")
        plane.stop()
        if routed_services:
            # The node held the machine's Service network: its rules, kube-proxy's included,
            # are gone and nothing else changed (an error at the session's end otherwise).
            assert packet_filter_rules(plane.run_id) == rules_before


@pytest.fixture(scope="session")
def control_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    yield from _session_plane(request, CONTROL_PLANE, node=False)


@pytest.fixture(scope="session")
def node_plane(request: pytest.FixtureRequest) -> Iterator[ControlPlane]:
    require_node()
    yield from _session_plane(request, NODE_PLANE, node=True)


@pytest.fixture(scope="session")
def node_stack(node_plane: ControlPlane) -> Iterator[NodeStack]:
    apply_crds(node_plane)
    # The receiver's status controller takes its Lease there, as in a Knative install.
    node_plane.kubectl("create", "namespace", "knative-eventing")
    webhook = start_webhook(node_plane)
    try:
        receiver = start_receiver(node_plane)
        try:
            yield NodeStack(node_plane, webhook, receiver)
        finally:
            receiver.stop()
    finally:
        webhook.stop()


@pytest.fixture(scope="session")
def node_api_client(node_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = node_plane.api_client()
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def node_namespace(
    node_api_client: client.ApiClient, node_stack: NodeStack, request: pytest.FixtureRequest
) -> Iterator[str]:
    name = unique_name("node", request.node.name)
    create_namespace(node_api_client, name)
    yield name
    delete_namespace(node_api_client, name)


@pytest.fixture(scope="session")
def kubectl(control_plane: ControlPlane) -> Callable[..., subprocess.CompletedProcess[str]]:
    return control_plane.kubectl


@pytest.fixture(scope="session")
def api_client(control_plane: ControlPlane) -> Iterator[client.ApiClient]:
    api = control_plane.api_client()
    try:
        yield api
    finally:
        api.close()  # type: ignore[no-untyped-call]


@pytest.fixture
def namespace(api_client: client.ApiClient, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_name("e2e", request.node.name)
    create_namespace(api_client, name)
    yield name
    # Not waited for: namespace finalization runs in the background while the next test runs.
    delete_namespace(api_client, name)


@pytest.fixture(scope="session")
def jobsink_crd(control_plane: ControlPlane) -> list[str]:
    """Names of the CRDs installed from ``crds/``, which must include the JobSink CRD.

    A missing CRD is a broken checkout, not a reason to skip: a skip would turn every test that
    needs the webhook or the receiver into a silent pass.
    """
    names = apply_crds(control_plane)
    if CRD_NAME not in names:
        pytest.fail(
            f"crds/ holds no CustomResourceDefinition named {CRD_NAME} (found: {names or 'none'});"
            " regenerate it with `make generate`",
            pytrace=False,
        )
    return names


@pytest.fixture(scope="session")
def webhook(control_plane: ControlPlane, jobsink_crd: list[str]) -> Iterator[RunningWebhook]:
    running = start_webhook(control_plane)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def receiver(control_plane: ControlPlane, jobsink_crd: list[str]) -> Iterator[RunningReceiver]:
    running = start_receiver(control_plane)
    try:
        yield running
    finally:
        running.stop()
