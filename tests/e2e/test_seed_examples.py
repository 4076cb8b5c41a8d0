"""Scenario 1: every JobSink of the seed document applies verbatim and comes back defaulted.

The examples are the seed's YAML copied into ``examples/``; the CRD comes from ``crds/`` and
the defaulting comes from ``jobsink webhook`` running as a subprocess (see ``conftest``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from controlplane import ControlPlane
from tests.e2e.services import RunningWebhook
from tests.e2e.support import jobsink_examples, yaml_documents

#: The JobSinks of ../shared/seed/jobsink-docs.txt, by name.
SEED_JOBSINKS = {
    "job-sink-logger",
    "job-sink-custom-mount-path",
    "job-sink-success",
    "job-sink-failure",
}
EXAMPLES = jobsink_examples()


def _jobsinks(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml_documents(path) if doc.get("kind") == "JobSink"]


def test_every_seed_jobsink_has_an_example() -> None:
    names = {doc["metadata"]["name"] for path in EXAMPLES for doc in _jobsinks(path)}
    assert names >= SEED_JOBSINKS, f"missing from examples/: {SEED_JOBSINKS - names}"


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.stem for path in EXAMPLES])
def test_seed_jobsink_applies_and_shows_its_defaults(
    path: Path, control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    defaults = pytest.importorskip("jobsink.defaults")
    applied = control_plane.kubectl("apply", "-n", namespace, "-f", str(path))
    stored: dict[str, dict[str, Any]] = {}
    for sink in _jobsinks(path):
        name = sink["metadata"]["name"]
        assert f"jobsink.sinks.knative.dev/{name} created" in applied.stdout
        shown = control_plane.kubectl("get", "jobsink", name, "-n", namespace, "-o", "yaml")
        stored[name] = yaml.safe_load(shown.stdout)
        # The webhook's defaults are stored, exactly as the pure function computes them.
        assert stored[name]["spec"] != sink["spec"]
        assert stored[name]["spec"] == defaults.default(sink)["spec"]

    # Applying again (an UPDATE through both webhooks) is accepted and stores nothing new:
    # kubectl sends the list without the defaults, the webhook adds them back, and the
    # apiserver sees an unchanged object.
    control_plane.kubectl("apply", "-n", namespace, "-f", str(path))
    for name, before in stored.items():
        after = yaml.safe_load(
            control_plane.kubectl("get", "jobsink", name, "-n", namespace, "-o", "yaml").stdout
        )
        assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
        assert after["spec"] == before["spec"]
