"""Knative's feature flags as the receiver reads them (``receiver.knative_features``): the
parsing of ``config-features`` (Knative's rules), and authentication that follows the flag.
The watch of the ConfigMap runs against the real apiserver in tests/e2e/test_knative_features.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from receiver.auth.policy_cache import NoPolicies
from receiver.auth.subject import Subject
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.refusals import Rejection
from receiver.knative_features import (
    FollowedAuthentication,
    KnativeFeatures,
    follow,
    parse_features,
)

SINK: dict[str, Any] = {"metadata": {"namespace": "demo", "name": "logger"}}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(None, KnativeFeatures(), id="no-configmap-knative-defaults"),
        pytest.param({}, KnativeFeatures(), id="no-data-knative-defaults"),
        pytest.param(
            {"authentication-oidc": "enabled"},
            KnativeFeatures(authentication_oidc=True),
            id="oidc-enabled",
        ),
        pytest.param(
            {"authentication-oidc": "Enabled"},
            KnativeFeatures(authentication_oidc=True),
            id="any-case",
        ),
        pytest.param(
            {" authentication-oidc ": " enabled "},
            KnativeFeatures(authentication_oidc=True),
            id="blanks-trimmed",
        ),
        pytest.param(
            {"_authentication-oidc": "enabled"}, KnativeFeatures(), id="underscore-keys-ignored"
        ),
        pytest.param({"authentication-oidc": "disabled"}, KnativeFeatures(), id="oidc-disabled"),
        pytest.param(
            {"authentication-oidc": "allowed"}, KnativeFeatures(), id="oidc-allowed-is-off"
        ),
        pytest.param({"authentication-oidc": "true"}, KnativeFeatures(), id="oidc-true-is-off"),
        pytest.param(
            {"default-authorization-mode": "Deny-All"},
            KnativeFeatures(default_authorization_mode="deny-all"),
            id="mode-deny-all",
        ),
        pytest.param(
            {"default-authorization-mode": "allow-all"},
            KnativeFeatures(default_authorization_mode="allow-all"),
            id="mode-allow-all",
        ),
        pytest.param(
            {"default-authorization-mode": "nobody"}, KnativeFeatures(), id="unknown-mode-default"
        ),
        pytest.param(
            {"transport-encryption": "strict", "kreference-group": "disabled"},
            KnativeFeatures(),
            id="other-flags-ignored",
        ),
    ],
)
def test_config_features_parsed_as_knative_parses_them(
    data: dict[str, str] | None, expected: KnativeFeatures
) -> None:
    assert parse_features(data) == expected


class Tokens:
    """Stands in for the bearer-token check: the subject of any request."""

    async def authenticate(self, authorization: str | None, sink: dict[str, Any]) -> Subject:
        if authorization is None:
            raise Rejection(401, "authentication required")
        return Subject("system:serviceaccount:demo:sender", "https://issuer", ("aud",))


def authenticate(followed: FollowedAuthentication, authorization: str | None) -> Subject | None:
    return asyncio.run(followed.authenticate(authorization, SINK))


def test_events_wait_until_the_flags_are_read() -> None:
    followed = FollowedAuthentication(Tokens(), retry_after=3)
    with pytest.raises(Rejection) as refused:
        authenticate(followed, "Bearer t")
    assert refused.value.status == 503
    assert ("Retry-After", "3") in refused.value.headers
    assert refused.value.reason == "features_not_read"


@pytest.mark.parametrize(
    ("features", "authorization", "outcome"),
    [
        pytest.param(KnativeFeatures(), None, None, id="off-no-token-let-through"),
        pytest.param(KnativeFeatures(), "Bearer t", None, id="off-token-ignored"),
        pytest.param(KnativeFeatures(authentication_oidc=True), None, 401, id="on-no-token-401"),
        pytest.param(
            KnativeFeatures(authentication_oidc=True),
            "Bearer t",
            "system:serviceaccount:demo:sender",
            id="on-token-verified",
        ),
    ],
)
def test_authentication_follows_the_flag(
    features: KnativeFeatures, authorization: str | None, outcome: str | int | None
) -> None:
    followed = FollowedAuthentication(Tokens(), retry_after=1)
    authorizer = EventPolicyAuthorizer(NoPolicies(), "allow-same-namespace")
    follow(followed, authorizer)(features)
    if isinstance(outcome, int):
        with pytest.raises(Rejection) as refused:
            authenticate(followed, authorization)
        assert refused.value.status == outcome
        return
    subject = authenticate(followed, authorization)
    assert (subject.sub if subject else None) == outcome


def test_the_default_authorization_mode_follows_the_flag() -> None:
    followed = FollowedAuthentication(Tokens(), retry_after=1)
    authorizer = EventPolicyAuthorizer(NoPolicies(), "allow-same-namespace")
    apply = follow(followed, authorizer)
    apply(KnativeFeatures(authentication_oidc=True, default_authorization_mode="deny-all"))
    assert (authorizer.default_mode, followed.enabled) == ("deny-all", True)
    apply(KnativeFeatures())
    assert (authorizer.default_mode, followed.enabled) == ("allow-same-namespace", False)
