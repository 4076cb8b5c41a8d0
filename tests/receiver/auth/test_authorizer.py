"""The authorization step of the data plane over a static set of policies: what it lets through,
and the refusal it raises otherwise."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from jobsink.event import CloudEvent
from receiver.auth.policy import parse
from receiver.auth.subject import Subject
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.refusals import Rejection, reason_of
from receiver.dataplane.wire import Batch, Decoded, Single
from tests.receiver.auth.policies import OTHER, SENDER, StaticPolicies, policy

SINK: dict[str, Any] = {"metadata": {"namespace": "team-a", "name": "orders"}}
TYPE_PREFIX = [{"prefix": {"type": "com.example."}}]


def event(type: str, id: str = "1") -> CloudEvent:
    return CloudEvent.from_attributes(
        {"specversion": "1.0", "id": id, "source": "/s", "type": type}
    )


def subject(sub: str) -> Subject:
    return Subject(sub, "https://kubernetes.default.svc.cluster.local", ("aud",))


def authorize(
    policies: StaticPolicies,
    sub: str | None,
    decoded: Decoded | None,
    mode: Any = "allow-same-namespace",
) -> Rejection | None:
    authorizer = EventPolicyAuthorizer(policies, mode, retry_after=3)
    try:
        asyncio.run(authorizer.authorize(None if sub is None else subject(sub), SINK, decoded))
    except Rejection as rejection:
        return rejection
    return None


def test_without_a_subject_nobody_is_refused() -> None:
    assert authorize(StaticPolicies(state="loading"), None, Single(event("x")), "deny-all") is None


def test_policies_not_loaded_yet_is_a_retryable_503() -> None:
    refused = authorize(StaticPolicies(state="loading"), SENDER, Single(event("x")))
    assert refused is not None
    assert (refused.status, refused.reason, dict(refused.headers)) == (
        503,
        "policies_not_loaded",
        {"Retry-After": "3"},
    )
    assert reason_of(refused) == "authorization_not_ready"


def test_a_missing_crd_means_the_default_mode() -> None:
    absent = StaticPolicies(state="absent")
    assert authorize(absent, "system:serviceaccount:team-a:x", Single(event("x"))) is None
    assert authorize(absent, OTHER, Single(event("x"))) is not None


CASES: list[tuple[str, list[dict[str, Any]], str, Decoded | None, int | None, str | None]] = [
    ("admitted", [policy()], SENDER, Single(event("com.example.a")), None, None),
    ("refused subject", [policy()], OTHER, Single(event("com.example.a")), 403, None),
    (
        "filter admits",
        [policy(filters=TYPE_PREFIX)],
        SENDER,
        Single(event("com.example.a")),
        None,
        None,
    ),
    ("filter refuses", [policy(filters=TYPE_PREFIX)], SENDER, Single(event("org.a")), 403, "type"),
    (
        "batch: one refused event refuses all",
        [policy(filters=TYPE_PREFIX)],
        SENDER,
        Batch((event("com.example.a", "1"), event("org.a", "2"))),
        403,
        "type",
    ),
    (
        "batch: undecodable elements are refused on their own",
        [policy(filters=TYPE_PREFIX)],
        SENDER,
        Batch((event("com.example.a"), Rejection(400, "bad"))),
        None,
        None,
    ),
    ("GET: subject only", [policy(filters=TYPE_PREFIX)], SENDER, None, None, None),
    ("GET: refused subject", [policy()], OTHER, None, 403, None),
    (
        "no policy: same namespace",
        [],
        "system:serviceaccount:team-a:x",
        Single(event("t")),
        None,
        None,
    ),
    ("no policy: other namespace", [], OTHER, Single(event("t")), 403, None),
]


@pytest.mark.parametrize(
    ("objs", "sub", "decoded", "status", "attribute"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_decisions_become_answers(
    objs: list[dict[str, Any]],
    sub: str,
    decoded: Decoded | None,
    status: int | None,
    attribute: str | None,
) -> None:
    refused = authorize(StaticPolicies(tuple(parse(o) for o in objs)), sub, decoded)
    if status is None:
        assert refused is None, refused
        return
    assert refused is not None
    assert (refused.status, refused.attribute) == (status, attribute)
    assert refused.message.startswith("forbidden: ")
    assert reason_of(refused) == "forbidden"
