"""Faults at start-up: one clear message naming what is wrong and what to do, never a hang."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from controlplane import ControlPlane, ControlPlaneError
from controlplane.node.host import ip_routes
from controlplane.node.network import POD_CIDR_ENV, host_routes
from controlplane.readiness import wait_for
from tests.e2e.node.runs import require_node


def test_a_process_still_using_a_kept_work_directory_is_named_and_nothing_is_removed(
    tmp_path: Path,
) -> None:
    node_dir = tmp_path / "node"
    node_dir.mkdir()
    (node_dir / "containerd.toml").write_text("kept")
    # Two commands, so that bash stays (with the path in its command line) instead of exec-ing.
    argv = ["bash", "-c", "sleep 60; true", str(node_dir / "containerd.toml")]
    plane = ControlPlane(workdir=tmp_path)
    with subprocess.Popen(argv, stdin=subprocess.DEVNULL) as user:
        try:
            # The start-up scan reads /proc/<pid>/cmdline: be sure the user is there to be found,
            # so that a miss is the scan's fault, not the test's.
            cmdline = Path(f"/proc/{user.pid}/cmdline")
            wait_for(
                lambda: os.fsencode(node_dir) in cmdline.read_bytes(),
                what="the user process",
                timeout=5.0,
            )
            with pytest.raises(ControlPlaneError) as raised:
                plane.start()
            assert user.poll() is None, f"the user process ended early ({user.returncode})"
        finally:
            user.kill()
            plane.stop()
    assert f"still use {node_dir} (pids {user.pid})" in str(raised.value)
    assert "stop them (kill <pid>) or pass another --workdir" in str(raised.value)
    assert (node_dir / "containerd.toml").read_text() == "kept"


def test_a_pod_range_taken_by_a_host_route_is_refused_naming_the_route(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    require_node()
    private = [
        (network, device)
        for network, device in host_routes(ip_routes())
        if network.is_private and not network.is_loopback and network.prefixlen <= 28
    ]
    if not private:
        pytest.skip("this host has no private IPv4 route to clash with")
    network, device = private[0]
    monkeypatch.setenv(POD_CIDR_ENV, str(network))
    plane = ControlPlane(node=True)

    with pytest.raises(ControlPlaneError) as raised:
        plane.start()

    assert f"overlaps this host's route {network} (dev {device})" in str(raised.value)
    assert plane.processes == ()
