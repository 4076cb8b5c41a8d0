"""The project's Python dependencies as wheels on the host, served on loopback during a build.

The build's ``RUN`` steps never reach the network: the host's pip downloads every wheel the
image needs once (through whatever proxy and certificates the host's pip is set up with), into
a directory keyed by the pinned requirements and the target interpreter; during the build a
plain HTTP server on 127.0.0.1 lists that directory, and pip in the build reads it through
``PIP_FIND_LINKS`` with ``PIP_NO_INDEX``.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import hashlib
import http.server
import json
import shutil
import subprocess
import sys
import tempfile
import threading
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.binaries import Progress
from controlplane.errors import ControlPlaneError
from controlplane.ports import LOOPBACK

#: Below the kernel's default ephemeral range (32768-60999), so rarely taken by chance.
PORT_RANGE = (20000, 30000)


@dataclass(frozen=True)
class Target:
    """The interpreter and C library of the image's Python, which decide the wheels pip picks."""

    python_version: str = "3.11"
    #: Debian bookworm's glibc is 2.36.
    glibc: tuple[int, int] = (2, 36)
    arch: str = "x86_64"

    def platforms(self) -> list[str]:
        """Every manylinux tag this glibc runs: pip expands no ``manylinux_2_X`` tag itself."""
        major, newest = self.glibc
        tags = [f"manylinux_{major}_{minor}_{self.arch}" for minor in range(newest, 4, -1)]
        return [*tags, f"manylinux2014_{self.arch}", f"manylinux2010_{self.arch}",
                f"manylinux1_{self.arch}"]  # fmt: skip


def requirements(pyproject_text: str) -> list[str]:
    """What ``pip install .`` needs: the runtime dependencies and the build backend."""
    project: dict[str, Any] = tomllib.loads(pyproject_text)
    runtime: list[str] = project["project"]["dependencies"]
    build: list[str] = project["build-system"]["requires"]
    return sorted({*runtime, *build})


def wheelhouse_key(wanted: list[str], target: Target) -> str:
    text = json.dumps({"requirements": sorted(wanted), "target": repr(target)}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def download_argv(python: str, wanted: list[str], target: Target, dest: Path) -> list[str]:
    platforms = [argument for tag in target.platforms() for argument in ("--platform", tag)]
    return [python, "-m", "pip", "download", "--quiet", "--disable-pip-version-check",
            "--dest", str(dest), "--only-binary=:all:", "--implementation", "cp",
            "--python-version", target.python_version, *platforms, *wanted]  # fmt: skip


def ensure_wheelhouse(
    root: Path, pyproject: Path, say: Progress, target: Target = Target()
) -> Path:
    """The directory of wheels for ``pyproject``'s requirements, downloaded first if absent."""
    wanted = requirements(pyproject.read_text())
    directory = root / f"wheelhouse-{wheelhouse_key(wanted, target)}"
    if directory.is_dir():
        return directory
    root.mkdir(parents=True, exist_ok=True)
    say(f"downloading {len(wanted)} pinned requirements and their dependencies as wheels")
    scratch = Path(tempfile.mkdtemp(dir=root, prefix=".wheelhouse-"))
    try:
        result = subprocess.run(
            download_argv(sys.executable, wanted, target, scratch),
            capture_output=True, text=True, check=False, timeout=900,
        )  # fmt: skip
        if result.returncode != 0:
            raise ControlPlaneError(
                f"pip could not download the image's wheels: {result.stderr.strip()[-800:]}"
            )
        with contextlib.suppress(OSError):  # another build may have finished the same first
            scratch.rename(directory)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return directory


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Silent: pip's requests are no news, and stderr is the build's progress."""


def preferred_port(directory: Path) -> int:
    """A port that stays the same for the same wheelhouse. The URL is a build argument of the
    ``pip install`` step, so a new port would be a new cache key for that step."""
    digest = hashlib.sha256(directory.name.encode()).digest()
    return PORT_RANGE[0] + int.from_bytes(digest[:4], "big") % (PORT_RANGE[1] - PORT_RANGE[0])


def _bind(port: int, handler: Any) -> http.server.ThreadingHTTPServer:
    try:
        return http.server.ThreadingHTTPServer((LOOPBACK, port), handler)
    except OSError as error:
        if error.errno != errno.EADDRINUSE:
            raise
        return http.server.ThreadingHTTPServer((LOOPBACK, 0), handler)  # only costs the cache


@contextlib.contextmanager
def served(directory: Path) -> Iterator[str]:
    """Serve ``directory`` (file listing included) on 127.0.0.1; yields its URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = _bind(preferred_port(directory), handler)
    thread = threading.Thread(target=server.serve_forever, name="wheelhouse", daemon=True)
    thread.start()
    try:
        yield f"http://{LOOPBACK}:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
