"""The authentication answers over real uvicorn: 401s with RFC 6750 challenges, 503s that wait.

Kubernetes is the FAKE apiserver of ``fake_kube`` (the writes); the signing keys are an issuer made
in the test. The e2e suite (``tests/e2e/test_authentication.py``) repeats the essentials with
tokens from the real apiserver.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from receiver.auth.keys import KeySet
from receiver.auth.tokens import TokenVerifier
from receiver.dataplane.authenticate import BearerTokens
from tests.receiver.auth.issuers import AUDIENCE, Signer, StaticIssuer
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_http import Served, StaticSinks, make_plane, post, serve
from tests.seed import SEED_LOCATION

SIGNER = Signer("key-1")


@pytest.fixture
def issuer() -> StaticIssuer:
    return StaticIssuer([SIGNER])


@pytest.fixture
def secured(
    fake: FakeKubeApi, fake_url: str, sink: dict[str, Any], issuer: StaticIssuer
) -> Iterator[Served]:
    published = copy.deepcopy(sink)
    published["status"] = {"address": {"name": "http", "url": "x", "audience": AUDIENCE}}
    unpublished = copy.deepcopy(sink)
    unpublished["metadata"]["name"] = "fresh"
    sinks = StaticSinks(
        {("default", "job-sink-logger"): published, ("default", "fresh"): unpublished}
    )
    plane = make_plane(fake_url, sinks, request_timeout=1.0)
    plane.authenticator = BearerTokens(TokenVerifier(KeySet(issuer, refetch_seconds=0.2)), 1)
    with serve(plane) as url:
        yield Served(url, fake, sinks, plane)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def test_a_token_for_the_sinks_audience_gets_202(secured: Served) -> None:
    response = post(secured, **bearer(SIGNER.token()))
    assert response.status_code == 202, response.text


def test_no_token_is_401_with_a_bare_bearer_challenge(secured: Served) -> None:
    for headers in ({}, {"authorization": "Basic dXNlcjpwYXNz"}, {"authorization": "Bearer"}):
        response = post(secured, **headers)
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["reason"] == "missing_token"
        assert response.json()["attribute"] == "authorization"
    assert secured.fake.calls == []


CASES = [
    ("expired", lambda: SIGNER.token({"exp": 1_000_000})),
    ("wrong_audience", lambda: SIGNER.token({"aud": "sinks.knative.dev/jobsink/default/b"})),
    ("bad_signature", lambda: Signer("key-1").token()),
    ("malformed_token", lambda: "not.a.jwt"),
    ("token_too_large", lambda: "x" * 65536),
]


@pytest.mark.parametrize(("reason", "token"), CASES, ids=[c[0] for c in CASES])
def test_a_token_that_does_not_verify_is_401_naming_why(
    secured: Served, reason: str, token: Any
) -> None:
    response = post(secured, **bearer(token()))
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge == f'Bearer error="invalid_token", error_description="{reason}"'
    assert response.json()["reason"] == reason
    assert response.json()["error"].startswith("invalid token: ")
    assert secured.fake.calls == []


def test_a_sink_without_a_published_audience_is_503_to_retry(secured: Served) -> None:
    response = post(secured, path="/default/fresh", **bearer(SIGNER.token()))
    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.json()["reason"] == "audience_not_published"


def test_keys_that_cannot_be_fetched_are_503_then_work(
    secured: Served, issuer: StaticIssuer
) -> None:
    issuer.failing = True
    response = post(secured, **bearer(SIGNER.token()))
    assert (response.status_code, response.json()["reason"]) == (503, "keys_unavailable")
    issuer.failing = False
    response = httpx.get(secured.url + "/metrics")
    assert 'reason="authentication_not_ready"' in response.text
    for _ in range(50):  # the next fetch is allowed a moment later
        response = post(secured, **bearer(SIGNER.token()))
        if response.status_code == 202:
            break
    assert response.status_code == 202


def test_reading_an_events_location_needs_the_token_too(secured: Served) -> None:
    assert post(secured, **bearer(SIGNER.token())).status_code == 202
    anonymous = httpx.get(secured.url + SEED_LOCATION)
    assert (anonymous.status_code, anonymous.headers["www-authenticate"]) == (401, "Bearer")
    assert httpx.get(secured.url + SEED_LOCATION, headers=bearer(SIGNER.token())).status_code in (
        200,
        202,
    )
