"""A one-line spinner with elapsed time, for steps that take a while (a cold control-plane start).

On a terminal the line redraws ten times a second; elsewhere (CI logs, pipes) nothing animates
and a heartbeat line is printed every ``heartbeat`` seconds, so a log never looks hung.
Messages printed through :meth:`Ticker.say` appear on their own lines above the spinner.
"""

from __future__ import annotations

import sys
import threading
import time
from types import TracebackType
from typing import Self, TextIO

FRAMES = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏"


class Ticker:
    def __init__(self, label: str, *, stream: TextIO | None = None, heartbeat: float = 15.0):
        self.label = label
        self.stream = stream or sys.stdout
        self.heartbeat = heartbeat
        self.interactive = self.stream.isatty()
        self._started = time.monotonic()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def _clear(self) -> None:
        if self.interactive:
            self.stream.write("\r\033[K")

    def _draw(self, frame: int) -> None:
        with self._lock:
            self._clear()
            self.stream.write(f"{FRAMES[frame % len(FRAMES)]} {self.label} ({self.elapsed:.0f}s)")
            self.stream.flush()

    def _run(self) -> None:
        frame = 0
        interval = 0.1 if self.interactive else self.heartbeat
        while not self._stop.wait(interval):
            if self.interactive:
                self._draw(frame)
                frame += 1
            else:
                self.say(f"... {self.label} ({self.elapsed:.0f}s)")

    def say(self, message: str) -> None:
        """Print a line without tearing the spinner."""
        with self._lock:
            self._clear()
            self.stream.write(f"  {message}\n")
            self.stream.flush()

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
        with self._lock:
            self._clear()
            mark = "✓" if exc_type is None else "✗"
            self.stream.write(f"{mark} {self.label} ({self.elapsed:.1f}s)\n")
            self.stream.flush()
