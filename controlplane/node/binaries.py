"""Finding (or building) the node's binaries, each cached per version beside the control plane.

``tools/build-node.sh`` fills the cache; only :func:`ensure_node_binaries` ever runs it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import K8S_VERSION, Progress, cache_root, run_build_script
from controlplane.errors import ControlPlaneError

CONTAINERD_VERSION = "v2.3.7"
RUNC_VERSION = "v1.5.3"
CNI_VERSION = "v1.10.0"
PAUSE_VERSION = "3.10.2"
COREDNS_VERSION = "v1.13.1"
REGISTRY_VERSION = "v3.0.0"
CNI_PLUGINS = ("bridge", "host-local", "loopback", "portmap")

BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build-node.sh"


@dataclass(frozen=True)
class NodeBinaries:
    """Absolute paths of what a node runs; ``cni_dir`` holds the CNI plugins."""

    kube_scheduler: Path
    kubelet: Path
    kube_proxy: Path
    containerd: Path
    containerd_shim: Path
    ctr: Path
    runc: Path
    cni_dir: Path
    pause: Path
    coredns: Path
    registry: Path

    @classmethod
    def in_cache(cls, root: Path) -> NodeBinaries:
        k8s = root / f"k8s-{K8S_VERSION}"
        containerd = root / f"containerd-{CONTAINERD_VERSION}"
        return cls(
            kube_scheduler=k8s / "kube-scheduler",
            kubelet=k8s / "kubelet",
            kube_proxy=k8s / "kube-proxy",
            containerd=containerd / "containerd",
            containerd_shim=containerd / "containerd-shim-runc-v2",
            ctr=containerd / "ctr",
            runc=root / f"runc-{RUNC_VERSION}" / "runc",
            cni_dir=root / f"cni-{CNI_VERSION}",
            pause=root / f"pause-{PAUSE_VERSION}" / "pause",
            coredns=root / f"coredns-{COREDNS_VERSION}" / "coredns",
            registry=root / f"registry-{REGISTRY_VERSION}" / "registry",
        )

    def executables(self) -> list[Path]:
        fixed = [
            self.kube_scheduler,
            self.kubelet,
            self.kube_proxy,
            self.containerd,
            self.containerd_shim,
            self.ctr,
            self.runc,
            self.pause,
            self.coredns,
            self.registry,
        ]
        return fixed + [self.cni_dir / plugin for plugin in CNI_PLUGINS]

    def missing(self) -> list[Path]:
        return [path for path in self.executables() if not os.access(path, os.X_OK)]


def find_node_binaries() -> NodeBinaries | None:
    """The binaries if all are cached; never builds."""
    binaries = NodeBinaries.in_cache(cache_root())
    return None if binaries.missing() else binaries


def buildable() -> str | None:
    """Why the binaries can neither be found nor built here, or None if they can."""
    if find_node_binaries() is not None:
        return None
    if not BUILD_SCRIPT.exists():
        return "the node binaries are not cached and this installation has no tools/build-node.sh"
    if shutil.which("go") is None:
        return "the node binaries are not cached and Go (needed to build them) is not installed"
    return None


def ensure_node_binaries(progress: Progress) -> NodeBinaries:
    """The binaries, building the missing ones first (minutes when cold, instant when cached)."""
    found = find_node_binaries()
    if found is not None:
        return found
    reason = buildable()
    if reason is not None:
        raise ControlPlaneError(reason)
    run_build_script(BUILD_SCRIPT, "the node binaries", progress)
    built = NodeBinaries.in_cache(cache_root())
    if built.missing():
        raise ControlPlaneError(f"the node build finished but these are missing: {built.missing()}")
    return built
