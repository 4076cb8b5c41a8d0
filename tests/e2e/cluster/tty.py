"""Run a command on a pseudo-terminal, as a user's shell does: ``kubectl run -ti`` checks that
its standard input is a terminal and attaches to the Pod's."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class TerminalRun:
    returncode: int
    #: Everything written to the terminal (stdout and stderr share it, as on a screen).
    output: str


def run_on_terminal(
    argv: Sequence[str], *, env: Mapping[str, str], cwd: str, timeout: float
) -> TerminalRun:
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            argv, stdin=terminal, stdout=terminal, stderr=terminal, env=dict(env), cwd=cwd,
            start_new_session=True,
        )  # fmt: skip
    finally:
        os.close(terminal)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    data = os.read(controller, 65536)
                except OSError:  # EIO: every writer closed the terminal
                    data = b""
                if not data:
                    break
                chunks.append(data)
            elif process.poll() is not None:
                break
        else:
            process.kill()
        returncode = process.wait(timeout=30)
    finally:
        os.close(controller)
    return TerminalRun(returncode, b"".join(chunks).decode(errors="replace"))
