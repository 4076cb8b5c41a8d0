"""Where one control plane keeps its files inside its work directory."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from controlplane.pki import PkiFiles


@dataclass(frozen=True)
class Layout:
    """Paths under ``workdir``; nothing is created until the control plane starts."""

    workdir: Path

    @property
    def pki(self) -> PkiFiles:
        return PkiFiles(self.workdir / "pki")

    @property
    def etcd_data(self) -> Path:
        return self.workdir / "etcd"

    @property
    def apiserver_cert_dir(self) -> Path:
        return self.workdir / "kube-apiserver"

    @property
    def controller_manager_cert_dir(self) -> Path:
        return self.workdir / "kube-controller-manager"

    @property
    def node(self) -> Path:
        """The local node's files (see ``controlplane.node.layout``)."""
        return self.workdir / "node"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def kubeconfig(self) -> Path:
        return self.workdir / "kubeconfig"

    def log(self, component: str) -> Path:
        return self.logs / f"{component}.log"
