"""What puts Services on a node besides its network: kube-proxy's kubeconfig and configuration,
and the cluster DNS's objects, written as files and applied once the apiserver serves."""

from __future__ import annotations

import ipaddress
import subprocess
from pathlib import Path

import yaml

from controlplane.errors import ControlPlaneError
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.node.addresses import gateway
from controlplane.node.coredns import coredns_objects
from controlplane.node.kube_proxy import KubeProxySettings, kube_proxy_configuration
from controlplane.node.layout import NodeLayout
from controlplane.node.pki import CertFiles
from controlplane.pki import PkiFiles
from controlplane.ports import free_ports


def write_service_files(
    layout: NodeLayout,
    *,
    server: str,
    pki: PkiFiles,
    client: CertFiles,
    pod_range: ipaddress.IPv4Network,
    node_name: str,
) -> None:
    write_kubeconfig(
        layout.kube_proxy_kubeconfig,
        kubeconfig_document(
            server=server, ca_cert=pki.ca_cert, client_cert=client.cert, client_key=client.key
        ),
    )
    healthz_port, metrics_port = free_ports(2)
    settings = KubeProxySettings(
        kubeconfig=layout.kube_proxy_kubeconfig,
        pod_range=pod_range,
        node_address=gateway(pod_range),
        node_name=node_name,
        healthz_port=healthz_port,
        metrics_port=metrics_port,
    )
    layout.kube_proxy_config.write_text(yaml.safe_dump(kube_proxy_configuration(settings)))
    layout.addons.write_text(yaml.safe_dump_all(coredns_objects()))


def apply_addons(kubectl: Path, server: str, pki: PkiFiles, manifest: Path) -> None:
    """``kubectl apply`` as the admin user (server-side: the node owns these fields)."""
    result = subprocess.run(
        [str(kubectl), f"--server={server}", f"--certificate-authority={pki.ca_cert}",
         f"--client-certificate={pki.admin_cert}", f"--client-key={pki.admin_key}",
         "apply", "--server-side", "--field-manager=jobsink-node", "-f", str(manifest)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    if result.returncode != 0:
        raise ControlPlaneError(f"applying {manifest} failed: {result.stderr.strip()}")
