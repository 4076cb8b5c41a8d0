"""The build's containerd and buildkitd: started for one build, gone without a trace after it.

Both run in one cgroup named after the build (containerd moves itself and its shims there,
buildkitd is moved there at start, and the build's containers are created below it), so
ending a build (or cleaning up after a killed one) is: stop both, kill what is left in the
cgroup, unmount what is left below the build's directories, remove the cgroup. What a build
started is saved before it starts, so the next build can undo it if this one is killed.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel

from controlplane.binaries import Progress
from controlplane.errors import ControlPlaneError
from controlplane.image.binaries import BuildkitBinaries
from controlplane.image.config import (
    BUILD_NAMESPACE,
    BuildPaths,
    buildkitd_config,
    containerd_config,
)
from controlplane.image.layout import BuildLayout
from controlplane.node import host
from controlplane.node.binaries import NodeBinaries
from controlplane.processes import ManagedProcess
from controlplane.readiness import wait_for

START_TIMEOUT = 60.0


class BuildRecord(BaseModel):
    """What a later build needs to undo this one (saved before anything exists)."""

    runtime_dir: str
    cgroup: str
    state: str


def undo(record: BuildRecord) -> None:
    """Kill, unmount, remove; raises if something is left behind."""
    host.kill_cgroup(record.cgroup)
    still_mounted = host.unmount_below([Path(record.runtime_dir), Path(record.state)])
    busy = host.remove_cgroup(record.cgroup)
    problems = [f"still mounted: {point}" for point in still_mounted]
    problems += [f"cgroup still busy: {cgroup}" for cgroup in busy]
    if problems:
        raise ControlPlaneError("the image build left " + "; ".join(problems))
    shutil.rmtree(record.runtime_dir, ignore_errors=True)


def _join_cgroup(cgroup: str, pid: int) -> None:
    for controller, mount in host.host_hierarchies().items():
        if controller != "unified":
            (mount / cgroup.lstrip("/") / "cgroup.procs").write_text(f"{pid}\n")


@dataclass(frozen=True)
class Daemons:
    """The running pair: where to reach them, and the ``ctr`` that talks to containerd."""

    layout: BuildLayout
    ctr: Path
    buildctl: Path

    def ctr_argv(self, *args: str, namespace: str = BUILD_NAMESPACE) -> list[str]:
        return [str(self.ctr), f"--address={self.layout.containerd_socket}",
                f"--namespace={namespace}", *args]  # fmt: skip

    def buildctl_argv(self, *args: str) -> list[str]:
        return [str(self.buildctl), f"--addr=unix://{self.layout.buildkit_socket}", *args]


def _answers(argv: list[str]) -> bool:
    result = subprocess.run(argv, capture_output=True, check=False, timeout=30)
    return result.returncode == 0


def _write_files(layout: BuildLayout, node: NodeBinaries) -> None:
    paths = BuildPaths(
        containerd_root=layout.containerd_root,
        containerd_state=layout.containerd_state,
        containerd_temp=layout.containerd_temp,
        containerd_socket=layout.containerd_socket,
        shim_sockets=layout.shim_sockets,
        runc=node.runc,
        runc_root=layout.runc_root,
        buildkit_root=layout.buildkit_root,
        buildkit_socket=layout.buildkit_socket,
        cgroup=layout.cgroup,
    )
    for directory in (
        layout.runtime_dir,
        layout.containerd_root,
        layout.buildkit_root,
        layout.logs,
    ):
        directory.mkdir(parents=True, exist_ok=True)
    layout.runtime_dir.chmod(0o700)
    layout.containerd_config.write_text(containerd_config(paths))
    layout.buildkit_config.write_text(buildkitd_config(paths))


@contextlib.contextmanager
def running(
    layout: BuildLayout,
    node: NodeBinaries,
    buildkit: BuildkitBinaries | None,
    say: Progress,
) -> Iterator[Daemons]:
    """containerd (and buildkitd, unless ``buildkit`` is None) for the duration of the block.

    The caller holds ``layout.lock``: the state directory has one user at a time.
    """
    if layout.owner.exists():
        say("cleaning up after an image build that was killed")
        undo(BuildRecord.model_validate_json(layout.owner.read_text()))
    record = BuildRecord(
        runtime_dir=str(layout.runtime_dir), cgroup=layout.cgroup, state=str(layout.state)
    )
    layout.state.mkdir(parents=True, exist_ok=True)
    layout.owner.write_text(record.model_dump_json())
    processes: list[ManagedProcess] = []
    try:
        _write_files(layout, node)
        host.create_cgroup(layout.cgroup)
        path = os.pathsep.join(
            [str(node.containerd.parent), str(node.runc.parent), os.environ["PATH"]]
        )
        containerd = ManagedProcess.spawn(
            "containerd",
            [str(node.containerd), f"--config={layout.containerd_config}"],
            layout.logs / "containerd.log",
            env={**os.environ, "PATH": path},
        )
        processes.append(containerd)
        daemons = Daemons(layout, node.ctr, buildkit.buildctl if buildkit else Path("buildctl"))
        wait_for(lambda: _answers(daemons.ctr_argv("version")), what="the build's containerd",
                 timeout=START_TIMEOUT, watched=[containerd])  # fmt: skip
        if buildkit is not None:
            buildkitd = ManagedProcess.spawn(
                "buildkitd",
                [str(buildkit.buildkitd), f"--config={layout.buildkit_config}"],
                layout.logs / "buildkitd.log",
                env={**os.environ, "PATH": path},
            )
            processes.append(buildkitd)
            _join_cgroup(layout.cgroup, buildkitd.pid)
            wait_for(lambda: _answers(daemons.buildctl_argv("debug", "workers")),
                     what="buildkitd", timeout=START_TIMEOUT, watched=[buildkitd])  # fmt: skip
        yield daemons
    finally:
        for process in reversed(processes):
            process.stop()
        undo(record)
        layout.owner.unlink(missing_ok=True)
