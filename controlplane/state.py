"""A registry of running control planes, so a run killed with SIGKILL is cleaned up later.

Each run writes ``<state dir>/<run id>.json``: its owner (the Python process), its work
directory and every process it started, each with its kernel start time. A later run
reclaims a record only when the owner is gone, and ends only the processes that still match
their recorded start time, so it never touches another live run or a recycled pid.
"""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel, ValidationError

from controlplane.binaries import cache_root
from controlplane.node.teardown import NodeRecord, TeardownIncomplete, safe_to_remove, teardown_node
from controlplane.processes import end_group, is_same_process, start_marker


class ProcessRecord(BaseModel):
    name: str
    pid: int
    marker: str | None


class RunRecord(BaseModel):
    owner: ProcessRecord
    workdir: str
    remove_workdir: bool
    processes: list[ProcessRecord] = []
    #: Present when the run started a node: what must be undone on the host besides processes.
    node: NodeRecord | None = None


def default_state_dir() -> Path:
    """``$JOBSINK_STATE_DIR``, else ``runs/`` in the cache root: shared by every run of a user."""
    explicit = os.environ.get("JOBSINK_STATE_DIR")
    return Path(explicit) if explicit else cache_root() / "runs"


def current_owner() -> ProcessRecord:
    return ProcessRecord(name="owner", pid=os.getpid(), marker=start_marker(os.getpid()))


class RunRegistry:
    """The records under one state directory."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_state_dir()

    def path(self, run_id: str) -> Path:
        return self.directory / f"{run_id}.json"

    def save(self, run_id: str, record: RunRecord) -> None:
        """Write atomically, so a crash mid-write never leaves a half record."""
        self.directory.mkdir(parents=True, exist_ok=True)
        temporary = self.directory / f".{run_id}.json.tmp"
        temporary.write_text(record.model_dump_json(indent=2))
        temporary.replace(self.path(run_id))

    def remove(self, run_id: str) -> None:
        self.path(run_id).unlink(missing_ok=True)

    @contextmanager
    def _locked(self) -> Iterator[None]:
        """Two runs starting together must not reclaim the same record twice."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / ".lock").open("w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def reclaim_stale(self) -> list[str]:
        """End what dead owners left running and delete their files; says what was done."""
        reclaimed: list[str] = []
        with self._locked():
            for path in sorted(self.directory.glob("*.json")):
                try:
                    record = RunRecord.model_validate_json(path.read_text())
                except (OSError, ValidationError):
                    path.unlink(missing_ok=True)  # unreadable: nothing in it can be trusted
                    continue
                if is_same_process(record.owner.pid, record.owner.marker):
                    continue  # a live run, possibly another user's terminal: leave it alone
                ended = [p for p in record.processes if is_same_process(p.pid, p.marker)]
                # Dependants first, etcd last, as in a normal shutdown.
                for process in reversed(ended):
                    end_group(process.pid, process.marker)
                names = ", ".join(f"{p.name} (pid {p.pid})" for p in ended) or "no processes"
                message = f"reclaimed stale run {path.stem}: ended {names}"
                if record.node is not None:
                    try:
                        undone = teardown_node(record.node)
                    except TeardownIncomplete as error:
                        # Kept, so that the next run tries again; its files stay too.
                        reclaimed.append(f"could not fully reclaim run {path.stem}: {error}")
                        continue
                    message += "".join(f"; {line}" for line in undone)
                if record.remove_workdir and safe_to_remove(Path(record.workdir)):
                    shutil.rmtree(record.workdir, ignore_errors=True)
                path.unlink(missing_ok=True)
                reclaimed.append(message)
        return reclaimed
