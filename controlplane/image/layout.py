"""Where image builds keep their files: a persistent state directory (containerd's content and
snapshots, BuildKit's cache: what makes a second build warm) and one short runtime directory
per build for sockets and containerd's run state, removed when the build ends.

Unix socket paths are limited to 108 bytes and containerd limits its shim socket directory to
42 characters, so the runtime directory sits directly in ``/tmp``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

RUNTIME_PARENT = Path("/tmp")
RUNTIME_PREFIX = "jobsink-build-"
CGROUP_PREFIX = "/jobsink-build-"


@dataclass(frozen=True)
class BuildLayout:
    """Paths of one build; nothing is created until the daemons start."""

    state: Path
    run_id: str

    # -- kept between builds -------------------------------------------------------------

    @property
    def lock(self) -> Path:
        """Held for a whole build: one builder uses the state at a time."""
        return self.state / ".lock"

    @property
    def owner(self) -> Path:
        """What a build started (saved first), so the next one can undo a killed build."""
        return self.state / "owner.json"

    @property
    def containerd_root(self) -> Path:
        return self.state / "containerd"

    @property
    def buildkit_root(self) -> Path:
        return self.state / "buildkitd"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    # -- this build only -----------------------------------------------------------------

    @property
    def runtime_dir(self) -> Path:
        return RUNTIME_PARENT / f"{RUNTIME_PREFIX}{self.run_id}"

    @property
    def cgroup(self) -> str:
        """containerd, its shims, the build containers and buildkitd all live in here."""
        return f"{CGROUP_PREFIX}{self.run_id}"

    @property
    def containerd_state(self) -> Path:
        return self.runtime_dir / "state"

    @property
    def containerd_temp(self) -> Path:
        return self.runtime_dir / "tmp"

    @property
    def containerd_socket(self) -> Path:
        return self.runtime_dir / "containerd.sock"

    @property
    def shim_sockets(self) -> Path:
        return self.runtime_dir / "s"

    @property
    def runc_root(self) -> Path:
        return self.runtime_dir / "runc"

    @property
    def buildkit_socket(self) -> Path:
        return self.runtime_dir / "buildkitd.sock"

    @property
    def containerd_config(self) -> Path:
        return self.runtime_dir / "containerd.toml"

    @property
    def buildkit_config(self) -> Path:
        return self.runtime_dir / "buildkitd.toml"
