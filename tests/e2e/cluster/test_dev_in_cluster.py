"""``jobsink dev --in-cluster`` as a user runs it: the install on the local node, the logger
ready at its in-cluster URL, the documentation's trigger printed, and Ctrl-C leaving nothing.

Runs before the installation scenarios (file order) with a node of its own: only one node at
a time holds the machine's Service network, and the session's node starts after this test.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from cli.in_cluster import LOGGER_URL, TRIGGER
from tests.cli.test_dev import _processes_mentioning, _read_until
from tests.e2e.node.runs import require_node

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
JOBSINK = str(Path(sys.executable).with_name("jobsink"))


def test_dev_in_cluster_installs_applies_the_logger_and_ctrl_c_stops_everything(
    tmp_path: Path,
) -> None:
    require_node()
    workdir = tmp_path / "dev"
    process = subprocess.Popen(
        [JOBSINK, "dev", "--in-cluster", f"--workdir={workdir}"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        output = _read_until(process, "Ctrl-C stops everything", 600)
        output += _read_until(process, "kubectl logs job/", 10)
        kubectl = [str(Path(sys.executable).with_name("kubectl")),
                   f"--kubeconfig={workdir / 'kubeconfig'}"]  # fmt: skip
        listed = subprocess.run([*kubectl, "get", "jobsinks", "-A", "-o", "json"],
                                capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
        (sink,) = json.loads(listed.stdout)["items"]
        assert sink["status"]["address"]["url"] == LOGGER_URL
        pods = subprocess.run([*kubectl, "get", "pods", "-n", "knative-eventing", "-o", "json"],
                              capture_output=True, text=True, check=True, timeout=60)  # fmt: skip
        ready = [
            pod["metadata"]["name"] for pod in json.loads(pods.stdout)["items"]
            if any(c["type"] == "Ready" and c["status"] == "True"
                   for c in pod["status"].get("conditions", []))
        ]  # fmt: skip
        assert len(ready) == 4, ready
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    remaining, _ = process.communicate(timeout=180)
    assert process.returncode == 0, output + remaining
    assert TRIGGER in output
    assert "nothing left running" in remaining
    assert _processes_mentioning(str(workdir)) == []
