"""The README's "With Knative Eventing" section: the commands a Knative user runs are the ones
the Knative scenarios' install runs (``controlplane.knative.install_jobsink_python``), and its
switch-back deletes exactly the objects that install adds besides the Deployment."""

from __future__ import annotations

import shlex

from controlplane.knative.jobsink_python import (
    OWN_CLUSTER_OBJECTS,
    OWN_NAMESPACED_OBJECTS,
    manifests_argv,
)
from tests.docs.conftest import REPO
from tests.e2e.cluster.readme import README_IMAGE, code_blocks, logical_lines, section

README = (REPO / "README.md").read_text(encoding="utf-8")
HEADING = "## With Knative Eventing"
BUNDLE = "dist/jobsink-knative.yaml"


def test_the_install_block_is_what_the_knative_scenarios_run() -> None:
    block = code_blocks(section(README, HEADING))[0]
    commands = [shlex.split(line) for line in logical_lines(block)]
    assert commands == [
        [".venv/bin/jobsink", *manifests_argv(README_IMAGE)[1:], "--out", BUNDLE],
        ["kubectl", "apply", "-f", BUNDLE],
        ["kubectl", "-n", "knative-eventing", "rollout", "status", "deployment/job-sink"],
    ]


def test_switching_back_deletes_what_the_install_added() -> None:
    prose = " ".join(section(README, HEADING).split())
    cluster = sorted({name.split("/")[1] for name in OWN_CLUSTER_OBJECTS})
    namespaced = sorted({name.split("/")[1] for name in OWN_NAMESPACED_OBJECTS})
    kinds = sorted({name.split("/")[0] for name in OWN_CLUSTER_OBJECTS})
    assert f"kubectl delete {','.join(kinds)} {' '.join(cluster)}" in prose
    namespaced_kinds = ",".join(name.split("/")[0] for name in OWN_NAMESPACED_OBJECTS)
    assert f"delete {namespaced_kinds} {' '.join(namespaced)}" in prose
