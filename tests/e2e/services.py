"""Our servers and manifests on the local control plane, started the way users start them."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from kubernetes import client

from cli import stack
from controlplane import ControlPlane, ManagedProcess
from controlplane.ports import LOOPBACK, free_ports
from controlplane.readiness import wait_for
from tests.e2e.support import CRDS, manifest_files, yaml_documents

SERVICE_TIMEOUT = 60.0


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
            wait_for(
                functools.partial(stack.crd_established, plane, name),
                what=f"CRD {name} to be Established",
                timeout=SERVICE_TIMEOUT,
            )
    return names


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


def start_webhook(plane: ControlPlane) -> RunningWebhook:
    """Run ``jobsink webhook`` on a free port, register it, and wait until it is called."""
    tls_dir = plane.workdir / "webhook"
    tls_dir.mkdir(exist_ok=True)
    serving = plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls_dir / "tls.crt").write_bytes(serving.cert_pem)
    (tls_dir / "tls.key").write_bytes(serving.key_pem)
    port = free_ports(1)[0]
    process = stack.start_webhook(plane, port, tls_dir, plane.ca_cert)
    documents = stack.register_webhook(plane, process, port, plane.authority.cert_pem)
    return RunningWebhook(plane, process, port, documents)


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
    port = free_ports(1)[0]
    return RunningReceiver(stack.start_receiver(plane, port, name=name, args=extra_args), port)
