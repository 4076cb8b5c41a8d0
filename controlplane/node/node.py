"""``LocalNode``: containerd, the kubelet and kube-scheduler joined to a local control plane.

Start-up order: host checks and names; binaries and images (cached); certificates and
configuration files; the run's cgroup; kube-scheduler and containerd; images imported into
containerd; the kubelet; then wait until the Node is Ready and schedulable. Every wait has a
deadline and fails at once, with the log tail, if a component exits.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from certs.authority import CertificateAuthority
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.node import host
from controlplane.node.binaries import NodeBinaries
from controlplane.node.containerd_config import (
    CRI_NAMESPACE,
    ContainerdPaths,
    containerd_config,
    registry_hosts_toml,
)
from controlplane.node.images import (
    STAND_IN_NOTE,
    WORKLOAD_IMAGES,
    Image,
    ensure_archive,
    import_archive,
    pause_image,
)
from controlplane.node.kubelet_config import (
    NODE_NAME,
    KubeletSettings,
    kubelet_args,
    kubelet_configuration,
)
from controlplane.node.layout import NodeLayout
from controlplane.node.network import (
    POD_CIDR_ENV,
    bridge_name,
    choose_pod_range,
    cni_conflist,
    host_routes,
    network_name,
)
from controlplane.node.pki import write_node_pki
from controlplane.node.teardown import NodeRecord
from controlplane.pki import PkiFiles
from controlplane.ports import LOOPBACK, free_ports
from controlplane.processes import ManagedProcess
from controlplane.readiness import HttpsProbe, wait_for

Progress = Callable[[str], None]
Spawn = Callable[[str, list[str], Mapping[str, str]], ManagedProcess]
CGROUP_PREFIX = "/jobsink-"
NOT_READY_TAINT = "node.kubernetes.io/not-ready"


class LocalNode:
    """One node for one control plane run. ``record`` is known before anything is created."""

    def __init__(self, workdir: Path, run_id: str, pod_range: str | None = None) -> None:
        self.layout = NodeLayout(workdir, run_id)
        self.pod_range = choose_pod_range(
            host_routes(host.ip_routes()), pod_range or os.environ.get(POD_CIDR_ENV)
        )
        self.record = NodeRecord(
            root=str(self.layout.root),
            runtime_dir=str(self.layout.runtime_dir),
            cgroup=f"{CGROUP_PREFIX}{run_id}",
            bridge=bridge_name(run_id),
            network=network_name(run_id),
        )
        self.name = NODE_NAME
        self.kubelet_port = 0
        self.scheduler_port = 0
        self.ready_seconds: float | None = None

    def start(
        self,
        *,
        binaries: NodeBinaries,
        authority: CertificateAuthority,
        pki: PkiFiles,
        server: str,
        spawn: Spawn,
        say: Progress,
        timeout: float,
    ) -> None:
        began = time.monotonic()
        deadline = began + timeout

        def remaining() -> float:
            return max(1.0, deadline - time.monotonic())

        images: list[Image] = [pause_image(binaries.pause), *WORKLOAD_IMAGES]
        archives = [ensure_archive(image, say) for image in images]
        self._write_files(binaries, authority, pki, server)
        host.create_cgroup(self.record.cgroup)

        scheduler = spawn("kube-scheduler", self._scheduler_args(binaries, pki), {})
        say("starting containerd")
        path = os.pathsep.join(
            [str(binaries.containerd.parent), str(binaries.runc.parent), os.environ["PATH"]]
        )
        containerd = spawn(
            "containerd",
            [str(binaries.containerd), f"--config={self.layout.containerd_config}"],
            {"PATH": path},
        )
        wait_for(
            lambda: self._ctr(binaries, "version"),
            what="containerd to answer on its socket",
            timeout=min(60.0, remaining()),
            watched=[containerd],
        )
        references = ", ".join(image.reference for image in images)
        say(f"importing {references} into containerd; {STAND_IN_NOTE}")
        for archive in archives:
            import_archive(binaries.ctr, self.layout.containerd_socket, CRI_NAMESPACE, archive)

        say(f"starting kubelet (node {self.name}, Pod range {self.pod_range})")
        kubelet = spawn(
            "kubelet",
            kubelet_args(
                binaries.kubelet,
                config=self.layout.kubelet_config,
                kubeconfig=self.layout.kubelet_kubeconfig,
                root_dir=self.layout.kubelet_root,
                cert_dir=self.layout.kubelet_cert_dir,
            ),
            {"PATH": path},
        )
        everything = [scheduler, containerd, kubelet]
        probe = HttpsProbe(pki.ca_cert)
        nodes = _ApiReader(server, pki)
        try:
            wait_for(
                lambda: probe.ok(f"https://{LOOPBACK}:{self.scheduler_port}/healthz"),
                what="kube-scheduler /healthz",
                timeout=remaining(),
                watched=everything,
            )
            wait_for(
                lambda: nodes.node_schedulable(self.name),
                what=f"Node {self.name} to be Ready and schedulable",
                timeout=remaining(),
                watched=everything,
            )
        finally:
            probe.close()
            nodes.close()
        self.ready_seconds = time.monotonic() - began
        say(f"node {self.name} ready in {self.ready_seconds:.1f}s")

    # -- files -------------------------------------------------------------------------

    def _write_files(
        self, binaries: NodeBinaries, authority: CertificateAuthority, pki: PkiFiles, server: str
    ) -> None:
        layout = self.layout
        for directory in (
            layout.root,
            layout.runtime_dir,
            layout.cni_conf_dir,
            layout.ipam_dir,
            layout.kubelet_root,
            layout.pod_logs,
            layout.volume_plugins,
            layout.registry_hosts / "_default",
        ):
            directory.mkdir(parents=True, exist_ok=True)
        layout.runtime_dir.chmod(0o700)
        node_pki = write_node_pki(
            layout.pki, authority, node_name=self.name, serving_ips=[LOOPBACK]
        )
        for path, client in (
            (layout.kubelet_kubeconfig, node_pki.kubelet_client),
            (layout.scheduler_kubeconfig, node_pki.scheduler_client),
        ):
            write_kubeconfig(
                path,
                kubeconfig_document(
                    server=server,
                    ca_cert=pki.ca_cert,
                    client_cert=client.cert,
                    client_key=client.key,
                ),
            )
        self.kubelet_port, healthz_port, self.scheduler_port = free_ports(3)
        settings = KubeletSettings(
            port=self.kubelet_port,
            healthz_port=healthz_port,
            cgroup_root=self.record.cgroup,
            runtime_socket=layout.containerd_socket,
            client_ca=pki.ca_cert,
            serving_cert=node_pki.kubelet_serving.cert,
            serving_key=node_pki.kubelet_serving.key,
            pod_logs=layout.pod_logs,
            volume_plugins=layout.volume_plugins,
        )
        layout.kubelet_config.write_text(yaml.safe_dump(kubelet_configuration(settings)))
        layout.containerd_config.write_text(
            containerd_config(
                ContainerdPaths(
                    root=layout.containerd_root,
                    state=layout.containerd_state,
                    temp=layout.containerd_temp,
                    socket=layout.containerd_socket,
                    shim_sockets=layout.shim_sockets,
                    runc=binaries.runc,
                    runc_root=layout.runc_root,
                    cni_bin=binaries.cni_dir,
                    cni_conf=layout.cni_conf_dir,
                    registry_hosts=layout.registry_hosts,
                    opt=layout.root / "containerd" / "opt",
                    cgroup=f"{self.record.cgroup}/runtime",
                )
            )
        )
        (layout.registry_hosts / "_default" / "hosts.toml").write_text(registry_hosts_toml())
        conflist = cni_conflist(
            network=self.record.network,
            bridge=self.record.bridge,
            pod_range=self.pod_range,
            ipam_dir=str(layout.ipam_dir),
        )
        (layout.cni_conf_dir / "10-jobsink.conflist").write_text(json.dumps(conflist, indent=2))

    def _scheduler_args(self, binaries: NodeBinaries, pki: PkiFiles) -> list[str]:
        return [
            str(binaries.kube_scheduler),
            f"--kubeconfig={self.layout.scheduler_kubeconfig}",
            # A single instance: leader election would only delay the first binding.
            "--leader-elect=false",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={self.scheduler_port}",
            f"--cert-dir={self.layout.scheduler_cert_dir}",
            f"--tls-cert-file={pki.serving_cert}",
            f"--tls-private-key-file={pki.serving_key}",
            "--profiling=false",
        ]

    def _ctr(self, binaries: NodeBinaries, *args: str) -> bool:
        if not self.layout.containerd_socket.exists():
            return False
        result = subprocess.run(
            [str(binaries.ctr), f"--address={self.layout.containerd_socket}", *args],
            capture_output=True,
            check=False,
            timeout=30,
        )
        return result.returncode == 0


class _ApiReader:
    """GETs against the apiserver as the admin user (JSON answers, unlike ``HttpsProbe``)."""

    def __init__(self, server: str, pki: PkiFiles) -> None:
        context = ssl.create_default_context(cafile=str(pki.ca_cert))
        context.load_cert_chain(str(pki.admin_cert), str(pki.admin_key))
        self._server = server
        # trust_env=False: a proxy from the environment must never see loopback traffic.
        self._client = httpx.Client(verify=context, timeout=5.0, trust_env=False)

    def get(self, path: str) -> dict[str, Any] | None:
        try:
            response = self._client.get(f"{self._server}{path}")
        except httpx.HTTPError:
            return None
        if response.status_code != httpx.codes.OK:
            return None
        document: dict[str, Any] = response.json()
        return document

    def node_schedulable(self, name: str) -> bool:
        node = self.get(f"/api/v1/nodes/{name}")
        if node is None:
            return False
        conditions = node.get("status", {}).get("conditions", [])
        ready = any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)
        taints = node.get("spec", {}).get("taints", [])
        return ready and not any(t["key"] == NOT_READY_TAINT for t in taints)

    def close(self) -> None:
        self._client.close()
