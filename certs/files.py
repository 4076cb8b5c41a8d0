"""File mode: serve the certificate and key found at two paths, reloading them when they change.

Suits ``jobsink certs create`` output, a cert-manager Secret mounted as a volume (the kubelet swaps
both files at once through a symlink) and any tool that rewrites the files in place. The files are
compared by content, not mtime, because a volume swap can keep timestamps. A half-written pair
(new certificate, old key) fails the check in ``LiveContext.install`` and is retried on the next
poll, so the server keeps presenting the old certificate meanwhile.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from certs.authority import KeyPair
from certs.live import InvalidKeyPair, LiveContext

log = logging.getLogger(__name__)

#: How often the files are read. Cheap: two small files.
POLL_INTERVAL = 1.0


class FileSource:
    """Keeps ``live`` in step with ``cert_path`` and ``key_path``."""

    def __init__(self, live: LiveContext, cert_path: Path, key_path: Path) -> None:
        self.live = live
        self.cert_path = cert_path
        self.key_path = key_path
        #: The last problem logged, so a broken pair is reported once, not every poll.
        self.problem: str | None = None

    def read(self) -> KeyPair:
        return KeyPair(self.cert_path.read_bytes(), self.key_path.read_bytes())

    def load(self) -> bool:
        """Install the pair on disk if it changed. Raises if it is missing or unusable."""
        return self.live.install(self.read())

    def poll(self) -> bool:
        """Like ``load`` but logs and keeps the current pair when the files are not usable."""
        try:
            loaded = self.load()
        except (OSError, InvalidKeyPair) as error:
            if str(error) != self.problem:
                self.problem = str(error)
                log.warning(
                    "certificate files not loaded; still serving the previous pair",
                    extra={
                        "cert": str(self.cert_path),
                        "key": str(self.key_path),
                        "error": str(error),
                    },
                )
            return False
        self.problem = None
        return loaded

    async def watch(self, interval: float = POLL_INTERVAL) -> None:
        """Poll forever; run as a task on the server's event loop (see ``certs.live``)."""
        while True:
            await asyncio.sleep(interval)
            self.poll()
