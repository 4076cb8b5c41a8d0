"""The build's containerd and buildkitd configuration: valid TOML, only unix sockets."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from controlplane.image.config import (
    BUILD_NAMESPACE,
    BuildPaths,
    buildkitd_config,
    containerd_config,
)
from controlplane.image.layout import BuildLayout

LAYOUT = BuildLayout(Path("/cache/jobsink/build"), "4242")
PATHS = BuildPaths(
    containerd_root=LAYOUT.containerd_root,
    containerd_state=LAYOUT.containerd_state,
    containerd_temp=LAYOUT.containerd_temp,
    containerd_socket=LAYOUT.containerd_socket,
    shim_sockets=LAYOUT.shim_sockets,
    runc=Path("/cache/jobsink/runc-v1.5.3/runc"),
    runc_root=LAYOUT.runc_root,
    buildkit_root=LAYOUT.buildkit_root,
    buildkit_socket=LAYOUT.buildkit_socket,
    cgroup=LAYOUT.cgroup,
)


def _lookup(document: dict[str, Any], dotted: str) -> Any:
    value: Any = document
    for key in dotted.split("/"):
        value = value[key]
    return value


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("root", "/cache/jobsink/build/buildkitd"),
        ("insecure-entitlements", ["network.host"]),
        ("grpc/address", ["unix:///tmp/jobsink-build-4242/buildkitd.sock"]),
        ("worker/oci/enabled", False),
        ("worker/containerd/enabled", True),
        ("worker/containerd/address", "/tmp/jobsink-build-4242/containerd.sock"),
        ("worker/containerd/namespace", BUILD_NAMESPACE),
        ("worker/containerd/networkMode", "host"),
        ("worker/containerd/defaultCgroupParent", "/jobsink-build-4242"),
        ("worker/containerd/runtime/options/BinaryName", "/cache/jobsink/runc-v1.5.3/runc"),
        ("worker/containerd/runtime/options/Root", "/tmp/jobsink-build-4242/runc"),
    ],
)
def test_buildkitd_runs_only_the_containerd_worker(key: str, expected: object) -> None:
    assert _lookup(tomllib.loads(buildkitd_config(PATHS)), key) == expected


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("version", 4),
        ("root", "/cache/jobsink/build/containerd"),
        ("state", "/tmp/jobsink-build-4242/state"),
        ("cgroup/path", "/jobsink-build-4242"),
        ("plugins/io.containerd.server.v1.grpc/address", "/tmp/jobsink-build-4242/containerd.sock"),
        ("plugins/io.containerd.shim.v1.manager/socket_dir", "/tmp/jobsink-build-4242/s"),
    ],
)
def test_containerd_keeps_its_store_and_runs_below_the_build(key: str, expected: object) -> None:
    assert _lookup(tomllib.loads(containerd_config(PATHS)), key) == expected


def test_containerd_has_no_cri() -> None:
    disabled = tomllib.loads(containerd_config(PATHS))["disabled_plugins"]
    assert "io.containerd.grpc.v1.cri" in disabled


def test_the_socket_paths_fit_their_limits() -> None:
    """108 bytes for a unix socket path; containerd allows 42 characters of shim directory."""
    assert len(str(LAYOUT.shim_sockets)) <= 42
    assert len(str(LAYOUT.containerd_socket)) + len(".ttrpc") < 108
