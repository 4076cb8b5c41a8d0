"""Every file a node's components read: certificates, kubeconfigs, the configuration of the
kubelet, containerd, CNI, the registry and (with Services) kube-proxy and the cluster DNS."""

from __future__ import annotations

import ipaddress
import json
from dataclasses import dataclass

import yaml

from certs.authority import CertificateAuthority
from controlplane.kubeconfig import kubeconfig_document, write_kubeconfig
from controlplane.node.addresses import DNS_SERVICE_IP, SERVICE_RANGE
from controlplane.node.binaries import NodeBinaries
from controlplane.node.containerd_config import (
    ContainerdPaths,
    containerd_config,
    registry_hosts_toml,
)
from controlplane.node.kubelet_config import KubeletSettings, kubelet_configuration
from controlplane.node.layout import NodeLayout
from controlplane.node.network import cni_conflist
from controlplane.node.pki import write_node_pki
from controlplane.node.registry import RegistrySettings, registry_configuration
from controlplane.node.services import write_service_files
from controlplane.node.teardown import NodeRecord
from controlplane.pki import PkiFiles
from controlplane.ports import LOOPBACK, free_ports


@dataclass(frozen=True)
class NodeInputs:
    binaries: NodeBinaries
    authority: CertificateAuthority
    pki: PkiFiles
    server: str
    node_name: str
    pod_range: ipaddress.IPv4Network
    services: bool


@dataclass(frozen=True)
class NodePorts:
    """The loopback ports chosen for the files."""

    kubelet: int
    scheduler: int
    registry: RegistrySettings


def write_node_files(layout: NodeLayout, record: NodeRecord, given: NodeInputs) -> NodePorts:
    """Write them all (``record.kube_proxy`` is set when kube-proxy will run)."""
    binaries, authority, pki, server = given.binaries, given.authority, given.pki, given.server
    for directory in (
        layout.root,
        layout.runtime_dir,
        layout.cni_conf_dir,
        layout.ipam_dir,
        layout.kubelet_root,
        layout.pod_logs,
        layout.volume_plugins,
        layout.registry_hosts / "_default",
        layout.registry_storage,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    layout.runtime_dir.chmod(0o700)
    node_pki = write_node_pki(
        layout.pki, authority, node_name=given.node_name, serving_ips=[LOOPBACK]
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
    kubelet_port, healthz_port, scheduler_port, registry_port = free_ports(4)
    registry = RegistrySettings(registry_port, layout.registry_storage)
    layout.registry_config.write_text(yaml.safe_dump(registry_configuration(registry)))
    if given.services:
        write_service_files(
            layout,
            server=server,
            pki=pki,
            client=node_pki.kube_proxy_client,
            pod_range=given.pod_range,
            node_name=given.node_name,
        )
        record.kube_proxy = str(binaries.kube_proxy)
    settings = KubeletSettings(
        port=kubelet_port,
        healthz_port=healthz_port,
        cgroup_root=record.cgroup,
        runtime_socket=layout.containerd_socket,
        client_ca=pki.ca_cert,
        serving_cert=node_pki.kubelet_serving.cert,
        serving_key=node_pki.kubelet_serving.key,
        pod_logs=layout.pod_logs,
        volume_plugins=layout.volume_plugins,
        cluster_dns=DNS_SERVICE_IP if given.services else LOOPBACK,
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
                cgroup=f"{record.cgroup}/runtime",
            )
        )
    )
    (layout.registry_hosts / "_default" / "hosts.toml").write_text(
        registry_hosts_toml(registry.url)
    )
    conflist = cni_conflist(
        network=record.network,
        bridge=record.bridge,
        pod_range=given.pod_range,
        ipam_dir=str(layout.ipam_dir),
        service_range=SERVICE_RANGE if given.services else None,
    )
    (layout.cni_conf_dir / "10-jobsink.conflist").write_text(json.dumps(conflist, indent=2))
    return NodePorts(kubelet_port, scheduler_port, registry)
