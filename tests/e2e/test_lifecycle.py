"""The control plane's life cycle: clean teardown, stale runs, port conflicts, the CLI entry."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane import ControlPlane, ControlPlaneError, Ports
from controlplane.ports import is_listening
from controlplane.processes import is_same_process
from controlplane.state import RunRegistry
from tests.e2e.support import REPO

CORE_COMPONENTS = ("etcd", "kube-apiserver", "kube-controller-manager")


def test_reclaiming_never_touches_a_live_run(control_plane: ControlPlane) -> None:
    """Other runs' records (this session's, another terminal's) survive a reclaim."""
    core = [p for p in control_plane.processes if p.name in CORE_COMPONENTS]
    RunRegistry().reclaim_stale()
    assert len(core) == 3
    assert all(p.running for p in core)
    assert control_plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_teardown_leaves_no_process_port_or_file(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    registry = RunRegistry(tmp_path / "runs")
    plane = ControlPlane(binaries=control_plane.binaries, registry=registry)
    with plane:
        processes = [(p.pid, p.marker) for p in plane.processes]
        ports = plane.ports.all()
        workdir = plane.workdir
        assert len(processes) == 3
        assert list(registry.directory.glob("*.json"))
    assert not any(is_same_process(pid, marker) for pid, marker in processes)
    assert not any(is_listening(port) for port in ports)
    assert not workdir.exists()
    assert not list(registry.directory.glob("*.json"))


def test_a_killed_run_is_reclaimed_by_the_next(control_plane: ControlPlane, tmp_path: Path) -> None:
    """SIGKILL the owner of a control plane; the next start ends what it left behind."""
    environment = {**os.environ, "JOBSINK_STATE_DIR": str(tmp_path / "runs")}
    owner = subprocess.Popen(
        [sys.executable, "-m", "controlplane", "--no-node"],
        cwd=REPO,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert owner.stdout is not None
        kubeconfig_line = owner.stdout.readline()
        assert kubeconfig_line.startswith("export KUBECONFIG="), kubeconfig_line
        stale_workdir = Path(kubeconfig_line.strip().split("=", 1)[1]).parent
        (record_path,) = (tmp_path / "runs").glob("*.json")
        leftovers = [
            (p["pid"], p["marker"]) for p in json.loads(record_path.read_text())["processes"]
        ]
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    assert len(leftovers) == 3
    assert all(is_same_process(pid, marker) for pid, marker in leftovers)  # orphans run on

    messages: list[str] = []
    plane = ControlPlane(binaries=control_plane.binaries, registry=RunRegistry(tmp_path / "runs"))
    with plane.start(progress=messages.append):
        assert any(m.startswith("reclaimed stale run") for m in messages), messages
        assert not any(is_same_process(pid, marker) for pid, marker in leftovers)
        assert not stale_workdir.exists()
        assert plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port some other program is listening on."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        yield squatter.getsockname()[1]


def test_start_retries_with_new_ports_when_one_is_taken(
    control_plane: ControlPlane,
    tmp_path: Path,
    taken_port: int,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Free ports can be grabbed between our check and etcd's bind: start-up tries again."""
    pick = Ports.free
    picked: list[Ports] = []

    def first_one_taken(cls: type[Ports], *, apiserver: int | None = None) -> Ports:
        ports = pick(apiserver=apiserver)
        picked.append(dataclasses.replace(ports, etcd_client=taken_port) if not picked else ports)
        return picked[-1]

    monkeypatch.setattr(Ports, "free", classmethod(first_one_taken))
    messages: list[str] = []
    plane = ControlPlane(binaries=control_plane.binaries, registry=RunRegistry(tmp_path / "runs"))
    with plane.start(progress=messages.append):
        assert "etcd: port taken by another process, retrying" in messages
        assert plane.ports == picked[1]
        assert plane.kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_a_fixed_port_that_is_taken_fails_cleanly(
    control_plane: ControlPlane, tmp_path: Path, taken_port: int
) -> None:
    registry = RunRegistry(tmp_path / "runs")
    plane = ControlPlane(
        binaries=control_plane.binaries,
        registry=registry,
        ports=Ports.free(apiserver=taken_port),
    )
    with pytest.raises(ControlPlaneError, match="kube-apiserver exited") as raised:
        plane.start()
    message = str(raised.value)
    assert "address already in use" in message
    log = Path(message.split("(log: ", 1)[1].split(")", 1)[0])
    workdir = log.parent.parent
    assert not workdir.exists()
    assert not list(registry.directory.glob("*.json"))
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, check=False)
    assert leftovers.stdout == b""


def test_python_m_controlplane_stops_cleanly_on_sigterm(control_plane: ControlPlane) -> None:
    runner = subprocess.Popen(
        [sys.executable, "-m", "controlplane"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert runner.stdout is not None
    kubeconfig = Path(runner.stdout.readline().strip().removeprefix("export KUBECONFIG="))
    assert kubeconfig.exists()
    workdir = kubeconfig.parent
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(timeout=60) == 0
    assert not workdir.exists()
    leftovers = subprocess.run(["pgrep", "-f", str(workdir)], capture_output=True, check=False)
    assert leftovers.stdout == b""


def test_python_m_controlplane_reports_a_failed_start_in_one_message(taken_port: int) -> None:
    runner = subprocess.run(
        [sys.executable, "-m", "controlplane", "--port", str(taken_port)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert runner.returncode == 1
    assert runner.stdout == ""
    assert "error: kube-apiserver exited" in runner.stderr
    assert "address already in use" in runner.stderr
    assert "Traceback" not in runner.stderr
