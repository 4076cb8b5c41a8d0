"""containerd's and the kubelet's configuration keep every path inside the run."""

from __future__ import annotations

import tomllib
from pathlib import Path

from controlplane.node.containerd_config import (
    SANDBOX_IMAGE,
    ContainerdPaths,
    containerd_config,
    registry_hosts_toml,
)
from controlplane.node.kubelet_config import (
    NODE_NAME,
    KubeletSettings,
    kubelet_args,
    kubelet_configuration,
)
from controlplane.node.layout import NodeLayout

RUN = Path('/work/a dir/with "quotes"')
LAYOUT = NodeLayout(RUN, "0123456789ab")
HOST_PATHS = ("/var/lib", "/run/containerd", "/etc/", "/opt/")


def _paths() -> ContainerdPaths:
    return ContainerdPaths(
        root=LAYOUT.containerd_root,
        state=LAYOUT.containerd_state,
        temp=LAYOUT.containerd_temp,
        socket=LAYOUT.containerd_socket,
        shim_sockets=LAYOUT.shim_sockets,
        runc=Path("/cache/runc"),
        runc_root=LAYOUT.runc_root,
        cni_bin=Path("/cache/cni"),
        cni_conf=LAYOUT.cni_conf_dir,
        registry_hosts=LAYOUT.registry_hosts,
        opt=LAYOUT.root / "opt",
        cgroup="/jobsink-0123456789ab/runtime",
    )


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def test_the_containerd_config_parses_and_points_into_the_run() -> None:
    config = tomllib.loads(containerd_config(_paths()))
    plugins = config["plugins"]
    runtime = plugins["io.containerd.cri.v1.runtime"]
    runc = runtime["containerd"]["runtimes"]["runc"]["options"]

    assert config["version"] == 4
    assert config["root"] == str(LAYOUT.containerd_root)
    assert config["imports"] == []
    assert plugins["io.containerd.server.v1.grpc"]["address"] == str(LAYOUT.containerd_socket)
    assert plugins["io.containerd.shim.v1.manager"]["socket_dir"] == str(LAYOUT.shim_sockets)
    assert plugins["io.containerd.nri.v1.nri"]["disable"] is True
    assert runtime["netns_mounts_under_state_dir"] is True
    assert runtime["restrict_oom_score_adj"] is True
    assert runtime["cni"]["bin_dirs"] == ["/cache/cni"]
    assert (runc["BinaryName"], runc["SystemdCgroup"]) == ("/cache/runc", False)
    pinned = plugins["io.containerd.cri.v1.images"]["pinned_images"]["sandbox"]
    assert pinned == SANDBOX_IMAGE
    assert config["timeouts"]["io.containerd.timeout.bolt.open"] == "10s"
    leaks = [s for s in _strings(config) if s.startswith(HOST_PATHS)]
    assert leaks == []


def test_every_registry_resolves_to_the_nodes_loopback_registry_alone() -> None:
    # `server` and no [host] table: containerd has no other host to fall back to.
    assert tomllib.loads(registry_hosts_toml("http://127.0.0.1:5123")) == {
        "server": "http://127.0.0.1:5123"
    }


def test_the_shim_socket_directory_fits_containerds_limit() -> None:
    # containerd refuses a socket_dir longer than 42 characters (sha256 names follow it).
    assert len(str(NodeLayout(Path("/a" * 100), "f" * 12).shim_sockets)) <= 42


def test_the_kubelet_allows_cgroup_v1_and_serves_on_loopback_only() -> None:
    settings = KubeletSettings(
        port=10250,
        healthz_port=10248,
        cgroup_root="/jobsink-0123456789ab",
        runtime_socket=LAYOUT.containerd_socket,
        client_ca=Path("/pki/ca.crt"),
        serving_cert=Path("/pki/kubelet.crt"),
        serving_key=Path("/pki/kubelet.key"),
        pod_logs=LAYOUT.pod_logs,
        volume_plugins=LAYOUT.volume_plugins,
    )
    config = kubelet_configuration(settings)
    assert config["failCgroupV1"] is False
    assert config["cgroupDriver"] == "cgroupfs"
    assert config["cgroupRoot"] == "/jobsink-0123456789ab"
    assert (config["address"], config["healthzBindAddress"]) == ("127.0.0.1", "127.0.0.1")
    assert config["readOnlyPort"] == 0
    assert config["authentication"]["anonymous"] == {"enabled": False}
    assert config["authorization"] == {"mode": "Webhook"}
    assert config["containerRuntimeEndpoint"] == f"unix://{LAYOUT.containerd_socket}"
    assert config["clusterDNS"] == ["127.0.0.1"]
    assert config["imageGCHighThresholdPercent"] == 100
    leaks = [s for s in _strings(config) if s.startswith(HOST_PATHS)]
    assert leaks == []


def test_the_kubelet_command_line_names_the_node_localhost() -> None:
    argv = kubelet_args(
        Path("/cache/kubelet"),
        config=LAYOUT.kubelet_config,
        kubeconfig=LAYOUT.kubelet_kubeconfig,
        root_dir=LAYOUT.kubelet_root,
        cert_dir=LAYOUT.kubelet_cert_dir,
    )
    assert NODE_NAME == "localhost"
    assert f"--hostname-override={NODE_NAME}" in argv
    assert f"--root-dir={LAYOUT.kubelet_root}" in argv
