"""Reclaiming what a killed run left behind, and never anything else."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from controlplane.node.teardown import NodeRecord
from controlplane.processes import ManagedProcess, is_same_process
from controlplane.state import ProcessRecord, RunRecord, RunRegistry, current_owner


def _dead_owner() -> ProcessRecord:
    """An owner whose start time matches no running process: it has exited."""
    return ProcessRecord(name="owner", pid=1, marker="started-at-another-time")


@pytest.fixture
def sleeper(tmp_path: Path) -> Iterator[ManagedProcess]:
    process = ManagedProcess.spawn("etcd", ["sleep", "300"], tmp_path / "sleeper.log")
    yield process
    process.stop(timeout=1)


def _record(owner: ProcessRecord, workdir: Path, *processes: ManagedProcess) -> RunRecord:
    return RunRecord(
        owner=owner,
        workdir=str(workdir),
        remove_workdir=True,
        processes=[ProcessRecord(name=p.name, pid=p.pid, marker=p.marker) for p in processes],
    )


def test_a_dead_owners_processes_and_files_are_reclaimed(
    tmp_path: Path, sleeper: ManagedProcess
) -> None:
    registry = RunRegistry(tmp_path / "runs")
    workdir = tmp_path / "stale-workdir"
    workdir.mkdir()
    registry.save("stale", _record(_dead_owner(), workdir, sleeper))

    (message,) = registry.reclaim_stale()

    assert message == f"reclaimed stale run stale: ended etcd (pid {sleeper.pid})"
    assert sleeper.popen.wait(5) == -15
    assert not workdir.exists()
    assert not registry.path("stale").exists()


def test_a_live_owners_run_is_left_alone(tmp_path: Path, sleeper: ManagedProcess) -> None:
    registry = RunRegistry(tmp_path / "runs")
    workdir = tmp_path / "live-workdir"
    workdir.mkdir()
    registry.save("live", _record(current_owner(), workdir, sleeper))

    assert registry.reclaim_stale() == []
    assert sleeper.running
    assert workdir.exists()
    assert registry.path("live").exists()


def test_a_recycled_pid_is_not_killed(tmp_path: Path, sleeper: ManagedProcess) -> None:
    registry = RunRegistry(tmp_path / "runs")
    impostor = ProcessRecord(name="etcd", pid=sleeper.pid, marker="started-at-another-time")
    record = RunRecord(owner=_dead_owner(), workdir=str(tmp_path / "w"), remove_workdir=False)
    registry.save("recycled", record.model_copy(update={"processes": [impostor]}))

    assert registry.reclaim_stale() == ["reclaimed stale run recycled: ended no processes"]
    assert is_same_process(sleeper.pid, sleeper.marker)


def test_an_unreadable_record_is_dropped(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "runs")
    registry.directory.mkdir(parents=True)
    registry.path("garbage").write_text("{not json")
    assert registry.reclaim_stale() == []
    assert not registry.path("garbage").exists()


def test_a_kept_workdir_survives_reclaiming(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "runs")
    workdir = tmp_path / "users-own-dir"
    workdir.mkdir()
    record = RunRecord(owner=_dead_owner(), workdir=str(workdir), remove_workdir=False)
    registry.save("kept", record)
    registry.reclaim_stale()
    assert workdir.exists()


def test_state_dir_can_be_set_apart_from_the_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("JOBSINK_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("JOBSINK_STATE_DIR", raising=False)
    assert RunRegistry().directory == tmp_path / "cache" / "runs"
    monkeypatch.setenv("JOBSINK_STATE_DIR", str(tmp_path / "state"))
    assert RunRegistry().directory == tmp_path / "state"


def _node_record(workdir: Path, run_id: str) -> NodeRecord:
    return NodeRecord(
        root=str(workdir / "node"),
        runtime_dir=str(workdir / "runtime"),
        cgroup=f"/jobsink-test-{run_id}",
        bridge=f"jsk-t{run_id[:6]}",
        network=f"jobsink-test-{run_id}",
    )


def test_a_dead_owners_node_is_torn_down_before_its_directory_goes(tmp_path: Path) -> None:
    registry = RunRegistry(tmp_path / "runs")
    workdir = tmp_path / "stale-workdir"
    (workdir / "node").mkdir(parents=True)
    (workdir / "runtime").mkdir()
    record = _record(_dead_owner(), workdir)
    record.node = _node_record(workdir, "a1b2c3d4e5f6")
    registry.save("stale", record)

    (message,) = registry.reclaim_stale()

    assert message == "reclaimed stale run stale: ended no processes"
    assert not workdir.exists()
    assert not registry.path("stale").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_mount_below_a_stale_node_is_unmounted_not_emptied(tmp_path: Path) -> None:
    """Deleting a tree with something mounted in it would delete the mounted files too."""
    registry = RunRegistry(tmp_path / "runs")
    workdir = tmp_path / "stale-workdir"
    mounted = workdir / "node" / "kubelet" / "pods" / "volume"
    mounted.mkdir(parents=True)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious").write_text("keep me")
    subprocess.run(["mount", "--bind", str(outside), str(mounted)], check=True)
    record = _record(_dead_owner(), workdir)
    record.node = _node_record(workdir, "0f0e0d0c0b0a")
    registry.save("stale", record)

    registry.reclaim_stale()

    assert str(mounted) not in Path("/proc/self/mountinfo").read_text()
    assert (outside / "precious").read_text() == "keep me"
    assert not workdir.exists()
