"""The write protocol driven from a test's thread: every delivery runs on one event loop, kept in
a background thread for the whole session, so the pooled connections of ``kubeapi.aio`` stay on
the loop they were made on, and deliveries from several test threads run side by side as they
would in the receiver."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from jobsink.event import CloudEvent
from receiver.protocol import Accepted, WriteProtocol

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def loop() -> asyncio.AbstractEventLoop:
    """The session's delivery loop, started on first use."""
    global _loop
    with _lock:
        if _loop is None:
            _loop = asyncio.new_event_loop()
            threading.Thread(target=_loop.run_forever, name="deliveries", daemon=True).start()
        return _loop


def deliver(
    protocol: WriteProtocol, sink: dict[str, Any], event: CloudEvent, *, deadline: float
) -> Accepted:
    """``protocol.deliver``, waited for; its exception raised here."""
    work = protocol.deliver(sink, event, deadline=deadline)
    return asyncio.run_coroutine_threadsafe(work, loop()).result()
