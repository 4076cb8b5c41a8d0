"""events.k8s.io/v1 Events as plain dicts: create one, and patch the series of one already written.

One attempt per call: the recorder that calls this decides what a lost Event is worth (never a
retry that holds up a Job), and a retried create that had in fact landed would write the Event
twice under two names.
"""

from __future__ import annotations

import time
from typing import Any

from kubeapi.calls import Caller
from kubeapi.errors import NotFound
from kubeapi.raw import MERGE_PATCH
from kubeapi.resources import EVENTS, path


class EventClient:
    """Event writes in any namespace, each within ``request_timeout`` seconds."""

    def __init__(self, caller: Caller, *, request_timeout: float = 5.0) -> None:
        self.caller = caller
        self._timeout = request_timeout

    def create(self, namespace: str, body: dict[str, Any]) -> None:
        """Write a new Event; ``AlreadyExists`` when its name is taken."""
        self.caller.call(
            "create_event",
            "POST",
            path(EVENTS, namespace),
            body={"apiVersion": EVENTS.api_version, "kind": EVENTS.kind, **body},
            deadline=time.monotonic() + self._timeout,
            answer=False,
            retry=False,
        )

    def patch_series(self, namespace: str, name: str, series: dict[str, Any]) -> bool:
        """Replace the ``series`` of an Event; False when the Event is gone (its TTL passed)."""
        try:
            self.caller.call(
                "patch_event",
                "PATCH",
                path(EVENTS, namespace, name),
                body={"series": series},
                content_type=MERGE_PATCH,
                deadline=time.monotonic() + self._timeout,
                answer=False,
                retry=False,
            )
        except NotFound:
            return False
        return True
