"""Finding (or building) Knative Eventing's components and the parts of its module we install.

``tools/build-knative.sh`` fills ``<cache>/knative-<version>/``: ``bin/<command>`` (one static
binary per Knative command, ``in_memory/channel_controller`` as ``in_memory-channel_controller``)
and ``config/{core,in-memory-channel,mt-channel-broker}``, all from the same pinned module. Only
:func:`ensure_knative` ever runs it.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from controlplane.binaries import cache_root, run_build_script
from controlplane.errors import ControlPlaneError

KNATIVE_VERSION = "v0.50.0"
KNATIVE_MODULE = "knative.dev/eventing"
BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "build-knative.sh"
#: The module's commands the build script builds (keep in step with KNATIVE_COMMANDS there).
COMMANDS = (
    "controller",
    "webhook",
    "jobsink",
    "mtping",
    "in_memory/channel_controller",
    "in_memory/channel_dispatcher",
    "mtchannel_broker",
    "broker/ingress",
    "broker/filter",
    "event_display",
)
#: The directories of the module's config/ the build script copies, under the names it uses.
CONFIG_DIRECTORIES = ("core", "in-memory-channel", "mt-channel-broker")

Progress = Callable[[str], None]


def binary_name(command: str) -> str:
    """A command's file name in ``bin/``: its path under ``cmd/`` with dashes for slashes."""
    return command.replace("/", "-")


@dataclass(frozen=True)
class KnativeFiles:
    """The binaries and the module's config directories, as the build script lays them out."""

    directory: Path

    @classmethod
    def in_cache(cls, root: Path) -> KnativeFiles:
        return cls(root / f"knative-{KNATIVE_VERSION}")

    def binary(self, command: str) -> Path:
        return self.directory / "bin" / binary_name(command)

    def config(self, name: str) -> Path:
        return self.directory / "config" / name

    @property
    def images(self) -> Path:
        """Where the image archives of the binaries are cached (see ``images``)."""
        return self.directory / "images"

    def missing(self) -> list[Path]:
        found = [
            self.binary(command)
            for command in COMMANDS
            if not os.access(self.binary(command), os.X_OK)
        ]
        found += [
            self.config(name) for name in CONFIG_DIRECTORIES if not self.config(name).is_dir()
        ]
        return found


def find_knative() -> KnativeFiles | None:
    """The cached build if it is complete; never builds."""
    files = KnativeFiles.in_cache(cache_root())
    return None if files.missing() else files


def knative_buildable() -> str | None:
    """Why Knative can neither be found nor built here, or None if it can."""
    if find_knative() is not None:
        return None
    if not BUILD_SCRIPT.exists():
        return f"Knative {KNATIVE_VERSION} is not cached and there is no tools/build-knative.sh"
    if shutil.which("go") is None:
        return f"Knative {KNATIVE_VERSION} is not cached and Go, needed to build it, is missing"
    return None


def ensure_knative(progress: Progress) -> KnativeFiles:
    """The cached build, building it first when missing (minutes when cold)."""
    found = find_knative()
    if found is not None:
        return found
    reason = knative_buildable()
    if reason is not None:
        raise ControlPlaneError(reason)
    run_build_script(BUILD_SCRIPT, "Knative Eventing", progress)
    built = KnativeFiles.in_cache(cache_root())
    if built.missing():
        raise ControlPlaneError(f"the Knative build finished without {built.missing()}")
    return built
