"""The addresses a node's cluster network is made of (pure).

The bridge's host side holds the first address of the Pod range: the Pods' gateway to the
Service range and the address the apiserver advertises to them. The Service range is the
control plane's; ``kubernetes`` and ``kube-dns`` take the addresses a kubeadm cluster gives
them in it (the first, and the tenth).
"""

from __future__ import annotations

import ipaddress

#: The control plane's ``--service-cluster-ip-range`` (``controlplane.flags``, which imports
#: the node's package and so cannot be imported from here; a test keeps the two equal).
SERVICE_RANGE = ipaddress.IPv4Network("10.0.0.0/24")
KUBERNETES_SERVICE_IP = str(SERVICE_RANGE[1])
DNS_SERVICE_IP = str(SERVICE_RANGE[10])
CLUSTER_DOMAIN = "cluster.local"
#: The names a Pod may use for the apiserver, as in a kubeadm cluster's serving certificate.
KUBERNETES_SERVICE_NAMES = (
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
)


def gateway(pod_range: ipaddress.IPv4Network) -> ipaddress.IPv4Address:
    """The bridge's host-side address: the first address of the Pod range."""
    return pod_range[1]


def gateway_interface(pod_range: ipaddress.IPv4Network) -> ipaddress.IPv4Interface:
    """The gateway with the Pod range's prefix, as it is set on the bridge."""
    return ipaddress.IPv4Interface(f"{gateway(pod_range)}/{pod_range.prefixlen}")
