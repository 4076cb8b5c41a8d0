"""Finding (or building) Kueue's controller manager and the parts of its module we install.

``tools/build-kueue.sh`` fills ``<cache>/kueue-<version>/``: the ``kueue`` binary, the CRDs, the
manager's ClusterRole and the webhook configurations, all from the same pinned module. Only
:func:`ensure_kueue` ever runs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import cache_root, run_build_script
from controlplane.errors import ControlPlaneError

KUEUE_VERSION = "v0.17.0"
KUEUE_MODULE = "sigs.k8s.io/kueue"
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build-kueue.sh"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class KueueFiles:
    """The manager and the module's manifests, as the build script lays them out."""

    directory: Path

    @classmethod
    def in_cache(cls, root: Path) -> KueueFiles:
        return cls(root / f"kueue-{KUEUE_VERSION}")

    @property
    def manager(self) -> Path:
        return self.directory / "kueue"

    @property
    def crds(self) -> Path:
        return self.directory / "config" / "crd"

    @property
    def cluster_role(self) -> Path:
        return self.directory / "config" / "rbac" / "role.yaml"

    @property
    def secrets_role(self) -> Path:
        return self.directory / "config" / "rbac" / "secrets-role.yaml"

    @property
    def webhooks(self) -> Path:
        return self.directory / "config" / "webhook.yaml"

    def missing(self) -> list[Path]:
        found = []
        if not os.access(self.manager, os.X_OK):
            found.append(self.manager)
        wanted = (self.cluster_role, self.secrets_role, self.webhooks)
        found += [path for path in wanted if not path.is_file()]
        if not any(self.crds.glob("*.yaml")):
            found.append(self.crds)
        return found


def find_kueue() -> KueueFiles | None:
    """The cached build if it is complete; never builds."""
    files = KueueFiles.in_cache(cache_root())
    return None if files.missing() else files


def kueue_buildable() -> str | None:
    """Why Kueue can neither be found nor built here, or None if it can."""
    if find_kueue() is not None:
        return None
    if not BUILD_SCRIPT.exists():
        return f"Kueue {KUEUE_VERSION} is not cached and there is no tools/build-kueue.sh"
    if shutil.which("go") is None:
        return f"Kueue {KUEUE_VERSION} is not cached and Go (needed to build it) is not installed"
    return None


def ensure_kueue(progress: Progress) -> KueueFiles:
    """The cached build, building it first when missing (minutes when cold)."""
    found = find_kueue()
    if found is not None:
        return found
    reason = kueue_buildable()
    if reason is not None:
        raise ControlPlaneError(reason)
    run_build_script(BUILD_SCRIPT, "Kueue", progress)
    built = KueueFiles.in_cache(cache_root())
    if built.missing():
        raise ControlPlaneError(f"the Kueue build finished without {built.missing()}")
    return built
