"""The kubelet's configuration file and command line (pure functions).

Choices that differ from a kubeadm node, and why:
- ``failCgroupV1: false`` and ``cgroupDriver: cgroupfs``: the machines this runs on have cgroup
  v1 and no systemd; since 1.35 the kubelet refuses cgroup v1 unless told otherwise.
- ``cgroupRoot``: the run's own cgroup, so two runs on one machine never share ``/kubepods``.
- Loopback only: the kubelet serves ``kubectl logs`` on 127.0.0.1 and the apiserver reaches it
  through the node's Hostname address, ``localhost`` (a loopback node IP is refused).
- Small eviction thresholds and no image garbage collection: the machine is small and shared,
  and the locally assembled images cannot be pulled again once removed.
- DNS: Pods ask the cluster DNS (``kube-dns``) when the node routes Services; without it they
  are told to ask ``127.0.0.1``, their own loopback, where nothing answers. The host's
  resolvers are never copied into a Pod (``resolvConf: ""``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.ports import LOOPBACK

#: The node's name and the address the apiserver dials for logs and exec.
NODE_NAME = "localhost"

EVICTION_HARD = {
    "memory.available": "100Mi",
    "nodefs.available": "1%",
    "nodefs.inodesFree": "1%",
    "imagefs.available": "1%",
    "imagefs.inodesFree": "1%",
}


@dataclass(frozen=True)
class KubeletSettings:
    port: int
    healthz_port: int
    cgroup_root: str
    runtime_socket: Path
    client_ca: Path
    serving_cert: Path
    serving_key: Path
    pod_logs: Path
    volume_plugins: Path
    cluster_dns: str = LOOPBACK


def kubelet_configuration(settings: KubeletSettings) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": settings.cgroup_root,
        "cgroupsPerQOS": True,
        "containerRuntimeEndpoint": f"unix://{settings.runtime_socket}",
        "address": LOOPBACK,
        "port": settings.port,
        "readOnlyPort": 0,
        "healthzBindAddress": LOOPBACK,
        "healthzPort": settings.healthz_port,
        "tlsCertFile": str(settings.serving_cert),
        "tlsPrivateKeyFile": str(settings.serving_key),
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(settings.client_ca)},
        },
        "authorization": {"mode": "Webhook"},
        "podLogsDir": str(settings.pod_logs),
        "volumePluginDir": str(settings.volume_plugins),
        "resolvConf": "",
        "clusterDNS": [settings.cluster_dns],
        "clusterDomain": "cluster.local",
        "failSwapOn": False,
        # Not -999: without CAP_SYS_RESOURCE (withheld in sandboxes) lowering it fails.
        "oomScoreAdj": 0,
        "makeIPTablesUtilChains": False,
        "evictionHard": EVICTION_HARD,
        "evictionPressureTransitionPeriod": "30s",
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        # Ready sooner: the status is compared every second and sent when it changes.
        "nodeStatusUpdateFrequency": "1s",
        "syncFrequency": "10s",
        "serializeImagePulls": False,
        "registerNode": True,
        "enableServer": True,
        "enableDebuggingHandlers": True,
        "logging": {"format": "text", "verbosity": 1},
    }


def kubelet_args(
    binary: Path, *, config: Path, kubeconfig: Path, root_dir: Path, cert_dir: Path
) -> list[str]:
    return [
        str(binary),
        f"--config={config}",
        f"--kubeconfig={kubeconfig}",
        f"--root-dir={root_dir}",
        f"--cert-dir={cert_dir}",
        f"--hostname-override={NODE_NAME}",
    ]
