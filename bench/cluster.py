"""What the benchmarks that need a cluster share: a control plane (or the one a kubeconfig names),
kubectl from the venv, and a fresh namespace with the JobSink CRD established."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from controlplane import ControlPlane

REPO = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def cluster(kubeconfig: str | None) -> Iterator[str]:
    """The kubeconfig given, or a local control plane started for the run and stopped after."""
    if kubeconfig:
        yield kubeconfig
        return
    plane = ControlPlane()
    plane.start(progress=lambda message: print(f"[control plane] {message}", file=sys.stderr))
    try:
        yield str(plane.kubeconfig)
    finally:
        plane.stop()


def kubectl(kubeconfig: str, *args: str, input: str | None = None, check: bool = True) -> str:
    argv = [str(Path(sys.executable).parent / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    done = subprocess.run(argv, input=input, capture_output=True, text=True, check=False)
    if check and done.returncode:
        raise SystemExit(f"kubectl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def logger_sink_in_new_namespace(kubeconfig: str, name: str) -> dict[str, Any]:
    """Applies the CRD, waits until it is established, creates a namespace and returns the
    documentation's ``job-sink-logger`` renamed ``name`` in it (not yet applied)."""
    kubectl(kubeconfig, "apply", "-f", str(REPO / "crds"))
    established = '{.status.conditions[?(@.type=="Established")].status}'
    for _ in range(300):  # not `kubectl wait`: it fails while .status.conditions does not exist
        crd = "crd/jobsinks.sinks.knative.dev"
        if kubectl(kubeconfig, "get", crd, "-o", f"jsonpath={established}", check=False) == "True":
            break
        time.sleep(0.1)
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    sink: dict[str, Any] = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
    sink["metadata"] = {"name": name, "namespace": namespace}
    return sink
