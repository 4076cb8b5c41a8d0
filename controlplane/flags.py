"""Command lines of etcd, kube-apiserver and kube-controller-manager (pure functions).

Choices that differ from a production cluster are explained where they are made; everything
else is left at the upstream default on purpose (notably the admission plugins, so the
mutating and validating webhooks run exactly as they would in a cluster).
"""

from __future__ import annotations

from pathlib import Path

from controlplane.layout import Layout
from controlplane.ports import LOOPBACK, Ports

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"
ETCD_MEMBER = "jobsink"

#: Controllers a JobSink needs to behave as in a cluster. Without a scheduler and a kubelet,
#: the rest (deployments, nodes, volumes, ...) would only add load.
CONTROLLERS = (
    "job-controller",  # Jobs create Pods
    "garbage-collector-controller",  # owner references: Secret <- Job <- JobSink
    "namespace-controller",  # namespace deletion completes
    "serviceaccount-controller",  # the `default` ServiceAccount the admission plugin requires
    "serviceaccount-token-controller",  # legacy token Secrets, as in a real cluster
    "root-ca-certificate-publisher-controller",  # kube-root-ca.crt for projected SA volumes
    "ttl-after-finished-controller",  # spec.ttlSecondsAfterFinished, which the docs suggest
    # aggregationRule ClusterRoles get their rules, as in a cluster: the install bundle's
    # addressable resolver (dead-letter refs), Knative's roles.
    "clusterrole-aggregation-controller",
)
#: With a node: the Node's not-ready taint (set at registration) is lifted only by this one.
NODE_CONTROLLERS = ("node-lifecycle-controller",)
#: With Services on the node: Deployments (the cluster DNS, an install's own) and the
#: EndpointSlices kube-proxy and CoreDNS read.
SERVICE_CONTROLLERS = ("deployment-controller", "replicaset-controller", "endpointslice-controller")
#: Every address: IPv4 and IPv6 (the node's packet filter admits only loopback and the bridge).
ALL_ADDRESSES = "0.0.0.0"


def etcd_args(binary: Path, layout: Layout, ports: Ports) -> list[str]:
    client_url = f"http://{LOOPBACK}:{ports.etcd_client}"
    peer_url = f"http://{LOOPBACK}:{ports.etcd_peer}"
    return [
        str(binary),
        f"--name={ETCD_MEMBER}",
        f"--data-dir={layout.etcd_data}",
        f"--listen-client-urls={client_url}",
        f"--advertise-client-urls={client_url}",
        f"--listen-peer-urls={peer_url}",
        f"--initial-advertise-peer-urls={peer_url}",
        f"--initial-cluster={ETCD_MEMBER}={peer_url}",
        "--initial-cluster-state=new",
        # The data is thrown away with the run: durability only costs time on a busy disk.
        "--unsafe-no-fsync=true",
        "--log-level=warn",
    ]


def _addresses(pod_address: str | None) -> list[str]:
    if pod_address is None:
        return [
            # Loopback only; --advertise-address avoids probing for a default route.
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            # A loopback address is not a valid endpoint for the `kubernetes` Service; without
            # this the apiserver keeps trying to publish it and logs errors.
            "--endpoint-reconciler-type=none",
        ]
    return [
        # Pods reach the apiserver through the `kubernetes` Service, whose endpoint the
        # apiserver publishes itself (the default lease reconciler): the bridge's address.
        # One --bind-address only, so every address, fenced by the node's packet filter.
        f"--bind-address={ALL_ADDRESSES}",
        f"--advertise-address={pod_address}",
    ]


def apiserver_args(
    binary: Path, layout: Layout, ports: Ports, *, pod_address: str | None = None
) -> list[str]:
    """``pod_address``: where Pods reach the apiserver (a node with Services), else loopback."""
    pki = layout.pki
    return [
        str(binary),
        f"--etcd-servers=http://{LOOPBACK}:{ports.etcd_client}",
        *_addresses(pod_address),
        f"--secure-port={ports.apiserver}",
        f"--cert-dir={layout.apiserver_cert_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.ca_cert}",
        # Node first, as in kubeadm clusters: a kubelet acts as system:node:<name> and may
        # touch only its own Node and the Pods bound to it (NodeRestriction enforces writes).
        "--authorization-mode=Node,RBAC",
        "--enable-admission-plugins=NodeRestriction",
        f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
        f"--service-account-key-file={pki.service_account_public_key}",
        f"--service-account-signing-key-file={pki.service_account_key}",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        "--allow-privileged=true",
        "--profiling=false",
        # `kubectl logs`: the apiserver dials the kubelet by the node's Hostname address only
        # (the kubelet listens on loopback, never on an address another machine could reach),
        # verifies its serving certificate and presents the admin certificate.
        "--kubelet-preferred-address-types=Hostname",
        f"--kubelet-certificate-authority={pki.ca_cert}",
        f"--kubelet-client-certificate={pki.admin_cert}",
        f"--kubelet-client-key={pki.admin_key}",
    ]


def controller_manager_args(
    binary: Path, layout: Layout, ports: Ports, *, node: bool = False, services: bool = False
) -> list[str]:
    pki = layout.pki
    controllers = (
        CONTROLLERS + (NODE_CONTROLLERS if node else ()) + (SERVICE_CONTROLLERS if services else ())
    )
    node_flags = ["--node-monitor-period=1s"] if node else []
    return [
        str(binary),
        f"--kubeconfig={layout.kubeconfig}",
        f"--controllers={','.join(controllers)}",
        *node_flags,
        # A single instance: leader election would only delay start-up by a lease period.
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        f"--service-account-private-key-file={pki.service_account_key}",
        f"--root-ca-file={pki.ca_cert}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={ports.controller_manager}",
        f"--cert-dir={layout.controller_manager_cert_dir}",
        f"--tls-cert-file={pki.serving_cert}",
        f"--tls-private-key-file={pki.serving_key}",
        "--profiling=false",
    ]
