"""Verifying a bearer token for one audience, locally: no API call per request.

A token is checked in order of cost: its size and shape, its header (an asymmetric algorithm the
named key declares), the signature with the issuer's key, then the claims (``iss``, ``exp``,
``nbf`` with ``skew_seconds`` of slack, ``aud``). Headers that point at other keys (``jku``,
``x5u``, ``jwk``, ``x5c``) are never followed: only the issuer's JWKS is trusted.

A verified token is remembered until it expires (``VerifiedTokens``): senders reuse a token for
many events, and a dictionary lookup is what keeps authentication off the receiver's profile.
Only the audience is checked on every request, since one token may be sent to several JobSinks.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

import jwt

from receiver.auth.keys import ASYMMETRIC_ALGORITHMS, KeySet
from receiver.auth.subject import Subject
from receiver.metrics import Metrics

REQUIRED_CLAIMS: Final = ("iss", "sub", "aud", "exp")

_DECODE_OPTIONS: Final[Any] = {
    # Claims with a time or an audience are checked here, against our clock and per request.
    "verify_signature": True,
    "verify_exp": False,
    "verify_nbf": False,
    "verify_iat": False,
    "verify_aud": False,
    "verify_iss": False,
    "require": list(REQUIRED_CLAIMS),
}


class TokenRejected(Exception):
    """The token does not prove the sender may use this audience. ``reason`` is a stable word for
    machines (``expired``, ``wrong_audience``...), the message a sentence for people."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Verified:
    subject: Subject
    expires: float
    not_before: float | None


class VerifiedTokens:
    """Tokens whose signature and issuer were checked, least recently used dropped first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[str, Verified] = OrderedDict()
        self.generation = 0

    def get(self, token: str, generation: int) -> Verified | None:
        if generation != self.generation:
            # The issuer dropped a key since: what it signed must not be taken on trust.
            self._entries.clear()
            self.generation = generation
            return None
        found = self._entries.get(token)
        if found is not None:
            self._entries.move_to_end(token)
        return found

    def put(self, token: str, verified: Verified) -> None:
        if self._capacity <= 0:
            return
        self._entries[token] = verified
        self._entries.move_to_end(token)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)

    def drop(self, token: str) -> None:
        self._entries.pop(token, None)

    def __len__(self) -> int:
        return len(self._entries)


def _claim_time(claims: dict[str, Any], name: str) -> float | None:
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TokenRejected("malformed_token", f"the token's {name} claim is not a number")
    return float(value)


def _audiences(claims: dict[str, Any]) -> tuple[str, ...]:
    aud = claims.get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list) and all(isinstance(item, str) for item in aud):
        return tuple(aud)
    raise TokenRejected("malformed_token", "the token's aud claim is not a string or strings")


class TokenVerifier:
    """Verifies bearer tokens against the issuer's keys (``KeySet``)."""

    def __init__(
        self,
        keys: KeySet,
        *,
        skew_seconds: float = 30.0,
        max_token_bytes: int = 16 * 1024,
        cache_entries: int = 10_000,
        clock: Callable[[], float] = time.time,
        metrics: Metrics | None = None,
    ) -> None:
        self.keys = keys
        self._skew = skew_seconds
        self._max_token_bytes = max_token_bytes
        self._clock = clock
        self._verified = VerifiedTokens(cache_entries)
        self._decoder = jwt.PyJWT()
        self.signature_checks = 0
        # The counter's children bound once: ``labels()`` takes a lock and builds a key on
        # every call, and this runs on every request.
        counted = (metrics or Metrics()).oidc_tokens
        self._rejected, self._fresh, self._remembered = (
            counted.labels(how) for how in ("rejected", "verified", "remembered")
        )

    async def verify(self, token: str, audience: str) -> Subject:
        """The token's subject when it is valid now and carries ``audience``; raises
        ``TokenRejected`` otherwise, ``KeysUnavailable`` while the keys cannot be had."""
        try:
            return await self._verify(token, audience)
        except TokenRejected:
            self._rejected.inc()
            raise

    async def _verify(self, token: str, audience: str) -> Subject:
        if len(token) > self._max_token_bytes:
            raise TokenRejected(
                "token_too_large", f"the token is larger than {self._max_token_bytes} bytes"
            )
        self.keys.refresh_if_stale()
        verified = self._verified.get(token, self.keys.generation)
        if verified is None:
            verified = await self._check_signature(token)
            self._verified.put(token, verified)
            self._fresh.inc()
        else:
            self._remembered.inc()
        try:
            self._check_times(verified)
        except TokenRejected:
            self._verified.drop(token)
            raise
        if audience not in verified.subject.audiences:
            raise TokenRejected(
                "wrong_audience", f"the token's audience does not include {audience}"
            )
        return verified.subject

    def _check_times(self, verified: Verified) -> None:
        now = self._clock()
        if now > verified.expires + self._skew:
            raise TokenRejected("expired", "the token has expired")
        if verified.not_before is not None and now + self._skew < verified.not_before:
            raise TokenRejected("not_yet_valid", "the token is not valid yet (nbf)")

    async def _check_signature(self, token: str) -> Verified:
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            raise TokenRejected("malformed_token", f"the token is not a JWT: {error}") from None
        algorithm, kid = header.get("alg"), header.get("kid")
        if algorithm not in ASYMMETRIC_ALGORITHMS:
            raise TokenRejected(
                "unsupported_algorithm",
                f"algorithm {algorithm!r} is not accepted: only asymmetric signatures are",
            )
        if not isinstance(kid, str):
            raise TokenRejected("unknown_key", "the token names no signing key (kid)")
        key = await self.keys.key_for(kid)
        if key is None:
            raise TokenRejected("unknown_key", f"the issuer has no signing key {kid!r}")
        if key.algorithm_name != algorithm:
            raise TokenRejected(
                "unsupported_algorithm",
                f"key {kid!r} signs with {key.algorithm_name}, not {algorithm}",
            )
        self.signature_checks += 1
        try:
            claims = self._decoder.decode_complete(
                token, key=key.key, algorithms=[algorithm], options=_DECODE_OPTIONS
            )["payload"]
        except jwt.InvalidSignatureError:
            raise TokenRejected("bad_signature", "the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise TokenRejected("missing_claim", str(error)) from None
        except (jwt.PyJWTError, ValueError, TypeError) as error:
            # A signature or segment of the wrong shape: the token's fault, never a 500.
            raise TokenRejected("malformed_token", f"the token cannot be read: {error}") from None
        issuer = await self.keys.current_issuer()
        if claims.get("iss") != issuer:
            raise TokenRejected("wrong_issuer", f"the token was not issued by {issuer}")
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise TokenRejected("malformed_token", "the token's sub claim is not a string")
        expires = _claim_time(claims, "exp")
        assert expires is not None  # a required claim
        return Verified(
            subject=Subject(sub=sub, issuer=issuer, audiences=_audiences(claims)),
            expires=expires,
            not_before=_claim_time(claims, "nbf"),
        )
