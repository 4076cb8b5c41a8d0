"""One named daemon thread that runs a loop until asked to stop.

Informers, the sweeper and the Lease election each keep one. ``stop`` sets the event the loop
watches, then calls ``interrupt`` (to cut a blocking watch read, so the loop sees the event at
once rather than at the watch's next timeout), then waits for the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable


class Daemon:
    def __init__(
        self,
        name: str,
        loop: Callable[[], None],
        *,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self.name = name
        self.stopping = threading.Event()
        """Set by ``stop``; the loop ends when it sees it."""
        self._loop = loop
        self._interrupt = interrupt
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self.stopping.clear()
        self._thread = threading.Thread(target=self._loop, name=self.name, daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        if self._interrupt is not None:
            self._interrupt()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
