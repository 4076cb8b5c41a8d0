"""The authorization step of a POST: between decoding the events and delivering them.

The step sits where a real check needs it: after the sender is authenticated (``subject``, None
when authentication is off), the JobSink is known (its policies decide) and the events are decoded
(a policy may filter on their attributes), before anything is written. A refusal is a
``Rejection`` (403), answered like any other.
"""

from __future__ import annotations

from typing import Any, Protocol

from receiver.auth.subject import Subject
from receiver.dataplane.wire import Decoded


class Authorizer(Protocol):
    async def authorize(
        self, subject: Subject | None, sink: dict[str, Any], decoded: Decoded
    ) -> None:
        """Return to let the request through; raise ``Rejection`` to refuse it."""


class EveryoneAllowed:
    """No policies: every sender may deliver to every JobSink."""

    async def authorize(
        self, subject: Subject | None, sink: dict[str, Any], decoded: Decoded
    ) -> None:
        return None
