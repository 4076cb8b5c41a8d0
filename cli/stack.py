"""The local stack behind ``jobsink dev``: control plane (with a node when one can run),
certificates, CRD, webhook, receiver.

Everything listens on 127.0.0.1. The webhook and the receiver run as ``jobsink webhook`` and
``jobsink receiver`` subprocesses spawned through the control plane, so they are stopped with it
(and reclaimed by the next run if this one is killed hard). :func:`start` undoes what it did
if any step fails.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controlplane import ControlPlane, ControlPlaneError, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports, is_listening
from controlplane.readiness import HttpsProbe, http_ok, wait_for
from jobsink.types import CRD_NAME
from webhook import configurations

REPO_ROOT = Path(__file__).resolve().parents[1]
CRD = REPO_ROOT / "crds" / "jobsink.yaml"
SYSTEM_NAMESPACE = "knative-eventing"
SERVICE_TIMEOUT = 90.0

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

    @property
    def has_node(self) -> bool:
        """Pods run to their end (a kubelet runs); without a node they stay Pending."""
        return self.plane.node is not None

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


def crd_established(plane: ControlPlane, name: str) -> bool:
    """True once CustomResourceDefinition ``name`` is Established (its API is served)."""
    # Not `kubectl wait`: it errors out instead of waiting while status.conditions is still unset.
    jsonpath = '{.status.conditions[?(@.type=="Established")].status}'
    result = plane.kubectl("get", "crd", name, "-o", f"jsonpath={jsonpath}", check=False)
    return result.stdout.strip() == "True"


def _install_crd(plane: ControlPlane) -> None:
    plane.kubectl("apply", "-f", str(CRD))
    wait_for(
        lambda: crd_established(plane, CRD_NAME),
        what="the JobSink CRD",
        timeout=SERVICE_TIMEOUT,
    )


#: A JobSink every version of the validation accepts: dry-run created (never stored) to see that
#: the apiserver calls both webhooks.
ADMISSION_PROBE: dict[str, Any] = {
    "apiVersion": "sinks.knative.dev/v1alpha1",
    "kind": "JobSink",
    "metadata": {"name": "admission-probe", "namespace": "default"},
    "spec": {
        "job": {
            "spec": {
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
                    }
                }
            }
        }
    },
}


def _webhook_calls(plane: ControlPlane, webhook_name: str) -> int:
    """How often the apiserver called ``webhook_name`` (from its own /metrics)."""
    metrics = plane.kubectl("get", "--raw", "/metrics").stdout
    total = 0
    for line in metrics.splitlines():
        if line.startswith("apiserver_admission_webhook_request_total{") and (
            f'name="{webhook_name}"' in line
        ):
            total += int(float(line.rsplit(" ", 1)[1]))
    return total


def _admission_active(plane: ControlPlane, webhook_names: list[str]) -> bool:
    """Dry-run create a JobSink; true once the apiserver has called every webhook."""
    plane.kubectl(
        "create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(ADMISSION_PROBE), check=False
    )
    return all(_webhook_calls(plane, name) > 0 for name in webhook_names)


def start_webhook(plane: ControlPlane, port: int, tls: Path, ca_file: Path) -> ManagedProcess:
    """``jobsink webhook`` on 127.0.0.1:``port`` serving ``tls``/tls.crt + tls.key (signed by
    ``ca_file``), waited until /readyz."""
    process = plane.spawn(
        "webhook",
        [
            jobsink_executable(),
            "webhook",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--tls-cert={tls / 'tls.crt'}",
            f"--tls-key={tls / 'tls.key'}",
            f"--kubeconfig={plane.kubeconfig}",
        ],
    )
    probe = HttpsProbe(ca_file)
    try:
        wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{port}/readyz"),
            what="jobsink webhook /readyz",
            timeout=SERVICE_TIMEOUT,
            watched=[process],
        )
    finally:
        probe.close()
    return process


def register_webhook(
    plane: ControlPlane, process: ManagedProcess, port: int, ca_pem: bytes
) -> list[dict[str, Any]]:
    """Apply both webhook configurations for 127.0.0.1:``port`` and wait until the apiserver
    calls each of them; returns the configurations."""
    documents = configurations.local(port, ca_pem, host=LOOPBACK)
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    names = [doc["metadata"]["name"] for doc in documents]
    # The apiserver picks new configurations up through informers: wait until it uses both.
    wait_for(
        lambda: _admission_active(plane, names),
        what="the apiserver to call both JobSink webhooks",
        timeout=SERVICE_TIMEOUT,
        watched=[process],
    )
    return documents


def start_receiver(
    plane: ControlPlane,
    port: int,
    *,
    name: str = "receiver",
    args: Sequence[str] = (),
    env: Mapping[str, str] | None = None,
) -> ManagedProcess:
    """``jobsink receiver`` on http://127.0.0.1:``port``, waited until /readyz (its JobSink cache
    synced). ``name`` names its log (``logs/<name>.log``); ``args`` are extra flags."""
    url = f"http://{LOOPBACK}:{port}"
    process = plane.spawn(
        name,
        [
            jobsink_executable(),
            "receiver",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--kubeconfig={plane.kubeconfig}",
            # status.address.url points where this receiver really listens, so the URL that
            # `kubectl get jobsinks` shows works from this machine.
            f"--public-url={url}",
            *args,
        ],
        env=env,
    )
    wait_for(
        lambda: http_ok(f"{url}/readyz"),
        what=f"jobsink receiver ({name}) /readyz",
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
    node: bool = False,
) -> Stack:
    """Start everything; ``step`` announces each stage, ``say`` relays details. ``node``: also
    a local node (containerd, kubelet, kube-scheduler) so that Pods run."""
    plane = ControlPlane(workdir=workdir, node=node)
    try:
        if node:
            step(
                "control plane (etcd, kube-apiserver, kube-controller-manager) "
                "and node (containerd, kubelet, kube-scheduler)"
            )
        else:
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
        webhook = start_webhook(plane, webhook_port, certs, certs / "ca.crt")
        register_webhook(plane, webhook, webhook_port, (certs / "ca.crt").read_bytes())
        step("jobsink receiver")
        receiver_port = pick_port(receiver_port)
        receiver = start_receiver(
            plane, receiver_port, env={"JOBSINK_RECEIVER_SYSTEM_NAMESPACE": SYSTEM_NAMESPACE}
        )
    except BaseException:
        plane.stop()
        raise
    return Stack(plane, certs, webhook, webhook_port, receiver, receiver_port)
