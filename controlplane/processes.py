"""Child processes we start, and ending them by their own pids only.

Each child leads its own process group (``start_new_session``), so a signal to the group
also reaches anything it forked, and a Ctrl-C in the terminal does not hit it before the
parent has had a chance to stop it in order. A process is identified by its pid *and* its
kernel start time, so a recycled pid is never mistaken for one of ours.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

TERMINATE_TIMEOUT = 10.0
_TAIL_BYTES = 64 * 1024


def start_marker(pid: int) -> str | None:
    """When ``pid`` started (opaque, comparable for equality), or None if it is not running."""
    stat = Path(f"/proc/{pid}/stat")
    if Path("/proc/self/stat").exists():
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return None
        # fields[0] is the state (field 3 of proc(5)); fields[19] is starttime (field 22).
        return None if fields[0] in ("Z", "X") else fields[19]
    ps = subprocess.run(
        ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, check=False
    )
    return ps.stdout.strip() or None


def is_same_process(pid: int, marker: str | None) -> bool:
    """True if ``pid`` still names the process that had ``marker`` when it was recorded."""
    return marker is not None and start_marker(pid) == marker


def _signal_group(pid: int, signum: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


def end_group(pid: int, marker: str | None, *, timeout: float = TERMINATE_TIMEOUT) -> None:
    """SIGTERM the process group led by ``pid`` (if it is still ours), SIGKILL after ``timeout``.

    For processes that are not our children (left over by a killed run): we cannot wait()
    for them, so poll until the pid no longer names the same process.
    """
    if not is_same_process(pid, marker):
        return
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_same_process(pid, marker):
            return
        time.sleep(0.1)
    _signal_group(pid, signal.SIGKILL)


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a possibly large log file ('' if it does not exist)."""
    try:
        with path.open("rb") as log:
            log.seek(max(0, log.seek(0, os.SEEK_END) - _TAIL_BYTES))
            text = log.read().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


@dataclass
class ManagedProcess:
    """A child process whose stdout and stderr go to ``log_path``."""

    name: str
    argv: list[str]
    log_path: Path
    popen: subprocess.Popen[bytes] = field(repr=False)
    marker: str | None

    @classmethod
    def spawn(
        cls,
        name: str,
        argv: Sequence[str],
        log_path: Path,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | None = None,
    ) -> ManagedProcess:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        with log_path.open("ab") as log:
            popen = subprocess.Popen(
                list(argv),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(env) if env is not None else None,
                cwd=cwd,
            )
        return cls(name, list(argv), log_path, popen, start_marker(popen.pid))

    @property
    def pid(self) -> int:
        return self.popen.pid

    @property
    def running(self) -> bool:
        return self.popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self.popen.poll()

    def log_tail(self, lines: int = 40) -> str:
        return tail(self.log_path, lines)

    def stop(self, timeout: float = TERMINATE_TIMEOUT) -> int:
        """End the process group: SIGTERM, then SIGKILL after ``timeout``. Returns the exit code."""
        if not self.running:
            return self.popen.wait()
        _signal_group(self.pid, signal.SIGTERM)
        try:
            code: int | None = self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            code = None
        # Also reaches anything the leader forked and left behind when it exited.
        _signal_group(self.pid, signal.SIGKILL)
        return self.popen.wait() if code is None else code
