"""The authentication step: who sends, before the request's body is read.

With authentication off the step lets everyone through as nobody (subject None), and the
authorization step then refuses nobody, as Knative does while ``authentication-oidc`` is off. An
authenticator that verifies bearer tokens returns the token's ``Subject`` or raises ``Rejection``
(401) before the body is read.
"""

from __future__ import annotations

from typing import Any, Protocol

from receiver.auth.subject import Subject


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject | None:
        """The sender's subject (None: authentication is off); raise ``Rejection`` to refuse."""


class Unauthenticated:
    """Authentication off: every sender is let through, as nobody."""

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> None:
        return None
