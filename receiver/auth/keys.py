"""The issuer's signing keys: a JWKS parsed once, looked up by ``kid``, refetched sparingly.

A token naming a ``kid`` the set does not hold may mean the issuer rotated its key, so the set is
fetched again, but at most once per ``refetch_seconds`` and by one fetch at a time that every
waiting request shares: a flood of tokens with made-up ``kid``s costs the issuer a handful of
fetches, not one each. Keys older than ``max_age_seconds`` are refreshed in the background, so a
key the issuer dropped stops verifying within that time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import jwt

from receiver.metrics import Metrics

log = logging.getLogger(__name__)

ASYMMETRIC_ALGORITHMS: Final = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
"""The only algorithms a key may verify with: never ``none``, never an HMAC one (whose secret a
forger could take from the published public key)."""

FAILED_FETCH_RETRY_SECONDS: Final = 1.0


@dataclass(frozen=True)
class Issuer:
    """What the discovery document and its JWKS say: who signs, and with which keys (raw JWKs)."""

    issuer: str
    jwks: Mapping[str, Any]


class KeysUnavailable(Exception):
    """The signing keys could not be fetched (yet): trying again later will work."""


def signing_keys(jwks: Mapping[str, Any]) -> dict[str, jwt.PyJWK]:
    """The usable keys of a JWKS by ``kid``: asymmetric, for signatures, with a known algorithm.
    Anything else in the set is skipped, not trusted and not fatal."""
    keys: dict[str, jwt.PyJWK] = {}
    for raw in jwks.get("keys") or []:
        if not isinstance(raw, dict) or not isinstance(raw.get("kid"), str):
            continue
        if raw.get("use", "sig") != "sig" or raw.get("kty") not in ("RSA", "EC", "OKP"):
            continue
        try:
            key = jwt.PyJWK(raw)
        except jwt.PyJWTError as error:
            log.warning("skipping JWKS key %s: %s", raw.get("kid"), error)
            continue
        if key.algorithm_name in ASYMMETRIC_ALGORITHMS:
            keys[raw["kid"]] = key
    return keys


class KeySet:
    """The current keys and issuer, from ``fetch`` (blocking; run on a worker thread)."""

    def __init__(
        self,
        fetch: Callable[[], Issuer],
        *,
        refetch_seconds: float = 5.0,
        max_age_seconds: float = 300.0,
        monotonic: Callable[[], float] = time.monotonic,
        metrics: Metrics | None = None,
    ) -> None:
        self._fetch = fetch
        self._fetches = (metrics or Metrics()).oidc_key_fetches
        self._refetch_seconds = refetch_seconds
        self._max_age_seconds = max_age_seconds
        self._monotonic = monotonic
        self._keys: dict[str, jwt.PyJWK] = {}
        self._issuer: str | None = None
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._inflight: asyncio.Task[None] | None = None
        self.generation = 0
        """Moves whenever a fetch drops a key: what was verified with it must be verified again."""

    async def key_for(self, kid: str) -> jwt.PyJWK | None:
        """The key named ``kid``, fetching the set first when it is unknown and a fetch is
        allowed; None when the issuer does not have it. Raises ``KeysUnavailable`` while no set
        was ever fetched."""
        now = self._monotonic()
        key = self._keys.get(kid)
        if key is not None:
            self.refresh_if_stale()
            return key
        if self._inflight is None and self._may_fetch(now):
            self._start_fetch(now)
        if self._inflight is not None:
            await asyncio.shield(self._inflight)
        if self._issuer is None:
            raise KeysUnavailable("the issuer's signing keys could not be fetched yet")
        return self._keys.get(kid)

    def refresh_if_stale(self) -> None:
        """Start a fetch in the background when the keys are older than their max age; the keys
        in hand serve meanwhile."""
        now = self._monotonic()
        if self._fetched_at is not None and now - self._fetched_at > self._max_age_seconds:
            self._start_fetch(now)

    async def current_issuer(self) -> str:
        """The expected ``iss``, fetching the set first if it never was."""
        if self._issuer is None:
            await self.key_for("")
        assert self._issuer is not None  # key_for raised otherwise
        return self._issuer

    def _may_fetch(self, now: float) -> bool:
        if self._attempted_at is None:
            return True
        wait = self._refetch_seconds if self._issuer is not None else FAILED_FETCH_RETRY_SECONDS
        return now - self._attempted_at >= min(wait, self._refetch_seconds)

    def _start_fetch(self, now: float) -> None:
        if self._inflight is not None or not self._may_fetch(now):
            return
        self._attempted_at = now
        self._inflight = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        try:
            fetched = await asyncio.to_thread(self._fetch)
            keys = signing_keys(fetched.jwks)
        except Exception as error:
            self._fetches.labels("error").inc()
            log.warning("fetching the OIDC signing keys failed: %s", error)
            return
        finally:
            self._inflight = None
        if self._keys.keys() - keys.keys() or (self._issuer not in (None, fetched.issuer)):
            self.generation += 1
        self._fetches.labels("ok").inc()
        self._keys, self._issuer = keys, fetched.issuer
        self._fetched_at = self._monotonic()
        log.info("OIDC signing keys fetched: %d key(s) of %s", len(keys), fetched.issuer)
