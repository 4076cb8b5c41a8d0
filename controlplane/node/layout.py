"""Where one node keeps its files: under ``<workdir>/node``, plus one short runtime directory.

Unix socket paths are limited to 108 bytes and containerd limits its shim socket directory to
42 characters, which a work directory deep in a checkout can exceed; the sockets therefore live
in ``/tmp/jobsink-node-<run id>``, which belongs to this run alone and goes with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

#: Parent of the per-run socket directories; fixed rather than $TMPDIR, which may be long.
RUNTIME_PARENT = Path("/tmp")
RUNTIME_PREFIX = "jobsink-node-"


@dataclass(frozen=True)
class NodeLayout:
    """Paths of one node; nothing is created until it starts."""

    workdir: Path
    run_id: str

    @property
    def root(self) -> Path:
        return self.workdir / "node"

    @property
    def runtime_dir(self) -> Path:
        return RUNTIME_PARENT / f"{RUNTIME_PREFIX}{self.run_id}"

    # -- containerd --------------------------------------------------------------------

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_root(self) -> Path:
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_temp(self) -> Path:
        return self.root / "containerd" / "tmp"

    @property
    def registry_hosts(self) -> Path:
        """containerd's ``config_path``: one ``hosts.toml`` per registry."""
        return self.root / "containerd" / "certs.d"

    @property
    def containerd_socket(self) -> Path:
        return self.runtime_dir / "containerd.sock"

    @property
    def shim_sockets(self) -> Path:
        return self.runtime_dir / "s"

    @property
    def runc_root(self) -> Path:
        return self.containerd_state / "runc"

    # -- CNI ---------------------------------------------------------------------------

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    # -- kubelet and scheduler -----------------------------------------------------------

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def kubelet_kubeconfig(self) -> Path:
        return self.root / "kubelet.kubeconfig"

    @property
    def kubelet_cert_dir(self) -> Path:
        return self.root / "kubelet-pki"

    @property
    def volume_plugins(self) -> Path:
        return self.root / "volume-plugins"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def scheduler_kubeconfig(self) -> Path:
        return self.root / "scheduler.kubeconfig"

    @property
    def scheduler_cert_dir(self) -> Path:
        return self.root / "kube-scheduler"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    # -- Services, DNS and the registry ------------------------------------------------------

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy.yaml"

    @property
    def kube_proxy_kubeconfig(self) -> Path:
        return self.root / "kube-proxy.kubeconfig"

    @property
    def addons(self) -> Path:
        """The cluster DNS's objects, as applied."""
        return self.root / "coredns.yaml"

    @property
    def registry_config(self) -> Path:
        return self.root / "registry.yaml"

    @property
    def registry_storage(self) -> Path:
        return self.root / "registry"
