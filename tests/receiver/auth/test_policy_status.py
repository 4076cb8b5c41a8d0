"""The EventPolicies part of a JobSink's status: Knative's reasons, and Ready depending on it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from jobsink.lifecycle import Addressing, EventPolicies, desired_status, status_patch
from receiver.auth.policy import parse
from receiver.auth.policy_cache import NoPolicies
from receiver.auth.policy_status import SinkPolicyStatus, event_policies_status
from tests.receiver.auth.policies import policy

NOW = datetime(2026, 1, 1, tzinfo=UTC)

CASES: list[
    tuple[
        str, list[dict[str, Any]], bool, bool, tuple[str, str | None, str | None, tuple[str, ...]]
    ]
] = [
    ("all ready", [policy("a"), policy("b")], True, True, ("True", None, None, ("a", "b"))),
    (
        "one not ready",
        [policy("a"), policy("b", filters=[{"cesql": "x"}])],
        True,
        True,
        ("False", "EventPoliciesNotReady", "event policies b are not ready", ("a",)),
    ),
    (
        "none, authentication on",
        [],
        True,
        True,
        ("True", "DefaultAuthorizationMode", "Default authz mode is 'deny-all'", ()),
    ),
    (
        "none, authentication off",
        [],
        False,
        True,
        ("True", "OIDCDisabled", "Feature 'authentication-oidc' must be enabled", ()),
    ),
    (
        "no CRD",
        [],
        True,
        False,
        (
            "True",
            "DefaultAuthorizationMode",
            "Default authz mode is 'deny-all'; the EventPolicy CRD",
            (),
        ),
    ),
]


@pytest.mark.parametrize(
    ("objs", "authn", "crd", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_condition_and_listed_policies(
    objs: list[dict[str, Any]],
    authn: bool,
    crd: bool,
    expected: tuple[str, str | None, str | None, tuple[str, ...]],
) -> None:
    found = event_policies_status(
        [parse(o) for o in objs], authentication=authn, default_mode="deny-all", crd_installed=crd
    )
    status, reason, message, applied = expected
    assert (found.status, found.reason, found.applied) == (status, reason, applied)
    assert (found.message or "").startswith(message or "")


def sink() -> dict[str, Any]:
    return {
        "metadata": {"namespace": "team-a", "name": "orders", "generation": 1},
        "spec": {"job": {"spec": {}}},
    }


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


def test_ready_follows_event_policies_ready() -> None:
    broken = EventPolicies("False", "EventPoliciesNotReady", "event policies b are not ready")
    status = desired_status(sink(), Addressing.for_service(), NOW, policies=broken)
    by_type = conditions(status)
    assert list(by_type) == ["Addressable", "EventPoliciesReady", "Ready"]
    assert by_type["Ready"]["status"] == "False"
    assert by_type["Ready"]["reason"] == "EventPoliciesNotReady"
    assert "policies" not in status


def test_status_lists_the_ready_applying_policies() -> None:
    fine = EventPolicies("True", applied=("a", "b"))
    status = desired_status(sink(), Addressing.for_service(), NOW, policies=fine)
    assert status["policies"] == [
        {"apiVersion": "eventing.knative.dev/v1alpha1", "name": "a"},
        {"apiVersion": "eventing.knative.dev/v1alpha1", "name": "b"},
    ]
    assert conditions(status)["Ready"]["status"] == "True"


def test_policies_that_stop_applying_are_removed_from_status() -> None:
    obj = sink() | {
        "status": {"policies": [{"apiVersion": "eventing.knative.dev/v1alpha1", "name": "a"}]}
    }
    patch = status_patch(
        obj, Addressing.for_service(), NOW, policies=EventPolicies("True", "OIDCDisabled", "m")
    )
    assert patch["policies"] is None


def test_without_policy_knowledge_the_patch_leaves_policies_alone() -> None:
    obj = sink() | {"status": {"policies": [{"apiVersion": "x", "name": "a"}]}}
    assert "policies" not in status_patch(obj, Addressing.for_service(), NOW)


def test_policies_switched_off_still_say_the_default_mode() -> None:
    view = SinkPolicyStatus(NoPolicies(), authentication=True, default_mode="allow-all")
    found = view.of(sink())
    assert found is not None
    assert found.reason == "DefaultAuthorizationMode"
