"""``ensure_project_image``: the project image as an OCI archive, built from the Dockerfile when
its inputs changed, and imported into every running local node.

A build: BuildKit and the node's binaries (cached), the Debian base image and the wheelhouse
(cached), then the build's containerd and buildkitd, the base imported into that containerd,
the wheelhouse served on loopback, ``buildctl build``; the daemons stop before it returns.
BuildKit's cache stays in the state directory, so a build after a source change is warm.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import Progress, cache_root
from controlplane.errors import ControlPlaneError
from controlplane.image.base import ensure_base_image
from controlplane.image.binaries import BUILDKIT_VERSION, ensure_buildkit
from controlplane.image.daemons import BuildRecord, Daemons, running, undo
from controlplane.image.inputs import (
    buildctl_build_args,
    inputs_key,
    project_version,
    reference_for,
)
from controlplane.image.layout import BuildLayout
from controlplane.image.wheelhouse import ensure_wheelhouse, served
from controlplane.node.binaries import ensure_node_binaries
from controlplane.node.images import images_dir
from controlplane.node.layout import RUNTIME_PARENT, RUNTIME_PREFIX
from controlplane.node.publish import import_image

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT = 1800
STEP_HEADING = re.compile(r"#\d+ \[")


@dataclass(frozen=True)
class ImageBuild:
    reference: str
    archive: Path
    #: False when an archive of the same inputs was already there.
    built: bool
    seconds: float
    #: Nodes (their containerd sockets) the image was imported into.
    imported_into: tuple[Path, ...] = ()

    @property
    def size(self) -> int:
        return self.archive.stat().st_size


def project_reference(root: Path = ROOT) -> str:
    """``localhost/jobsink/jobsink:<version from pyproject.toml>``."""
    return reference_for(project_version((root / "pyproject.toml").read_text()))


def state_dir() -> Path:
    return cache_root() / "build"


def archive_path(reference: str, key: str) -> Path:
    return images_dir() / (reference.replace("/", "_").replace(":", "_") + f"-{key}.tar")


def latest_pointer(reference: str) -> Path:
    """A stable name for the archive last built of ``reference`` (a symlink)."""
    return archive_path(reference, "latest")


def prune_archives(reference: str, keep: Path) -> None:
    """Remove the archives of ``reference`` built from older inputs (each a full image), all
    but ``keep`` and the one built before it."""
    pattern = archive_path(reference, "*").name
    older = [
        path for path in images_dir().glob(pattern) if path.is_file() and not path.is_symlink()
    ]
    older = sorted((path for path in older if path != keep), key=lambda path: path.stat().st_mtime)
    for stale in older[:-1]:
        stale.unlink(missing_ok=True)


def _point(pointer: Path, archive: Path) -> None:
    """Replace ``pointer`` at once: a reader sees the old archive or the new one, never none."""
    fresh = pointer.with_name(f".{pointer.name}.{os.getpid()}")
    fresh.unlink(missing_ok=True)
    fresh.symlink_to(archive.name)
    fresh.replace(pointer)


@contextlib.contextmanager
def _exclusive(lock: Path) -> Iterator[None]:
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def forget_build_cache() -> None:
    """Empty BuildKit's cache and the build containerd's store: the next build is cold."""
    layout = BuildLayout(state_dir(), str(os.getpid()))
    with _exclusive(layout.lock):
        if layout.owner.exists():
            undo(BuildRecord.model_validate_json(layout.owner.read_text()))
            layout.owner.unlink()
        for directory in (layout.buildkit_root, layout.containerd_root):
            shutil.rmtree(directory, ignore_errors=True)


def running_node_sockets() -> list[Path]:
    """containerd sockets of the local nodes running now (``jobsink dev``, the node tests)."""
    return sorted(RUNTIME_PARENT.glob(f"{RUNTIME_PREFIX}*/containerd.sock"))


def _build(daemons: Daemons, root: Path, args: list[str], log: Path, say: Progress) -> None:
    with log.open("w") as output, subprocess.Popen(
        daemons.buildctl_argv(*args), cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True,
    ) as build:  # fmt: skip
        assert build.stdout is not None
        for line in build.stdout:
            output.write(line)
            # Step headings only ("#7 [build 4/12] RUN ..."); the whole output is in the log.
            if STEP_HEADING.match(line):
                say(line.rstrip())
        code = build.wait(timeout=BUILD_TIMEOUT)
    if code != 0:
        tail = "\n".join(log.read_text().splitlines()[-25:])
        raise ControlPlaneError(f"buildctl build failed (exit {code}; full log {log}):\n{tail}")


def build_archive(
    context: Path,
    reference: str,
    say: Progress,
    *,
    rebuild: bool = False,
    log_name: str = "build.log",
) -> tuple[Path, bool]:
    """The OCI archive of ``context``'s Dockerfile named ``reference``, on the local python base
    with pip reading the wheelhouse of ``context``'s pyproject.toml: built first when its inputs
    changed (or ``rebuild``). Returns the archive and whether it was built now."""
    node = ensure_node_binaries(say)
    buildkit = ensure_buildkit(say)
    base, base_archive = ensure_base_image(say)
    wheelhouse = ensure_wheelhouse(state_dir(), context / "pyproject.toml", say)
    key = inputs_key(context, [base_archive.name, wheelhouse.name, BUILDKIT_VERSION])
    archive = archive_path(reference, key)
    layout = BuildLayout(state_dir(), str(os.getpid()))
    with _exclusive(layout.lock):
        if not rebuild and archive.exists():
            return archive, False
        say(f"building {reference} from {context / 'Dockerfile'} on {base.reference}")
        with running(layout, node, buildkit, say) as daemons, served(wheelhouse) as url:
            say(f"importing {base.reference} into the build's containerd")
            _import(daemons.ctr_argv("images", "import", "--local", str(base_archive)))
            partial = archive.with_suffix(".partial")
            args = buildctl_build_args(context=context, base=base.reference, wheelhouse_url=url,
                                       reference=reference, dest=partial)  # fmt: skip
            try:
                _build(daemons, context, args, layout.logs / log_name, say)
                partial.chmod(0o644)
                partial.replace(archive)
            finally:
                partial.unlink(missing_ok=True)
            say("build done; stopping the build's containerd and buildkitd")
    return archive, True


def ensure_project_image(
    say: Progress,
    *,
    root: Path = ROOT,
    rebuild: bool = False,
    import_into: Sequence[Path] | None = None,
) -> ImageBuild:
    """The project image's OCI archive, built first when its inputs changed (or ``rebuild``),
    then imported into the CRI namespace of the containerd at each socket of ``import_into``
    (None: of every local node running now; empty: none)."""
    began = time.monotonic()
    reference = project_reference(root)
    archive, built = build_archive(root, reference, say, rebuild=rebuild)
    with _exclusive(BuildLayout(state_dir(), str(os.getpid())).lock):
        _point(latest_pointer(reference), archive)
        if built:
            prune_archives(reference, archive)
    node = ensure_node_binaries(say)
    imported: list[Path] = []
    for socket in running_node_sockets() if import_into is None else import_into:
        try:
            import_image(node.ctr, socket, archive, reference)
        except ControlPlaneError:
            if import_into is not None:
                raise
            continue  # a node found running that has stopped since
        imported.append(socket)
    return ImageBuild(reference, archive, built, time.monotonic() - began, tuple(imported))


def _import(argv: list[str]) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600)
    if result.returncode != 0:
        raise ControlPlaneError(f"`{' '.join(argv)}` failed: {result.stderr.strip()[-800:]}")
