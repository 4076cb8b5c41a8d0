"""The token verifier, table-driven over what a token can get wrong; keys made in the test."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from hypothesis import given, settings
from hypothesis import strategies as st

from receiver.auth.audience import audience_of
from receiver.auth.keys import KeySet, KeysUnavailable, signing_keys
from receiver.auth.subject import Subject
from receiver.auth.tokens import TokenRejected, TokenVerifier
from receiver.metrics import Metrics
from tests.receiver.auth.issuers import AUDIENCE, ISSUER, SUB, Signer, StaticIssuer

SIGNER = Signer("key-1")
OTHER = Signer("key-1")  # same kid, another key: a forger's
EC_SIGNER = Signer("key-ec", "ES256")


def _b64(data: dict[str, object] | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unsigned(alg: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": SUB, "aud": AUDIENCE, "exp": now + 600}
    return f"{_b64({'alg': alg, 'kid': 'key-1'})}.{_b64(claims)}."


def _hs256_with_public_key() -> str:
    public_pem = SIGNER.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    now = int(time.time())
    claims = {"iss": ISSUER, "sub": SUB, "aud": AUDIENCE, "exp": now + 600}
    header = _b64({"alg": "HS256", "kid": "key-1", "typ": "JWT"})
    body = _b64(claims)
    signature = hmac.new(public_pem, f"{header}.{body}".encode(), hashlib.sha256).digest()
    return f"{header}.{body}.{_b64(signature)}"


def verifier(issuer: StaticIssuer | None = None, **kwargs: object) -> TokenVerifier:
    keys = KeySet(issuer or StaticIssuer([SIGNER, EC_SIGNER]), refetch_seconds=60.0)
    return TokenVerifier(keys, **kwargs)  # type: ignore[arg-type]


def verify(token: str, audience: str = AUDIENCE, **kwargs: object) -> Subject:
    return asyncio.run(verifier(**kwargs).verify(token, audience))


def test_a_good_token_gives_its_subject() -> None:
    subject = verify(SIGNER.token())
    assert subject == Subject(sub=SUB, issuer=ISSUER, audiences=(AUDIENCE,))
    assert verify(EC_SIGNER.token({"aud": AUDIENCE})).audiences == (AUDIENCE,)


ANOTHER = audience_of("default", "b")

REJECTED: list[tuple[str, Callable[[], str], str]] = [
    ("expired", lambda: SIGNER.token({"exp": int(time.time()) - 120}), "expired"),
    ("not yet valid", lambda: SIGNER.token({"nbf": int(time.time()) + 120}), "not_yet_valid"),
    ("another audience", lambda: SIGNER.token({"aud": ANOTHER}), "wrong_audience"),
    ("another issuer", lambda: SIGNER.token({"iss": "https://elsewhere.example"}), "wrong_issuer"),
    ("no exp", lambda: SIGNER.token({"exp": None}), "missing_claim"),
    ("no sub", lambda: SIGNER.token({"sub": None}), "missing_claim"),
    ("signed by another key", lambda: OTHER.token(), "bad_signature"),
    ("unknown kid", lambda: SIGNER.token(headers={"kid": "nope"}), "unknown_key"),
    ("no kid", lambda: jwt.encode({"sub": SUB}, SIGNER.private, algorithm="RS256"), "unknown_key"),
    ("alg none", lambda: _unsigned("none"), "unsupported_algorithm"),
    ("HS256 with the public key as secret", _hs256_with_public_key, "unsupported_algorithm"),
    ("RS256 header on the EC key", lambda: _unsigned("RS256").replace(
        _b64({"alg": "RS256", "kid": "key-1"}), _b64({"alg": "RS256", "kid": "key-ec"})
    ) + "AAAA", "unsupported_algorithm"),
    ("not a JWT", lambda: "definitely-not-a-jwt", "malformed_token"),
    ("64 KB", lambda: "a" * 64 * 1024, "token_too_large"),
    ("aud a number", lambda: SIGNER.token({"aud": 7}), "malformed_token"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("token", "reason"),
    [(make, reason) for _, make, reason in REJECTED],
    ids=[r[0] for r in REJECTED],
)
def test_a_bad_token_is_rejected_with_its_reason(token: Callable[[], str], reason: str) -> None:
    with pytest.raises(TokenRejected) as rejected:
        verify(token(), skew_seconds=5.0)
    assert rejected.value.reason == reason


def test_clock_skew_admits_a_token_just_expired() -> None:
    token = SIGNER.token({"exp": int(time.time()) - 10})
    assert verify(token, skew_seconds=30.0).sub == SUB
    with pytest.raises(TokenRejected, match="expired"):
        verify(token, skew_seconds=5.0)


def test_headers_pointing_at_other_keys_are_not_followed() -> None:
    # The forger's own key, offered in the header: only the issuer's JWKS counts.
    forged = OTHER.token(headers={"jku": "http://127.0.0.1:9/jwks", "jwk": OTHER.jwk()})
    with pytest.raises(TokenRejected) as rejected:
        verify(forged)
    assert rejected.value.reason == "bad_signature"


def test_a_verified_token_is_remembered_and_its_audience_checked_each_time() -> None:
    check = verifier()
    token = SIGNER.token({"aud": [AUDIENCE, audience_of("default", "b")]})

    async def run() -> None:
        for _ in range(3):
            await check.verify(token, AUDIENCE)
        await check.verify(token, audience_of("default", "b"))
        with pytest.raises(TokenRejected, match="audience"):
            await check.verify(token, audience_of("default", "c"))

    asyncio.run(run())
    assert check.signature_checks == 1


def test_each_check_is_counted_by_how_it_was_decided() -> None:
    metrics = Metrics()
    check = verifier(metrics=metrics)
    token = SIGNER.token()

    async def run() -> None:
        for _ in range(3):
            await check.verify(token, AUDIENCE)
        with pytest.raises(TokenRejected):
            await check.verify("not-a-jwt", AUDIENCE)

    asyncio.run(run())
    counted = {
        how: metrics.registry.get_sample_value("jobsink_oidc_tokens_total", {"how": how})
        for how in ("verified", "remembered", "rejected")
    }
    assert counted == {"verified": 1.0, "remembered": 2.0, "rejected": 1.0}


def test_a_remembered_token_still_expires() -> None:
    clock = [time.time()]
    check = verifier(clock=lambda: clock[0], skew_seconds=0.0)
    token = SIGNER.token({"exp": int(clock[0]) + 60})

    async def run() -> None:
        await check.verify(token, AUDIENCE)
        clock[0] += 120
        with pytest.raises(TokenRejected, match="expired"):
            await check.verify(token, AUDIENCE)

    asyncio.run(run())


def test_a_key_dropped_by_the_issuer_no_longer_verifies_remembered_tokens() -> None:
    rotated, issuer = Signer("old"), StaticIssuer([])
    issuer.signers = [rotated]
    moments = [0.0]
    keys = KeySet(issuer, refetch_seconds=1.0, max_age_seconds=10.0, monotonic=lambda: moments[0])
    check = TokenVerifier(keys)
    token = rotated.token()

    async def run() -> None:
        await check.verify(token, AUDIENCE)
        issuer.signers = [Signer("new")]
        moments[0] = 11.0  # past max age: refreshed in the background on the next lookup
        await check.verify(token, AUDIENCE)
        await asyncio.sleep(0.2)
        with pytest.raises(TokenRejected, match="no signing key"):
            await check.verify(token, AUDIENCE)

    asyncio.run(run())


def test_a_flood_of_unknown_kids_fetches_the_keys_once_per_interval() -> None:
    issuer = StaticIssuer([SIGNER])
    check = TokenVerifier(KeySet(issuer, refetch_seconds=60.0))
    forged = [SIGNER.token(headers={"kid": f"kid-{i}"}) for i in range(1000)]

    async def run() -> list[BaseException | Subject]:
        return await asyncio.gather(
            *(check.verify(token, AUDIENCE) for token in forged), return_exceptions=True
        )

    results = asyncio.run(run())
    assert all(isinstance(r, TokenRejected) and r.reason == "unknown_key" for r in results)
    assert issuer.fetched == 1


def test_keys_that_cannot_be_fetched_are_unavailable_not_invalid() -> None:
    issuer = StaticIssuer([SIGNER], failing=True)
    with pytest.raises(KeysUnavailable):
        asyncio.run(verifier(issuer).verify(SIGNER.token(), AUDIENCE))


def test_only_asymmetric_signing_keys_are_taken_from_a_jwks() -> None:
    jwks = {
        "keys": [
            SIGNER.jwk(),
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {**Signer("enc").jwk(), "use": "enc"},
            {"kty": "RSA", "kid": "broken", "n": "x", "e": "AQAB"},
            "not a key",
        ]
    }
    assert list(signing_keys(jwks)) == ["key-1"]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400) | st.from_regex(r"[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*\.[A-Za-z0-9_\-]*"))
def test_any_text_is_a_token_rejected_never_an_error(token: str) -> None:
    with pytest.raises(TokenRejected):
        verify(token)
