"""An EventPolicy as parsed from the watch: which JobSinks it governs, whom it admits, whether it
is ready."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from receiver.auth.policy import parse
from tests.receiver.auth.policies import OTHER, SENDER, knative_status, policy, to_ref, to_selector

SINK = ("team-a", "orders", {"app": "shop", "tier": "batch"})

APPLIES: list[tuple[str, dict[str, Any], bool]] = [
    ("no to: every JobSink of the namespace", policy(), True),
    ("another namespace", policy(namespace="team-b"), False),
    ("ref by name", policy(to=[to_ref("orders")]), True),
    ("ref compares names case-insensitively", policy(to=[to_ref("Orders")]), True),
    ("ref to another JobSink", policy(to=[to_ref("payments")]), False),
    ("ref ignores the version", policy(to=[to_ref("orders", "sinks.knative.dev/v1")]), True),
    ("ref of another group", policy(to=[to_ref("orders", "eventing.knative.dev/v1")]), False),
    ("ref of another kind", policy(to=[to_ref("orders", kind="Broker")]), False),
    ("one of several targets", policy(to=[to_ref("x"), to_ref("orders")]), True),
    ("selector matching", policy(to=[to_selector({"app": "shop"})]), True),
    ("selector not matching", policy(to=[to_selector({"app": "bank"})]), False),
    ("selector of another kind", policy(to=[to_selector({"app": "shop"}, kind="Broker")]), False),
    (
        "selector expression",
        policy(
            to=[
                {
                    "selector": {
                        "apiVersion": "sinks.knative.dev/v1alpha1",
                        "kind": "JobSink",
                        "matchExpressions": [
                            {"key": "tier", "operator": "In", "values": ["batch", "web"]}
                        ],
                    }
                }
            ]
        ),
        True,
    ),
]


@pytest.mark.parametrize(
    ("obj", "applies"), [(o, a) for _, o, a in APPLIES], ids=[c[0] for c in APPLIES]
)
def test_which_jobsinks_a_policy_governs(obj: dict[str, Any], applies: bool) -> None:
    assert parse(obj).applies_to(*SINK) is applies


ADMITS: list[tuple[str, tuple[str, ...], str, bool]] = [
    ("exact", (SENDER,), SENDER, True),
    ("exact, another subject", (SENDER,), OTHER, False),
    ("exact is case-insensitive, as in Knative", (SENDER.upper(),), SENDER, True),
    ("prefix with *", ("system:serviceaccount:team-a:*",), SENDER, True),
    ("prefix of another namespace", ("system:serviceaccount:team-a:*",), OTHER, False),
    ("* alone admits everyone", ("*",), OTHER, True),
    ("one of several", (OTHER, SENDER), SENDER, True),
]


@pytest.mark.parametrize(
    ("subs", "sub", "admitted"), [c[1:] for c in ADMITS], ids=[c[0] for c in ADMITS]
)
def test_which_subjects_a_policy_admits(subs: tuple[str, ...], sub: str, admitted: bool) -> None:
    assert parse(policy(subs=subs)).admits(sub) is admitted


SOURCE_REF = {"apiVersion": "sources.knative.dev/v1", "kind": "PingSource", "name": "tick"}

READINESS: list[tuple[str, dict[str, Any], str | None]] = [
    ("sub entries need no resolving", policy(), None),
    (
        "a ref needs Knative's controller",
        policy(refs=(SOURCE_REF,)),
        "spec.from ref PingSource team-a/tick",
    ),
    (
        "a ref resolved by Knative",
        policy(
            refs=(SOURCE_REF,), status=knative_status(True, ["system:serviceaccount:team-a:tick"])
        ),
        None,
    ),
    ("Knative says not ready", policy(status=knative_status(False, [])), "source not found"),
    (
        "a status of an older generation is not trusted",
        policy(refs=(SOURCE_REF,), generation=2, status=knative_status(True, ["x"], generation=1)),
        "is not resolved",
    ),
    ("a bad filter", policy(filters=[{"cesql": "true"}]), "CloudEvents SQL"),
    (
        "a bad selector",
        policy(to=[{"selector": {"matchExpressions": [{"key": "a", "operator": "Near"}]}}]),
        "'Near'",
    ),
    (
        "a from entry with neither",
        policy(subs=("",)),
        "spec.from[0]: needs a non-empty sub or a ref",
    ),
    ("a to entry with neither", policy(to=[{}]), "spec.to[0]: needs a ref or a selector"),
    ("* inside a sub", policy(subs=("system:*:team-a:x",)), "'*' is only allowed as the last"),
]


@pytest.mark.parametrize(("obj", "why"), [c[1:] for c in READINESS], ids=[c[0] for c in READINESS])
def test_readiness(obj: dict[str, Any], why: str | None) -> None:
    parsed = parse(obj)
    if why is None:
        assert parsed.ready, parsed.not_ready_because
    else:
        assert not parsed.ready
        assert why in str(parsed.not_ready_because)


def test_subjects_resolved_by_knative_replace_the_written_ones() -> None:
    resolved = "system:serviceaccount:team-a:tick"
    parsed = parse(policy(refs=(SOURCE_REF,), status=knative_status(True, [SENDER, resolved])))
    assert parsed.subjects == (SENDER, resolved)
    assert parsed.admits(resolved)


def test_a_policy_that_cannot_be_parsed_admits_nobody() -> None:
    parsed = parse(policy(filters=[{"exact": {"type": ""}}]))
    assert parsed.problem is not None
    assert not parsed.ready


def test_answers_worked_out_once_belong_to_one_policy_value() -> None:
    """Readiness, targets and subject patterns are derived on first use and kept on the value;
    a changed copy (``dataclasses.replace``, as parsing builds policies) derives its own."""
    first = parse(policy(subs=(SENDER,), to=[to_ref("orders")]))
    assert first.admits(SENDER)
    assert not first.admits(OTHER)
    assert first.applies_to(*SINK)
    assert first.ready
    changed = replace(first, subs=(OTHER,), to=(), problem="broken on purpose")
    assert changed.admits(OTHER)
    assert not changed.admits(SENDER)
    assert changed.applies_to("team-a", "payments", {})
    assert changed.not_ready_because == "broken on purpose"
    assert first.admits(SENDER)
    assert first.ready
    assert not first.applies_to("team-a", "payments", {})
