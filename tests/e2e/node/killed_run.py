"""A run that starts a node with a running Pod, says so on stdout, and waits to be killed.

``python -m tests.e2e.node.killed_run``: the first stdout line is JSON with the work directory
and the node's record; then it sleeps until SIGKILL, leaving everything for the next run.
"""

from __future__ import annotations

import json
import time

from controlplane import ControlPlane
from tests.e2e.node.residue import SLEEPER


def main() -> None:
    plane = ControlPlane(node=True).start()
    assert plane.node is not None
    plane.kubectl("apply", "-f", "-", input=SLEEPER)
    plane.kubectl("wait", "--for=condition=Ready", "--timeout=120s", "pod/sleeper")
    report = {"workdir": str(plane.workdir), "node": plane.node.record.model_dump()}
    print(json.dumps(report), flush=True)
    while True:
        time.sleep(60)


if __name__ == "__main__":
    main()
