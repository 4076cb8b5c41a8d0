"""Finding (or building) BuildKit's ``buildkitd`` and ``buildctl``, cached per version.

``tools/build-buildkit.sh`` fills the cache; only :func:`ensure_buildkit` ever runs it.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import Progress, cache_root, run_build_script
from controlplane.errors import ControlPlaneError

BUILDKIT_VERSION = "v0.26.2"
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build-buildkit.sh"


@dataclass(frozen=True)
class BuildkitBinaries:
    buildkitd: Path
    buildctl: Path

    @classmethod
    def in_cache(cls, root: Path) -> BuildkitBinaries:
        directory = root / f"buildkit-{BUILDKIT_VERSION}"
        return cls(buildkitd=directory / "buildkitd", buildctl=directory / "buildctl")

    def missing(self) -> list[Path]:
        return [path for path in (self.buildkitd, self.buildctl) if not os.access(path, os.X_OK)]


def ensure_buildkit(progress: Progress) -> BuildkitBinaries:
    """The binaries, built first when absent (minutes once, instant when cached)."""
    binaries = BuildkitBinaries.in_cache(cache_root())
    if not binaries.missing():
        return binaries
    if shutil.which("go") is None:
        raise ControlPlaneError(
            "BuildKit is not cached and Go (needed to build it) is not installed"
        )
    run_build_script(BUILD_SCRIPT, "BuildKit", progress)
    if binaries.missing():
        raise ControlPlaneError(
            f"the BuildKit build finished but these are missing: {binaries.missing()}"
        )
    return binaries
