"""The start-up sequence: etcd, kube-apiserver, kube-controller-manager, each waited for in turn.

Each step waits on the component's own health endpoint and fails at once, with the log tail,
if any component started so far exits. One deadline covers the whole sequence.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from controlplane import flags
from controlplane.binaries import Binaries
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.layout import Layout
from controlplane.ports import LOOPBACK, Ports
from controlplane.processes import ManagedProcess
from controlplane.readiness import HttpsProbe, http_ok, wait_for

Progress = Callable[[str], None]
#: Starts and records one component: ``spawn(name, argv)``.
Spawn = Callable[[str, list[str]], ManagedProcess]

#: What must exist before a Pod can be created with the ServiceAccount admission plugin on.
DEFAULT_SERVICE_ACCOUNT = "/api/v1/namespaces/default/serviceaccounts/default"


def server_url(ports: Ports) -> str:
    return f"https://{LOOPBACK}:{ports.apiserver}"


def launch(
    spawn: Spawn,
    binaries: Binaries,
    layout: Layout,
    ports: Ports,
    *,
    timeout: float,
    say: Progress,
    node: bool = False,
    pod_address: str | None = None,
) -> None:
    """Start the three components; returns once Pods can be created. ``pod_address``: the
    address Pods reach the apiserver on (a node that routes Services), else loopback only."""
    pki = layout.pki
    server = server_url(ports)
    deadline = time.monotonic() + timeout

    def remaining() -> float:
        return max(1.0, deadline - time.monotonic())

    def start(name: str, argv: list[str]) -> ManagedProcess:
        say(f"starting {name}")
        return spawn(name, argv)

    etcd = start("etcd", flags.etcd_args(binaries.etcd, layout, ports))
    waited = wait_for(
        lambda: http_ok(f"http://{LOOPBACK}:{ports.etcd_client}/health"),
        what="etcd /health",
        timeout=remaining(),
        watched=[etcd],
    )
    say(f"etcd ready ({waited:.1f}s)")

    write_kubeconfig(
        layout.kubeconfig,
        kubeconfig_document(
            server=server,
            ca_cert=pki.ca_cert,
            client_cert=pki.admin_cert,
            client_key=pki.admin_key,
        ),
    )
    apiserver = start(
        "kube-apiserver",
        flags.apiserver_args(binaries.kube_apiserver, layout, ports, pod_address=pod_address),
    )
    probe = HttpsProbe(pki.ca_cert, pki.admin_cert, pki.admin_key)
    try:
        waited = wait_for(
            lambda: probe.ok(f"{server}/readyz"),
            what="kube-apiserver /readyz",
            timeout=remaining(),
            watched=[etcd, apiserver],
        )
        say(f"kube-apiserver ready ({waited:.1f}s)")

        kcm = start(
            "kube-controller-manager",
            flags.controller_manager_args(
                binaries.kube_controller_manager,
                layout,
                ports,
                node=node,
                services=pod_address is not None,
            ),
        )
        everything = [etcd, apiserver, kcm]
        waited = wait_for(
            lambda: probe.ok(f"https://{LOOPBACK}:{ports.controller_manager}/healthz"),
            what="kube-controller-manager /healthz",
            timeout=remaining(),
            watched=everything,
        )
        # Pods are refused until the serviceaccount controller has made `default`.
        waited += wait_for(
            lambda: probe.ok(f"{server}{DEFAULT_SERVICE_ACCOUNT}"),
            what="the default ServiceAccount",
            timeout=remaining(),
            watched=everything,
        )
        say(f"kube-controller-manager ready ({waited:.1f}s)")
    finally:
        probe.close()
