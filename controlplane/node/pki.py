"""The node's own certificates, issued by the control plane's CA.

The kubelet authenticates as ``system:node:<node name>`` in group ``system:nodes``, which the
apiserver's Node authorizer recognises, exactly as in a kubeadm cluster; the scheduler as
``system:kube-scheduler`` and kube-proxy as ``system:kube-proxy``, which the default RBAC roles
already bind. The kubelet's serving
certificate names the loopback address the apiserver dials for ``kubectl logs``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from certs.authority import CertificateAuthority, KeyPair

NODE_GROUP = "system:nodes"
SCHEDULER_USER = "system:kube-scheduler"
#: Bound to ``system:node-proxier`` by the default RBAC policy, as kube-proxy is on any cluster.
KUBE_PROXY_USER = "system:kube-proxy"


@dataclass(frozen=True)
class CertFiles:
    cert: Path
    key: Path


@dataclass(frozen=True)
class NodePki:
    kubelet_client: CertFiles
    kubelet_serving: CertFiles
    scheduler_client: CertFiles
    kube_proxy_client: CertFiles


def node_user(node_name: str) -> str:
    return f"system:node:{node_name}"


def _write(directory: Path, name: str, pair: KeyPair) -> CertFiles:
    files = CertFiles(directory / f"{name}.crt", directory / f"{name}.key")
    files.cert.write_bytes(pair.cert_pem)
    files.key.touch(mode=0o600, exist_ok=True)
    files.key.write_bytes(pair.key_pem)
    return files


def write_node_pki(
    directory: Path, authority: CertificateAuthority, *, node_name: str, serving_ips: list[str]
) -> NodePki:
    directory.mkdir(parents=True, exist_ok=True)
    client = authority.issue_client(node_user(node_name), organizations=[NODE_GROUP])
    serving = authority.issue_server(dns_names=[node_name], ips=serving_ips)
    scheduler = authority.issue_client(SCHEDULER_USER)
    kube_proxy = authority.issue_client(KUBE_PROXY_USER)
    return NodePki(
        kubelet_client=_write(directory, "kubelet-client", client),
        kubelet_serving=_write(directory, "kubelet-serving", serving),
        scheduler_client=_write(directory, "scheduler-client", scheduler),
        kube_proxy_client=_write(directory, "kube-proxy-client", kube_proxy),
    )
