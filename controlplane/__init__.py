"""A real local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager).

Used by the end-to-end tests, ``jobsink dev`` and ``python -m controlplane``. On its own no
scheduler and no kubelet run, so Pods are created but never run; ``ControlPlane(node=True)``
adds a local node (``controlplane.node``) on which they do.
"""

from controlplane.binaries import K8S_VERSION, Binaries, ensure_binaries, find_binaries
from controlplane.cluster import ControlPlane
from controlplane.errors import ControlPlaneError, KubectlError
from controlplane.ports import Ports
from controlplane.processes import ManagedProcess

__all__ = [
    "K8S_VERSION",
    "Binaries",
    "ControlPlane",
    "ControlPlaneError",
    "KubectlError",
    "ManagedProcess",
    "Ports",
    "ensure_binaries",
    "find_binaries",
]
