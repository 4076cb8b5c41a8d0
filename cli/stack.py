"""The local stack behind ``jobsink dev``: control plane, certificates, CRD, webhook, receiver.

Everything listens on 127.0.0.1. The webhook and the receiver run as ``jobsink webhook`` and
``jobsink receiver`` subprocesses spawned through the control plane, so they are stopped with it
(and reclaimed by the next run if this one is killed hard). :func:`start` undoes what it did
if any step fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from controlplane import ControlPlane, ControlPlaneError, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports, is_listening
from controlplane.readiness import HttpsProbe, http_ok, wait_for
from webhook import configurations

REPO_ROOT = Path(__file__).resolve().parents[1]
CRD = REPO_ROOT / "crds" / "jobsink.yaml"
SYSTEM_NAMESPACE = "knative-eventing"
SERVICE_TIMEOUT = 90.0
#: A JobSink used to see that the apiserver calls the webhooks: dry-run created, never stored.
ADMISSION_PROBE = REPO_ROOT / "examples" / "job-sink-logger.yaml"

Say = Callable[[str], None]


def jobsink_executable() -> str:
    """The ``jobsink`` script of this interpreter's environment (the venv), else from $PATH."""
    beside = Path(sys.executable).with_name("jobsink")
    if beside.exists():
        return str(beside)
    found = shutil.which("jobsink")
    if found is None:
        raise ControlPlaneError("the jobsink command is not installed (pip install -e .)")
    return found


def pick_port(preferred: int) -> int:
    """``preferred`` if it is free (0 or taken: any free port)."""
    if preferred and not is_listening(preferred):
        return preferred
    return free_ports(1)[0]


@dataclass
class Stack:
    plane: ControlPlane
    certs: Path
    webhook: ManagedProcess
    webhook_port: int
    receiver: ManagedProcess
    receiver_port: int

    @property
    def receiver_url(self) -> str:
        return f"http://{LOOPBACK}:{self.receiver_port}"

    @property
    def webhook_url(self) -> str:
        return f"https://{LOOPBACK}:{self.webhook_port}"

    @property
    def kubeconfig(self) -> Path:
        return self.plane.kubeconfig

    def stop(self) -> None:
        """Stops the webhook and receiver, then the control plane. Idempotent."""
        self.plane.stop()


def _write_certs(directory: Path, say: Say) -> None:
    """A CA and a serving certificate for 127.0.0.1 and localhost, by ``jobsink certs create``."""
    result = subprocess.run(
        [jobsink_executable(), "certs", "create", f"--out={directory}"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    if result.returncode != 0:
        raise ControlPlaneError(f"jobsink certs create failed: {result.stderr.strip()}")
    say(result.stdout.strip())


def _established(plane: ControlPlane) -> bool:
    # Not `kubectl wait`: it errors out instead of waiting while status.conditions is still unset.
    jsonpath = '{.status.conditions[?(@.type=="Established")].status}'
    result = plane.kubectl(
        "get", "crd", "jobsinks.sinks.knative.dev", "-o", f"jsonpath={jsonpath}", check=False
    )
    return result.stdout.strip() == "True"


def _install_crd(plane: ControlPlane) -> None:
    plane.kubectl("apply", "-f", str(CRD))
    wait_for(lambda: _established(plane), what="the JobSink CRD", timeout=SERVICE_TIMEOUT)


def _admission_active(plane: ControlPlane) -> bool:
    """True once a dry-run create comes back defaulted, i.e. the apiserver calls our webhooks."""
    result = plane.kubectl(
        "create", "--dry-run=server", "-o", "json", "-f", str(ADMISSION_PROBE), check=False
    )
    if result.returncode != 0:
        return False
    return "K_EXECUTION_MODE" in json.dumps(json.loads(result.stdout))


def _start_webhook(plane: ControlPlane, certs: Path, port: int) -> ManagedProcess:
    process = plane.spawn(
        "webhook",
        [
            jobsink_executable(),
            "webhook",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--tls-cert={certs / 'tls.crt'}",
            f"--tls-key={certs / 'tls.key'}",
            f"--kubeconfig={plane.kubeconfig}",
        ],
    )
    probe = HttpsProbe(certs / "ca.crt")
    try:
        wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{port}/readyz"),
            what="jobsink webhook /readyz",
            timeout=SERVICE_TIMEOUT,
            watched=[process],
        )
    finally:
        probe.close()
    documents = configurations.local(port, (certs / "ca.crt").read_bytes(), host=LOOPBACK)
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    # The apiserver picks new configurations up through an informer: wait until it uses them.
    wait_for(
        lambda: _admission_active(plane),
        what="the apiserver to call the JobSink webhooks",
        timeout=SERVICE_TIMEOUT,
        watched=[process],
    )
    return process


def _start_receiver(plane: ControlPlane, port: int) -> ManagedProcess:
    url = f"http://{LOOPBACK}:{port}"
    process = plane.spawn(
        "receiver",
        [
            jobsink_executable(),
            "receiver",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--kubeconfig={plane.kubeconfig}",
            # status.address.url points where this receiver really listens, so the URL that
            # `kubectl get jobsinks` shows works from this machine.
            f"--public-url={url}",
        ],
        env={"JOBSINK_RECEIVER_SYSTEM_NAMESPACE": SYSTEM_NAMESPACE},
    )
    wait_for(
        lambda: http_ok(f"{url}/readyz"),
        what="jobsink receiver /readyz",
        timeout=SERVICE_TIMEOUT,
        watched=[process],
    )
    return process


def start(
    workdir: Path,
    *,
    say: Say,
    step: Callable[[str], None],
    webhook_port: int = 0,
    receiver_port: int = 8080,
) -> Stack:
    """Start everything; ``step`` announces each stage, ``say`` relays details."""
    plane = ControlPlane(workdir=workdir)
    try:
        step("control plane (etcd, kube-apiserver, kube-controller-manager)")
        plane.start(progress=say)
        step("certificates for the webhook")
        certs = workdir / "certs"
        _write_certs(certs, say)
        step("JobSink CRD and the system namespace")
        _install_crd(plane)
        plane.kubectl("create", "namespace", SYSTEM_NAMESPACE)
        step("jobsink webhook, registered with the apiserver")
        webhook_port = pick_port(webhook_port)
        webhook = _start_webhook(plane, certs, webhook_port)
        step("jobsink receiver")
        receiver_port = pick_port(receiver_port)
        receiver = _start_receiver(plane, receiver_port)
    except BaseException:
        plane.stop()
        raise
    return Stack(plane, certs, webhook, webhook_port, receiver, receiver_port)
