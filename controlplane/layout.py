"""Where one control plane keeps its files inside its work directory, and clearing a kept one."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from controlplane.errors import ControlPlaneError
from controlplane.node.host import processes_mentioning
from controlplane.node.teardown import safe_to_remove
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


def clear_kept_workdir(layout: Layout) -> None:
    """Remove what an earlier run left in a kept work directory (its etcd data belongs to other
    keys, its node to other processes), refusing while anything still uses or is mounted there.
    """
    users = processes_mentioning(layout.node)
    if users:
        raise ControlPlaneError(
            f"processes of an earlier run still use {layout.node} (pids "
            f"{', '.join(map(str, users))}): a containerd or kubelet that was not stopped; "
            "stop them (kill <pid>) or pass another --workdir"
        )
    if not safe_to_remove(layout.node):
        raise ControlPlaneError(
            f"{layout.node} still has mounts of an earlier run that cannot be unmounted; "
            "unmount them (umount -R) or pass another --workdir"
        )
    for stale in (layout.etcd_data, layout.logs, layout.node):
        shutil.rmtree(stale, ignore_errors=True)
