"""Knative Eventing's receiver (``cmd/jobsink`` of knative.dev/eventing) as a host process on the
benchmark's control plane.

What it needs outside a cluster, read from its ``main.go`` and the knative.dev/pkg it pins:

* ``SYSTEM_NAMESPACE``: where it reads its ConfigMaps and TLS Secret (``system.Namespace()``
  panics without it);
* the ConfigMaps ``config-logging`` (read once at start), ``config-observability`` and
  ``config-features`` (watched: the informed watcher refuses to start while one is missing), and
  ``config-tracing``, copied from the module's own ``config/core/configmaps/``;
* the EventPolicy CRD (an EventPolicy informer must sync before it serves);
* a JobSink ``status.address``: the handler reads ``js.Status.Address.Audience`` on every POST
  and dereferences a nil ``Address`` otherwise; no controller of Knative's runs here, so the
  address is written through the status subresource;
* ports 8080 (HTTP) and 8443 (TLS) on every interface, fixed in its code: both must be free;
* a kubeconfig: ``--kubeconfig`` (or ``KUBECONFIG``), and the client limits from
  ``--kube-api-qps`` / ``--kube-api-burst`` or ``KUBE_API_QPS`` / ``KUBE_API_BURST``; unset, they
  are client-go's defaults, 5 requests/s with bursts of 10.

It listens only once its informers have synced, so the first HTTP answer means ready.

One thing it does at start-up would leave the machine: its OIDC verifier fetches
``https://kubernetes.default.svc/.well-known/openid-configuration`` with the feature flags' defaults
(before its ConfigMap watcher has read ``config-features``, so no ConfigMap setting prevents it),
whether or not ``authentication-oidc`` is on, which asks the machine's DNS resolver for that name.
The process therefore gets ``HTTPS_PROXY``/``HTTP_PROXY`` naming a closed port on 127.0.0.1: Go
sends requests for other hosts to the proxy without resolving them, the connection is refused, and
the verifier logs that it may be ignored while ``authentication-oidc`` is off (it is off here).
Loopback addresses are never proxied by Go, so its apiserver traffic is unchanged.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from bench.cluster import kubectl
from bench.receiver_process import pid_listening_on
from controlplane.knative.binaries import KNATIVE_VERSION, ensure_knative
from controlplane.ports import free_ports

REPO = Path(__file__).resolve().parents[1]
SYSTEM_NAMESPACE = "knative-eventing"
HTTP_PORT = 8080
TLS_PORT = 8443
CONFIG_MAPS = ("config-features", "config-logging", "config-observability", "config-tracing")
READY_TIMEOUT = 120.0


@dataclass(frozen=True)
class ClientLimits:
    """Knative's client-side rate limit towards the apiserver; None keeps its default."""

    qps: float | None = None
    burst: int | None = None

    def environment(self) -> dict[str, str]:
        env = {}
        if self.qps is not None:
            env["KUBE_API_QPS"] = f"{self.qps:g}"
        if self.burst is not None:
            env["KUBE_API_BURST"] = str(self.burst)
        return env

    def describe(self) -> str:
        if self.qps is None and self.burst is None:
            return "client-go defaults (QPS 5, burst 10)"
        return f"KUBE_API_QPS={self.qps:g} KUBE_API_BURST={self.burst}"


def port_taken(port: int) -> bool:
    """True if binding ``port`` on every interface fails, as Knative's listener would."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("", port))
        except OSError:
            return True
    return False


def check_ports() -> None:
    taken = [port for port in (HTTP_PORT, TLS_PORT) if port_taken(port)]
    if taken:
        raise SystemExit(
            f"Knative's receiver listens on ports {HTTP_PORT} and {TLS_PORT} (fixed in its code), "
            f"and {', '.join(map(str, taken))} is in use by another process on this machine: "
            "run the benchmark once it is free, or without the Knative contenders "
            "(--contenders ours)"
        )


def config_maps(configmaps_directory: Path) -> list[dict[str, Any]]:
    """The ConfigMaps it reads, as the module ships them (in the system namespace)."""
    found = []
    for file in sorted(configmaps_directory.glob("*.yaml")):
        for document in yaml.safe_load_all(file.read_text()):
            wanted = document and document.get("kind") == "ConfigMap"
            if wanted and document["metadata"]["name"] in CONFIG_MAPS:
                document["metadata"]["namespace"] = SYSTEM_NAMESPACE
                found.append(document)
    missing = set(CONFIG_MAPS) - {doc["metadata"]["name"] for doc in found}
    if missing:
        raise SystemExit(f"Knative's config/core/configmaps has no {sorted(missing)}")
    return found


def install_prerequisites(kubeconfig: str) -> None:
    """The EventPolicy CRD, the system namespace and its ConfigMaps (idempotent)."""
    files = ensure_knative(lambda message: print(f"[knative] {message}", flush=True))
    kubectl(kubeconfig, "apply", "-f", str(REPO / "crds" / "knative" / "eventpolicy.yaml"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/eventpolicies.eventing.knative.dev")  # fmt: skip
    namespace = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": SYSTEM_NAMESPACE}}
    documents = [namespace, *config_maps(files.config("core") / "configmaps")]
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps({"apiVersion": "v1", "kind": "List",
                                                                "items": documents}))  # fmt: skip


def publish_address(kubeconfig: str, namespace: str, sink: str) -> None:
    """Writes the ``status.address`` Knative's controller would, pointing at this process."""
    url = f"http://127.0.0.1:{HTTP_PORT}/{namespace}/{sink}"
    status = {"status": {"address": {"name": "http", "url": url}}}
    kubectl(kubeconfig, "patch", "jobsink", sink, "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps(status))  # fmt: skip


def _answers(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1) as sock:
        sock.settimeout(2)
        sock.sendall(b"GET / HTTP/1.1\r\nhost: bench\r\n\r\n")
        return sock.recv(16).startswith(b"HTTP/1.")
    return False


@contextlib.contextmanager
def knative_receiver(
    kubeconfig: str, limits: ClientLimits, log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Knative's receiver, started and ready; terminated (by its pid) on exit."""
    check_ports()
    binary = ensure_knative(lambda message: print(f"[knative] {message}", flush=True)).binary(
        "jobsink"
    )
    # Limits inherited from the caller's environment would silently change "shipped defaults".
    inherited = {k: v for k, v in os.environ.items() if k not in ("KUBE_API_QPS", "KUBE_API_BURST")}
    env = {**inherited, "SYSTEM_NAMESPACE": SYSTEM_NAMESPACE, **limits.environment()}
    nowhere = f"http://127.0.0.1:{free_ports(1)[0]}"
    env |= {"HTTPS_PROXY": nowhere, "HTTP_PROXY": nowhere, "NO_PROXY": "", "https_proxy": nowhere,
            "http_proxy": nowhere, "no_proxy": ""}  # fmt: skip
    with log_path.open("ab") as log:
        process = subprocess.Popen(
            [str(binary), f"--kubeconfig={kubeconfig}"], stdout=log, stderr=log, env=env
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while not _answers(HTTP_PORT):
            if process.poll() is not None or time.monotonic() > deadline:
                tail = log_path.read_text(errors="replace")[-3000:]
                raise SystemExit(
                    f"Knative's jobsink {KNATIVE_VERSION} did not become ready "
                    f"(exit code {process.poll()}); its log ends:\n{tail}"
                )
            time.sleep(0.1)
        if pid_listening_on(HTTP_PORT) != process.pid:
            # Another process took the port between the check and the start: never measure it.
            raise SystemExit(f"port {HTTP_PORT} answers, but not from Knative's receiver")
        yield process
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
