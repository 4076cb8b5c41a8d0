"""The node's loopback OCI registry: where every image pull of the node goes.

containerd sends every registry's pulls here (``_default/hosts.toml``: the mapping is by
repository path, whatever host an image names), so an image that is pulled rather than found
(``:latest`` or no tag, ``imagePullPolicy: Always``) is served from this machine like any
other. The registry runs the filesystem driver under the run's directory, on a loopback port,
and has no pull-through proxy: it never fetches from anywhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from controlplane.errors import ControlPlaneError
from controlplane.ports import LOOPBACK

#: distribution exports traces over OTLP by default; nothing here collects them.
REGISTRY_ENV = {"OTEL_TRACES_EXPORTER": "none"}
DOCKER_HUB = "docker.io"


@dataclass(frozen=True)
class RegistrySettings:
    port: int
    storage: Path

    @property
    def address(self) -> str:
        return f"{LOOPBACK}:{self.port}"

    @property
    def url(self) -> str:
        return f"http://{self.address}"


def registry_configuration(settings: RegistrySettings) -> dict[str, Any]:
    return {
        "version": 0.1,
        "log": {"level": "warn", "formatter": "text", "accesslog": {"disabled": False}},
        "storage": {
            "filesystem": {"rootdirectory": str(settings.storage)},
            "delete": {"enabled": True},
            "maintenance": {"uploadpurging": {"enabled": False}},
        },
        "http": {"addr": settings.address},
    }


def registry_args(binary: Path, config: Path) -> list[str]:
    return [str(binary), "serve", str(config)]


def repository_path(reference: str) -> str:
    """``name:tag`` as the registry stores it: the reference without its registry host, with
    Docker Hub's implied ``library/`` and ``:latest`` (``docker.io/library/bash:5`` ->
    ``library/bash:5``, ``curlimages/curl`` -> ``curlimages/curl:latest``)."""
    name, _, digest = reference.partition("@")
    if digest:
        raise ControlPlaneError(f"{reference}: publish an image by tag, not by digest")
    first, _, rest = name.partition("/")
    has_host = bool(rest) and ("." in first or ":" in first or first == "localhost")
    path = rest if has_host else name
    if ":" not in path.rsplit("/", 1)[-1]:
        path = f"{path}:latest"
    if "/" not in path and (not has_host or first == DOCKER_HUB):
        path = f"library/{path}"
    return path
