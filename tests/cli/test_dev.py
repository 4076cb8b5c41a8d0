"""``jobsink dev`` end to end: real binaries, the whole story, then Ctrl-C leaves nothing behind.

Runs the command exactly as ``make run`` does (a subprocess of the venv's ``jobsink``), so it
needs the control-plane binaries: marked ``e2e``.
"""

from __future__ import annotations

import fcntl
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from controlplane.ports import is_listening

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

JOBSINK = str(Path(sys.executable).with_name("jobsink"))
STORY_STEPS = [
    "1. Create the JobSink",
    "2. Verify the JobSink is ready",
    "3. Trigger the JobSink",
    "4. A Job was created",
    "5. The same event again",
    "6. An invalid JobSink is rejected",
]
STARTUP_TIMEOUT = 240.0


def _processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes whose argv mentions ``text`` (our workdir is unique)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if text in argv and int(entry.name) != os.getpid():
            found.append(argv)
    return found


def _read_until(process: subprocess.Popen[str], marker: str, timeout: float) -> str:
    assert process.stdout is not None
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    process.kill()
    pytest.fail(f"no {marker!r} within {timeout:.0f}s; output:\n{''.join(seen)}")


def test_story_then_ctrl_c_stops_everything(tmp_path: Path) -> None:
    workdir = tmp_path / "dev"
    process = subprocess.Popen(
        [JOBSINK, "dev", f"--workdir={workdir}", "--receiver-port=0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        output = _read_until(process, "Ctrl-C stops everything", STARTUP_TIMEOUT)
        rest = _read_until(process, "jobsink send", 10)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
    remaining, _ = process.communicate(timeout=60)
    assert process.returncode == 0, output + remaining
    for step in STORY_STEPS:
        assert step in output
    assert "✓ the seed document's expected output" in output
    assert "✓ still exactly one Job" in output
    assert "✓ rejected before anything was stored" in output
    assert "nothing left running" in remaining
    assert f"KUBECONFIG={workdir / 'kubeconfig'}" in rest
    assert _processes_mentioning(str(workdir)) == []
    ports = [int(p) for p in re.findall(r"https?://127\.0\.0\.1:(\d+)", rest)]
    assert len(ports) >= 3
    assert [port for port in ports if is_listening(port)] == []


def test_a_second_dev_in_the_same_workdir_is_refused(tmp_path: Path) -> None:
    workdir = tmp_path / "dev"
    workdir.mkdir()
    with (workdir / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = subprocess.run(
            [JOBSINK, "dev", f"--workdir={workdir}"], capture_output=True, text=True, timeout=60
        )
    assert result.returncode == 2
    assert result.stderr.strip().startswith("error: another `jobsink dev` is running in")
