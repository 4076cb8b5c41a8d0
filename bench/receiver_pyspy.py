"""``--profile``: where our receiver's CPU goes during a window, sampled from outside by py-spy.

py-spy attaches to the running receiver by pid (no change to the process, nothing imported into
it), records until it is interrupted and writes the stacks collapsed, one ``frame;frame;... count``
line per distinct stack. It samples only the thread holding the GIL (``--gil``): without it, the
client threads that wait for the apiserver inside ``SSLSocket.read`` count as busy and fill the
profile; with it, the shares are of the Python work, which is what there is to make leaner (the
time in OpenSSL and the kernel is not in it). It pauses the process for each sample, so the window
it records is not one of the measured ones. :func:`top_entries` makes the two usual lists: self
time (the innermost frame) and cumulative time (every frame on the stack, once per sample).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

SAMPLE_RATE = 250


def py_spy() -> str:
    found = shutil.which("py-spy", path=str(Path(sys.executable).parent)) or shutil.which("py-spy")
    if found is None:
        raise SystemExit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return found


@contextlib.contextmanager
def recording(pid: int, output: Path) -> Iterator[None]:
    """py-spy records ``pid`` while the block runs; the collapsed stacks are in ``output``."""
    process = subprocess.Popen(
        [py_spy(), "record", "--pid", str(pid), "--format", "raw", "--rate", str(SAMPLE_RATE),
         "--gil", "--output", str(output)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        yield
    finally:
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=60)
        if not output.exists():
            raise SystemExit(f"py-spy wrote no profile: {errors.decode(errors='replace')[-2000:]}")


def top_entries(collapsed: str, count: int = 20) -> list[str]:
    """The ``count`` frames with the most self samples, then the ``count`` with the most
    cumulative samples, each as ``<share>% <frame>``."""
    own: Counter[str] = Counter()
    cumulative: Counter[str] = Counter()
    total = 0
    for line in collapsed.splitlines():
        stack, _, number = line.rpartition(" ")
        if not stack or not number.isdigit():
            continue
        samples = int(number)
        frames = stack.split(";")
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            cumulative[frame] += samples
    if not total:
        return ["(no samples: the receiver was idle while py-spy recorded)"]
    lines = [f"{total} samples at {SAMPLE_RATE}/s; self:"]
    lines += [f"{100 * n / total:5.1f}% {frame}" for frame, n in own.most_common(count)]
    lines.append("cumulative:")
    lines += [f"{100 * n / total:5.1f}% {frame}" for frame, n in cumulative.most_common(count)]
    return lines
