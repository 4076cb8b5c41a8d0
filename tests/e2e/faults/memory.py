"""Resident memory of a server process, from ``/proc/<pid>/status`` (Linux)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024


def rss_bytes(pid: int) -> int | None:
    """``VmRSS`` of ``pid`` in bytes, or None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024  # the kernel reports kB
    return None


@dataclass
class RssTrack:
    """First, highest and latest RSS seen of one process incarnation."""

    pid: int
    start: int
    peak: int
    end: int

    @classmethod
    def begin(cls, pid: int) -> RssTrack | None:
        now = rss_bytes(pid)
        return None if now is None else cls(pid, now, now, now)

    def sample(self) -> int | None:
        now = rss_bytes(self.pid)
        if now is not None:
            self.peak = max(self.peak, now)
            self.end = now
        return now

    def describe(self) -> str:
        drift = (self.end - self.start) / MIB
        return (
            f"start {self.start / MIB:.1f} MiB, peak {self.peak / MIB:.1f} MiB, "
            f"end {self.end / MIB:.1f} MiB (drift {drift:+.1f} MiB)"
        )
