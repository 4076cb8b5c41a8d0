"""Ending processes by their own pids: SIGTERM, SIGKILL on timeout, the whole group."""

from __future__ import annotations

import os
import time
from pathlib import Path

from controlplane.processes import ManagedProcess, end_group, is_same_process, start_marker, tail


def _wait_gone(pid: int, marker: str | None, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_same_process(pid, marker):
            return True
        time.sleep(0.05)
    return False


def test_start_marker_tells_processes_apart() -> None:
    marker = start_marker(os.getpid())
    assert marker is not None
    assert is_same_process(os.getpid(), marker)
    assert not is_same_process(os.getpid(), "another-start-time")
    assert not is_same_process(os.getpid(), None)


def test_stop_terminates_gracefully(tmp_path: Path) -> None:
    process = ManagedProcess.spawn("sleeper", ["sleep", "300"], tmp_path / "sleeper.log")
    assert process.running
    assert process.stop(timeout=5) == -15  # SIGTERM was enough
    assert not process.running


def test_stop_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    stubborn = ["bash", "-c", "trap '' TERM; echo ready; while :; do sleep 0.1; done"]
    process = ManagedProcess.spawn("stubborn", stubborn, tmp_path / "stubborn.log")
    while "ready" not in process.log_tail():
        time.sleep(0.05)
    assert process.stop(timeout=0.5) == -9


def test_stop_reaches_children_of_the_group(tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    process = ManagedProcess.spawn("parent", ["bash", "-c", "sleep 300 & echo $!; wait"], log)
    while not process.log_tail().strip():
        time.sleep(0.05)
    child = int(process.log_tail().strip())
    child_marker = start_marker(child)
    process.stop(timeout=5)
    assert _wait_gone(child, child_marker)


def test_end_group_leaves_a_recycled_pid_alone(tmp_path: Path) -> None:
    process = ManagedProcess.spawn("bystander", ["sleep", "300"], tmp_path / "b.log")
    try:
        end_group(process.pid, "a-different-start-time", timeout=0.5)
        assert process.running
        end_group(process.pid, process.marker, timeout=5)
        assert process.popen.wait(5) == -15
    finally:
        process.stop()


def test_log_goes_to_its_file_and_tail_reads_the_end(tmp_path: Path) -> None:
    log = tmp_path / "counter.log"
    process = ManagedProcess.spawn("counter", ["seq", "1", "100000"], log)
    process.popen.wait(10)
    assert tail(log, 2) == "99999\n100000"
    assert tail(tmp_path / "missing.log", 5) == ""
