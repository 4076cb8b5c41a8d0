"""``python -m controlplane --kueue``: Kueue's webhooks answer on a plane of its own, the host's
``/etc`` never sees Kueue's certificate, and SIGTERM stops everything, Kueue included."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

from controlplane.binaries import find_kubectl
from controlplane.kueue.manifests import probe_job
from tests.e2e.node.kueue.conftest import require_kueue
from tests.e2e.support import REPO


def test_python_m_controlplane_kueue_serves_its_webhooks_and_stops_cleanly() -> None:
    require_kueue()
    runner = subprocess.Popen(
        [sys.executable, "-m", "controlplane", "--no-node", "--kueue"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert runner.stdout is not None
        line = runner.stdout.readline()
        assert line.startswith("export KUBECONFIG="), line
        kubeconfig = Path(line.strip().removeprefix("export KUBECONFIG="))
        workdir = kubeconfig.parent
        created = subprocess.run(
            [str(find_kubectl()), f"--kubeconfig={kubeconfig}", "create", "--dry-run=server",
             "-n", "default", "-o", "json", "-f", "-"],
            input=json.dumps(probe_job("any-queue")), capture_output=True, text=True,
            timeout=60, check=True,
        )  # fmt: skip
        assert json.loads(created.stdout)["spec"]["suspend"] is True
        # Kueue reads its metrics certificate under /etc, from an overlay only it sees.
        assert not Path("/etc/kueue").exists()
    finally:
        runner.send_signal(signal.SIGTERM)
        code = runner.wait(timeout=90)
    assert code == 0
    assert not workdir.exists()
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, check=False)
    assert leftovers.stdout == b""
