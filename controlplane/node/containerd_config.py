"""containerd's configuration for one node (pure functions returning TOML text).

Every path containerd would otherwise take from the host (``/var/lib/containerd``,
``/run/containerd``, ``/etc/cni``, ``/opt/cni/bin``, ``/opt/containerd``, ``/run/netns``, the NRI
socket) points into the run's own directories. Keys follow ``containerd config default`` of
the pinned release (configuration version 4).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from controlplane.node.binaries import PAUSE_VERSION

SANDBOX_IMAGE = f"localhost/jobsink/pause:{PAUSE_VERSION}"
#: CRI's namespace in containerd: images must be imported there for the kubelet to see them.
CRI_NAMESPACE = "k8s.io"


@dataclass(frozen=True)
class ContainerdPaths:
    root: Path
    state: Path
    temp: Path
    socket: Path
    shim_sockets: Path
    runc: Path
    runc_root: Path
    cni_bin: Path
    cni_conf: Path
    registry_hosts: Path
    opt: Path
    #: containerd moves itself (and so its shims) into this cgroup, below the run's root.
    cgroup: str


def _s(value: object) -> str:
    """A TOML basic string (JSON's escaping is a subset TOML accepts)."""
    return json.dumps(str(value))


def containerd_config(paths: ContainerdPaths) -> str:
    return f"""\
version = 4
root = {_s(paths.root)}
state = {_s(paths.state)}
temp = {_s(paths.temp)}
imports = []
oom_score = 0

[cgroup]
  path = {_s(paths.cgroup)}

[plugins]
  [plugins.'io.containerd.server.v1.grpc']
    address = {_s(paths.socket)}

  [plugins.'io.containerd.server.v1.ttrpc']
    address = {_s(f"{paths.socket}.ttrpc")}

  [plugins.'io.containerd.shim.v1.manager']
    socket_dir = {_s(paths.shim_sockets)}

  [plugins.'io.containerd.internal.v1.opt']
    path = {_s(paths.opt)}

  [plugins.'io.containerd.nri.v1.nri']
    disable = true

  [plugins.'io.containerd.cri.v1.images']
    snapshotter = 'overlayfs'
    [plugins.'io.containerd.cri.v1.images'.pinned_images]
      sandbox = {_s(SANDBOX_IMAGE)}
    [plugins.'io.containerd.cri.v1.images'.registry]
      config_path = {_s(paths.registry_hosts)}

  [plugins.'io.containerd.transfer.v1.local']
    config_path = {_s(paths.registry_hosts)}

  [plugins.'io.containerd.cri.v1.runtime']
    # Lowering an oom_score_adj (the kubelet asks -998 for sandboxes) needs CAP_SYS_RESOURCE,
    # which sandboxed machines like ours withhold even from root: clamp at containerd's own.
    restrict_oom_score_adj = true
    enable_cdi = false
    cdi_spec_dirs = []
    netns_mounts_under_state_dir = true
    [plugins.'io.containerd.cri.v1.runtime'.containerd]
      default_runtime_name = 'runc'
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
        runtime_type = 'io.containerd.runc.v2'
        [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
          BinaryName = {_s(paths.runc)}
          Root = {_s(paths.runc_root)}
          SystemdCgroup = false
    [plugins.'io.containerd.cri.v1.runtime'.cni]
      bin_dirs = [{_s(paths.cni_bin)}]
      conf_dir = {_s(paths.cni_conf)}
      max_conf_num = 1

  [plugins.'io.containerd.grpc.v1.cri']
    stream_server_address = '127.0.0.1'
    stream_server_port = '0'

[timeouts]
  # A metadata database still locked by a containerd of an earlier run: fail, never hang.
  'io.containerd.timeout.bolt.open' = '10s'
"""


def registry_hosts_toml(registry_url: str) -> str:
    """``_default/hosts.toml``: every registry, whatever host an image names, is the node's
    loopback registry (``server`` leaves no fallback to the named host)."""
    return f"server = {_s(registry_url)}\n"
