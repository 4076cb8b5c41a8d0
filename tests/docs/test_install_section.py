"""The README's install section is what the cluster scenarios run (tests/e2e/cluster reads
the commands from it): its shape is checked here, where no cluster is needed."""

from __future__ import annotations

import shlex

from tests.docs.conftest import REPO
from tests.e2e.cluster.readme import README_IMAGE, for_image, install_commands, trigger_command
from tests.seed import SEED_BODY, SEED_HEADERS

README = (REPO / "README.md").read_text(encoding="utf-8")
IN_CLUSTER_URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"


def test_the_install_block_is_the_commands_the_cluster_scenarios_run() -> None:
    assert install_commands(README) == [
        ["docker", "build", "-t", README_IMAGE, "."],
        ["docker", "push", README_IMAGE],
        [".venv/bin/jobsink", "manifests", "--image", README_IMAGE, "--out", "dist/jobsink.yaml"],
        ["kubectl", "apply", "-f", "dist/jobsink.yaml"],
        ["kubectl", "-n", "knative-eventing", "rollout", "status", "deployment/jobsink-webhook"],
        ["kubectl", "-n", "knative-eventing", "rollout", "status", "deployment/job-sink"],
    ]


def test_a_run_replaces_only_the_image_reference() -> None:
    manifests = install_commands(README)[2]
    local = "localhost/jobsink/jobsink:0.1.0"
    assert for_image(manifests, local) == [
        ".venv/bin/jobsink", "manifests", "--image", local, "--out", "dist/jobsink.yaml"
    ]  # fmt: skip


def test_the_trigger_is_the_documentations_kubectl_run_curl_verbatim() -> None:
    argv = shlex.split(trigger_command(README).replace("\\\n", " "))
    headers = [arg for key, value in SEED_HEADERS.items() for arg in ("-H", f"{key}: {value}")]
    assert argv == [
        "kubectl", "run", "curl", "--image=curlimages/curl", "--rm=true", "--restart=Never",
        "-ti", "--", "-X", "POST", "-v", *headers, "-d", SEED_BODY.decode(), IN_CLUSTER_URL,
    ]  # fmt: skip


def test_jobsink_dev_in_cluster_prints_the_readmes_trigger() -> None:
    from cli.in_cluster import TRIGGER

    assert trigger_command(README) == TRIGGER
