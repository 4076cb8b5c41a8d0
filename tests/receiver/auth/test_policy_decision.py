"""The authorization decision: default modes, policies, filters, batches and GETs."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from receiver.auth.policy import parse
from receiver.auth.policy_decision import Allowed, AuthorizationMode, Denied, applying, decide
from receiver.auth.policy_filters import Attributes
from tests.receiver.auth.policies import OTHER, SENDER, policy, to_ref

SAME_NS = "system:serviceaccount:team-a:builder"
CREATED: Attributes = {"id": "1", "source": "/s", "type": "com.example.created"}
DELETED: Attributes = {"id": "2", "source": "/s", "type": "org.example.deleted"}
TYPE_PREFIX = [{"prefix": {"type": "com.example."}}]

DEFAULTS: list[tuple[AuthorizationMode, str, bool]] = [
    ("allow-all", OTHER, True),
    ("allow-same-namespace", SAME_NS, True),
    ("allow-same-namespace", OTHER, False),
    ("allow-same-namespace", "system:serviceaccount:team-ab:x", False),
    ("deny-all", SAME_NS, False),
]


@pytest.mark.parametrize(("mode", "sub", "allowed"), DEFAULTS)
def test_without_policies_the_default_mode_decides(
    mode: AuthorizationMode, sub: str, allowed: bool
) -> None:
    decision = decide(sub, "team-a", (), [CREATED], mode)
    assert isinstance(decision, Allowed) is allowed
    if isinstance(decision, Denied):
        assert decision.reason == "default_mode"
        assert mode in decision.message


CASES: list[tuple[str, list[dict[str, Any]], str, Sequence[Attributes] | None, str | None]] = [
    ("admitted subject", [policy()], SENDER, [CREATED], None),
    ("another subject", [policy()], OTHER, [CREATED], "no_policy_admits"),
    (
        "same namespace does not help once a policy applies",
        [policy()],
        SAME_NS,
        [CREATED],
        "no_policy_admits",
    ),
    ("filter matches", [policy(filters=TYPE_PREFIX)], SENDER, [CREATED], None),
    ("filter refuses", [policy(filters=TYPE_PREFIX)], SENDER, [DELETED], "filter_mismatch"),
    (
        "batch: every event must pass",
        [policy(filters=TYPE_PREFIX)],
        SENDER,
        [CREATED, DELETED],
        "filter_mismatch",
    ),
    ("batch: all pass", [policy(filters=TYPE_PREFIX)], SENDER, [CREATED, CREATED], None),
    ("GET: filters skipped", [policy(filters=TYPE_PREFIX)], SENDER, None, None),
    ("GET: subject still checked", [policy(filters=TYPE_PREFIX)], OTHER, None, "no_policy_admits"),
    (
        "a second admitting policy whose filter matches",
        [policy("a", filters=TYPE_PREFIX), policy("b", filters=[{"suffix": {"type": ".deleted"}}])],
        SENDER,
        [DELETED],
        None,
    ),
    (
        "a not-ready policy admits nobody and keeps the default mode away",
        [policy(filters=[{"cesql": "true"}])],
        SAME_NS,
        [CREATED],
        "no_policy_admits",
    ),
]


@pytest.mark.parametrize(
    ("objs", "sub", "events", "denied"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_policies_decide(
    objs: list[dict[str, Any]], sub: str, events: Sequence[Attributes] | None, denied: str | None
) -> None:
    decision = decide(sub, "team-a", [parse(o) for o in objs], events, "allow-all")
    if denied is None:
        assert isinstance(decision, Allowed), decision
    else:
        assert isinstance(decision, Denied), decision
        assert decision.reason == denied, decision


def test_a_filter_refusal_names_the_policy_the_event_and_the_attribute() -> None:
    decision = decide(SENDER, "team-a", [parse(policy("types", filters=TYPE_PREFIX))], [DELETED])
    assert isinstance(decision, Denied)
    assert decision.policy == "types"
    assert decision.attribute == "type"
    assert decision.message == (
        f"EventPolicy types admits {SENDER}, but its filters refuse event '2': prefix: attribute "
        "'type' is 'org.example.deleted', wanted 'com.example.'"
    )


def test_a_subject_refusal_names_the_applying_and_the_broken_policies() -> None:
    objs = [policy("ok"), policy("broken", filters=[{"cesql": "true"}])]
    decision = decide(OTHER, "team-a", [parse(o) for o in objs], [CREATED])
    assert isinstance(decision, Denied)
    assert decision.message.startswith(f"no EventPolicy admits subject {OTHER}; applying: ok; ")
    assert "not ready (admitting nobody): broken (spec.filters[0].cesql" in decision.message


def test_applying_selects_and_orders_by_name() -> None:
    objs = [policy("z"), policy("a", to=[to_ref("orders")]), policy("m", to=[to_ref("other")])]
    found = applying([parse(o) for o in objs], "team-a", "orders", {})
    assert [p.name for p in found] == ["a", "z"]
