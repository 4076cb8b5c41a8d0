"""The authentication step: who sends, proven by a bearer token for the JobSink's audience.

With authentication off the step lets everyone through as nobody (subject None). With it on, a
request must carry ``Authorization: Bearer <JWT>`` issued for the audience the JobSink's status
publishes. The answers follow RFC 6750: no token, 401 with a bare ``WWW-Authenticate: Bearer``; a
token that does not verify, 401 with ``error="invalid_token"``. What only time fixes (an audience
not published yet, keys not fetched yet) is a 503 with ``Retry-After``, so senders keep the event.
"""

from __future__ import annotations

from typing import Any, Protocol

from receiver.auth.keys import KeysUnavailable
from receiver.auth.subject import Subject
from receiver.auth.tokens import TokenRejected, TokenVerifier
from receiver.dataplane.refusals import Rejection

HEADER = "authorization"
CHALLENGE = "Bearer"


class Authenticator(Protocol):
    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject | None:
        """The sender's subject (None: authentication is off); raise ``Rejection`` to refuse."""


class Unauthenticated:
    """Authentication off: every sender is let through, as nobody."""

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> None:
        return None


def bearer_token(authorization: str | None) -> str:
    """The token of an ``Authorization: Bearer`` header; 401 without one."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Rejection(
            401,
            "authentication required: send Authorization: Bearer <token> with a token for "
            "this JobSink's audience (status.address.audience)",
            HEADER,
            headers=(("WWW-Authenticate", CHALLENGE),),
            reason="missing_token",
        )
    return token.strip()


def published_audience(sink: dict[str, Any], retry_after: int) -> str:
    """The audience in the JobSink's status; 503 until the status reconciler has published it."""
    address = (sink.get("status") or {}).get("address") or {}
    audience = address.get("audience")
    if isinstance(audience, str) and audience:
        return audience
    metadata = sink.get("metadata") or {}
    raise Rejection(
        503,
        f"JobSink {metadata.get('namespace')}/{metadata.get('name')} has no audience in its "
        "status yet; retry shortly",
        headers=(("Retry-After", str(retry_after)),),
        reason="audience_not_published",
    )


class BearerTokens:
    """Authentication on: the token must verify (``TokenVerifier``) for the JobSink's audience."""

    def __init__(self, verifier: TokenVerifier, retry_after: int) -> None:
        self.verifier = verifier
        self._retry_after = retry_after

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject:
        token = bearer_token(authorization)
        audience = published_audience(sink, self._retry_after)
        try:
            return await self.verifier.verify(token, audience)
        except TokenRejected as rejected:
            challenge = f'{CHALLENGE} error="invalid_token", error_description="{rejected.reason}"'
            raise Rejection(
                401,
                f"invalid token: {rejected.message}",
                HEADER,
                headers=(("WWW-Authenticate", challenge),),
                reason=rejected.reason,
            ) from None
        except KeysUnavailable as unavailable:
            raise Rejection(
                503,
                f"{unavailable}; retry shortly",
                headers=(("Retry-After", str(self._retry_after)),),
                reason="keys_unavailable",
            ) from None
