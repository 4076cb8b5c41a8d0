"""Our servers and manifests on the local control plane, started the way users start them."""

from __future__ import annotations

import functools
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml
from kubernetes import client

from controlplane import ControlPlane, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import HttpsProbe, http_ok, wait_for
from tests.e2e.support import CRDS, JOBSINK, manifest_files, yaml_documents

SERVICE_TIMEOUT = 60.0
#: A JobSink every version of the validation accepts; dry-run created to see the webhooks work.
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


def _default_service_account_exists(core: client.CoreV1Api, namespace: str) -> bool:
    try:
        core.read_namespaced_service_account("default", namespace)
    except client.ApiException as error:
        if error.status == httpx.codes.NOT_FOUND:
            return False
        raise
    return True


def create_namespace(api_client: client.ApiClient, name: str) -> None:
    """Create ``name`` and wait for its ``default`` ServiceAccount, without which Pods are refused.

    Through the API rather than kubectl: it runs for almost every test, and a kubectl process
    per call costs a second on a busy machine.
    """
    core = client.CoreV1Api(api_client)
    core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    wait_for(
        functools.partial(_default_service_account_exists, core, name),
        what=f"ServiceAccount {name}/default",
        timeout=SERVICE_TIMEOUT,
    )


def delete_namespace(api_client: client.ApiClient, name: str) -> None:
    """Start deleting ``name``; finalization goes on in the background."""
    try:
        client.CoreV1Api(api_client).delete_namespace(name, propagation_policy="Background")
    except client.ApiException as error:
        if error.status != httpx.codes.NOT_FOUND:
            raise


def apply_crds(plane: ControlPlane) -> list[str]:
    """``kubectl apply -f crds/`` and wait until every CRD is Established; returns their names."""
    names = [
        doc["metadata"]["name"]
        for path in manifest_files(CRDS)
        for doc in yaml_documents(path)
        if doc.get("kind") == "CustomResourceDefinition"
    ]
    if names:
        plane.kubectl("apply", "-f", str(CRDS))
        for name in names:
            # Not `kubectl wait`: it errors out while .status.conditions does not exist yet.
            wait_for(
                functools.partial(_crd_established, plane, name),
                what=f"CRD {name} to be Established",
                timeout=SERVICE_TIMEOUT,
            )
    return names


def _crd_established(plane: ControlPlane, name: str) -> bool:
    crd = json.loads(plane.kubectl("get", "crd", name, "-o", "json").stdout)
    conditions = crd.get("status", {}).get("conditions") or []
    return any(c["type"] == "Established" and c["status"] == "True" for c in conditions)


def command_available(command: str) -> bool:
    """True once ``jobsink <command>`` exists (it lands with its issue).

    Only a missing command means "not yet"; any other failure of ``--help`` (an import error,
    say) fails the suite instead of silently skipping the scenarios that need the command.
    """
    found = subprocess.run(
        [str(JOBSINK), command, "--help"], capture_output=True, text=True, check=False, timeout=60
    )
    if found.returncode == 0:
        return True
    if "No such command" in found.stderr:
        return False
    raise RuntimeError(f"`jobsink {command} --help` failed ({found.returncode}):\n{found.stderr}")


@dataclass
class RunningWebhook:
    """``jobsink webhook`` serving ``https://127.0.0.1:port`` and registered with the apiserver."""

    plane: ControlPlane
    process: ManagedProcess
    port: int
    configurations: list[dict[str, Any]]

    @property
    def url(self) -> str:
        return f"https://{LOOPBACK}:{self.port}"

    @property
    def configuration_names(self) -> list[str]:
        return [doc["metadata"]["name"] for doc in self.configurations]

    def stop(self) -> None:
        for doc in self.configurations:
            self.plane.kubectl(
                "delete", doc["kind"], doc["metadata"]["name"], "--ignore-not-found", check=False
            )
        self.process.stop()


def _webhook_request_count(plane: ControlPlane, webhook_name: str) -> int:
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
    return all(_webhook_request_count(plane, name) > 0 for name in webhook_names)


def start_webhook(plane: ControlPlane) -> RunningWebhook:
    """Run ``jobsink webhook`` on a free port, register it, and wait until it is called."""
    configurations = pytest.importorskip("webhook.configurations")
    if not command_available("webhook"):
        pytest.skip("`jobsink webhook` does not exist yet")
    tls_dir = plane.workdir / "webhook"
    tls_dir.mkdir(exist_ok=True)
    serving = plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls_dir / "tls.crt").write_bytes(serving.cert_pem)
    (tls_dir / "tls.key").write_bytes(serving.key_pem)
    port = free_ports(1)[0]
    process = plane.spawn(
        "webhook",
        [
            str(JOBSINK),
            "webhook",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--tls-cert={tls_dir / 'tls.crt'}",
            f"--tls-key={tls_dir / 'tls.key'}",
            f"--kubeconfig={plane.kubeconfig}",
        ],
    )
    probe = HttpsProbe(plane.ca_cert)
    try:
        wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{port}/readyz"),
            what="jobsink webhook /readyz",
            timeout=SERVICE_TIMEOUT,
            watched=[process],
        )
    finally:
        probe.close()
    documents: list[dict[str, Any]] = configurations.local(port, plane.authority.cert_pem)
    running = RunningWebhook(plane, process, port, documents)
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
    # The apiserver learns about new configurations through an informer: poll until it uses them.
    wait_for(
        lambda: _admission_active(plane, running.configuration_names),
        what="the apiserver to call both JobSink webhooks",
        timeout=SERVICE_TIMEOUT,
        watched=[process],
    )
    return running


@dataclass
class RunningReceiver:
    """``jobsink receiver`` serving plain HTTP on ``http://127.0.0.1:port``."""

    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def stop(self) -> None:
        self.process.stop()


def start_receiver(
    plane: ControlPlane, name: str = "receiver", extra_args: Sequence[str] = ()
) -> RunningReceiver:
    """Run ``jobsink receiver`` on a free port and wait for its /readyz (JobSink cache synced).

    ``name`` names its log (``logs/<name>.log``); start several with different names.
    """
    if not command_available("receiver"):
        pytest.skip("`jobsink receiver` does not exist yet")
    port = free_ports(1)[0]
    url = f"http://{LOOPBACK}:{port}"
    process = plane.spawn(
        name,
        [
            str(JOBSINK),
            "receiver",
            f"--host={LOOPBACK}",
            f"--port={port}",
            f"--kubeconfig={plane.kubeconfig}",
            f"--public-url={url}",
            *extra_args,
        ],
    )
    wait_for(
        lambda: http_ok(f"{url}/readyz"),
        what=f"jobsink receiver ({name}) /readyz",
        timeout=SERVICE_TIMEOUT,
        watched=[process],
    )
    return RunningReceiver(process, port)
