"""kube-proxy's configuration file and command line (pure functions).

iptables mode, as on most clusters. Choices that differ from a kubeadm node, and why:
- ``masqueradeAll``: a Pod that reaches a Service on another Pod of the same bridge is routed
  through the host and back onto the bridge; masquerading makes the answer come back the
  same way, whatever the host's ``bridge-nf-call-iptables`` says.
- ``conntrack`` all zero and ``oomScoreAdj: 0``: kube-proxy would otherwise tune machine-wide
  conntrack tables and lower its OOM score (which needs ``CAP_SYS_RESOURCE``); a test run
  changes nothing machine-wide.
- ``nodePortAddresses``: only the bridge's host address, so a NodePort never opens on an
  interface that reaches beyond the machine, and ``route_localnet`` is never switched on.
- Health and metrics on loopback ports; the node's name is the kubelet's (``localhost``).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.ports import LOOPBACK


@dataclass(frozen=True)
class KubeProxySettings:
    kubeconfig: Path
    pod_range: ipaddress.IPv4Network
    node_address: ipaddress.IPv4Address
    node_name: str
    healthz_port: int
    metrics_port: int


def kube_proxy_configuration(settings: KubeProxySettings) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",
        "clientConnection": {"kubeconfig": str(settings.kubeconfig)},
        "hostnameOverride": settings.node_name,
        "bindAddress": str(settings.node_address),
        "healthzBindAddress": f"{LOOPBACK}:{settings.healthz_port}",
        "metricsBindAddress": f"{LOOPBACK}:{settings.metrics_port}",
        "clusterCIDR": str(settings.pod_range),
        "detectLocalMode": "ClusterCIDR",
        "nodePortAddresses": [f"{settings.node_address}/32"],
        "oomScoreAdj": 0,
        "conntrack": {
            "maxPerCore": 0,
            "min": 0,
            "tcpEstablishedTimeout": "0s",
            "tcpCloseWaitTimeout": "0s",
            "udpTimeout": "0s",
            "udpStreamTimeout": "0s",
        },
        "iptables": {
            "masqueradeAll": True,
            "syncPeriod": "30s",
            "minSyncPeriod": "0s",
        },
        "logging": {"format": "text", "verbosity": 1},
    }


def kube_proxy_args(binary: Path, config: Path) -> list[str]:
    return [str(binary), f"--config={config}"]
