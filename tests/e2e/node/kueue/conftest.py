"""Fixtures of the Kueue scenarios: Kueue's manager on the node plane, the documentation's queues.

Every test here is marked ``kueue`` (and ``node``, as everything under ``tests/e2e/node``).
Kueue starts once for this package on the node plane and is stopped (its webhooks unregistered
first) when the package is done, so the other node scenarios never go through its webhooks.
It skips with the reason when it cannot run here (not root, not cached and no Go to build it),
unless ``JOBSINK_REQUIRE_KUEUE=1`` (set by ``.ci/run``): then the tests fail with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.kueue import RunningKueue, kueue_unavailable_reason, start_kueue
from tests.e2e.node.kueue.scenario import apply_queues
from tests.e2e.node.runs import NodeStack

REQUIRE_KUEUE = "JOBSINK_REQUIRE_KUEUE"
_HERE = Path(__file__).parent


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents:
            item.add_marker(pytest.mark.kueue)


def require_kueue() -> None:
    """Skip (or, with JOBSINK_REQUIRE_KUEUE=1, fail) when Kueue cannot run on this machine."""
    reason = kueue_unavailable_reason()
    if reason is None:
        return
    if os.environ.get(REQUIRE_KUEUE) == "1":
        pytest.fail(f"{REQUIRE_KUEUE}=1 but Kueue cannot run here: {reason}", pytrace=False)
    pytest.skip(f"Kueue cannot run here: {reason}")


@pytest.fixture(scope="package")
def kueue(node_stack: NodeStack) -> Iterator[RunningKueue]:
    require_kueue()
    running = start_kueue(node_stack.plane, lambda _message: None)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def kueue_namespace(kueue: RunningKueue, node_stack: NodeStack, node_namespace: str) -> str:
    """A fresh namespace on the node plane with the documentation's queues applied."""
    apply_queues(node_stack.plane, node_namespace)
    return node_namespace
