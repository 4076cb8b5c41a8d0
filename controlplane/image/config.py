"""Configuration files of the build's containerd and buildkitd (pure functions returning TOML).

The build's containerd has no CRI, no NRI and no registry: BuildKit only needs its content
store, its overlayfs snapshotter and its runc runtime. buildkitd runs only the containerd
worker (it reads ``FROM`` images from containerd's image store, which the OCI worker has not)
with host networking, so the build's ``RUN`` steps reach the wheelhouse served on the host's
loopback and nothing is configured for any other address.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

#: containerd namespace of the build's images, containers and leases.
BUILD_NAMESPACE = "buildkit"
#: What BuildKit may keep of its cache; older records go first when it is over.
CACHE_KEEP = "10GB"
DISABLED_PLUGINS = (
    "io.containerd.grpc.v1.cri",
    "io.containerd.cri.v1.images",
    "io.containerd.cri.v1.runtime",
    "io.containerd.podsandbox.controller.v1.podsandbox",
    "io.containerd.nri.v1.nri",
)


@dataclass(frozen=True)
class BuildPaths:
    containerd_root: Path
    containerd_state: Path
    containerd_temp: Path
    containerd_socket: Path
    shim_sockets: Path
    runc: Path
    runc_root: Path
    buildkit_root: Path
    buildkit_socket: Path
    cgroup: str


def _s(value: object) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(str(value))


def containerd_config(paths: BuildPaths) -> str:
    disabled = ", ".join(_s(plugin) for plugin in DISABLED_PLUGINS)
    return f"""\
version = 4
root = {_s(paths.containerd_root)}
state = {_s(paths.containerd_state)}
temp = {_s(paths.containerd_temp)}
imports = []
oom_score = 0
disabled_plugins = [{disabled}]

[cgroup]
  path = {_s(paths.cgroup)}

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = {_s(paths.containerd_socket)}

  [plugins.'io.containerd.server.v1.ttrpc']
    address = {_s(f"{paths.containerd_socket}.ttrpc")}

  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = {_s(paths.shim_sockets)}

  [plugins.'io.containerd.internal.v1.opt']
    path = {_s(paths.containerd_root / "opt")}

[timeouts]
  # A metadata database still locked by a containerd of a killed build: fail, never hang.
  'io.containerd.timeout.bolt.open' = '10s'
"""


def buildkitd_config(paths: BuildPaths) -> str:
    return f"""\
root = {_s(paths.buildkit_root)}
insecure-entitlements = ["network.host"]

[grpc]
  address = [{_s(f"unix://{paths.buildkit_socket}")}]

[worker.oci]
  enabled = false

[worker.containerd]
  enabled = true
  address = {_s(paths.containerd_socket)}
  namespace = {_s(BUILD_NAMESPACE)}
  snapshotter = "overlayfs"
  networkMode = "host"
  defaultCgroupParent = {_s(paths.cgroup)}
  gc = true
  gckeepstorage = {_s(CACHE_KEEP)}
  [worker.containerd.runtime]
    name = "io.containerd.runc.v2"
    [worker.containerd.runtime.options]
      BinaryName = {_s(paths.runc)}
      Root = {_s(paths.runc_root)}
"""
