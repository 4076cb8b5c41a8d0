"""Whether an authenticated subject may send these events to this JobSink: pure, no I/O.

The rules, after Knative's ``Verifier.verifyAuthZ``, with two deliberate differences:

1. No EventPolicy applies to the JobSink: the default authorization mode decides. ``allow-all``
   admits everyone; ``allow-same-namespace`` (Knative's default) admits the service accounts of
   the JobSink's namespace (``system:serviceaccount:<ns>:*``); ``deny-all`` admits nobody.
2. Policies apply: the request is allowed when one ready applying policy admits the subject and
   its filters match every event of the request. Knative stops at the first policy whose subjects
   match and refuses if its filters fail; here every admitting policy is tried, so two policies
   for one subject (one per event type, say) work as two rules should.
3. A policy that applies but is not ready admits nobody, and still counts as applying: the
   default mode does not take over because a policy is broken. (Knative's data plane only sees
   the ready ones, so a broken policy silently widens access to the default mode.)

A batch is all or nothing: every event must pass, or the whole request is refused and nothing is
created, so a sender never has to work out which half of a batch landed. A GET on an event's
Location has no event to filter: the subject alone decides (``events`` None).

Authentication off means there is no subject, and then Knative does not authorize at all: the
caller lets everything through before coming here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from receiver.auth.policy import SERVICE_ACCOUNT_PREFIX, EventPolicy
from receiver.auth.policy_filters import Attributes, Mismatch, matches_all

AuthorizationMode = Literal["allow-all", "allow-same-namespace", "deny-all"]
DEFAULT_MODE: Final[AuthorizationMode] = "allow-same-namespace"


@dataclass(frozen=True)
class Allowed:
    because: str


@dataclass(frozen=True)
class Denied:
    """``reason`` is a stable word for programs and metrics; ``message`` is for people."""

    reason: Literal["default_mode", "no_policy_admits", "filter_mismatch"]
    message: str
    policy: str | None = None
    attribute: str | None = None
    """The event attribute a filter refused, when one did."""


Decision = Allowed | Denied


def applying(
    policies: Iterable[EventPolicy], namespace: str, name: str, labels: Mapping[str, Any]
) -> tuple[EventPolicy, ...]:
    """The policies that govern JobSink ``namespace/name`` (with ``labels``), by name."""
    found = [p for p in policies if p.applies_to(namespace, name, labels)]
    if len(found) > 1:  # the usual one policy (or none) needs no sorting
        found.sort(key=lambda p: p.name)
    return tuple(found)


def decide(
    sub: str,
    namespace: str,
    policies: Sequence[EventPolicy],
    events: Sequence[Attributes] | None,
    default_mode: AuthorizationMode = DEFAULT_MODE,
) -> Decision:
    """May ``sub`` send ``events`` to a JobSink of ``namespace`` governed by ``policies`` (the
    applying ones)? ``events`` None: a GET, decided by the subject alone."""
    if not policies:
        return _default(sub, namespace, default_mode)
    ready = [p for p in policies if p.ready]
    admitting = [p for p in ready if p.admits(sub)]
    if not admitting:
        return Denied("no_policy_admits", _nobody_admits(sub, policies, ready))
    if events is None:
        return Allowed(f"EventPolicy {admitting[0].name} admits {sub}")
    first_mismatch: Denied | None = None
    for policy in admitting:
        failing = _first_failing_event(policy, events)
        if failing is None:
            return Allowed(f"EventPolicy {policy.name} admits {sub} and its filters match")
        if first_mismatch is None:
            which, why = failing
            message = (
                f"EventPolicy {policy.name} admits {sub}, but its filters refuse {which}: "
                f"{why.text}"
            )
            first_mismatch = Denied("filter_mismatch", message, policy.name, why.attribute)
    assert first_mismatch is not None
    return first_mismatch


def _default(sub: str, namespace: str, mode: AuthorizationMode) -> Decision:
    if mode == "allow-all":
        return Allowed("no EventPolicy applies; the default authorization mode is allow-all")
    if mode == "allow-same-namespace":
        if sub.startswith(f"{SERVICE_ACCOUNT_PREFIX}{namespace}:"):
            return Allowed(
                "no EventPolicy applies; the default authorization mode allow-same-namespace "
                f"admits the service accounts of namespace {namespace}"
            )
        return Denied(
            "default_mode",
            f"no EventPolicy applies to this JobSink, and the default authorization mode "
            f"allow-same-namespace admits only service accounts of namespace {namespace} "
            f"({SERVICE_ACCOUNT_PREFIX}{namespace}:*), not {sub}",
        )
    return Denied(
        "default_mode",
        "no EventPolicy applies to this JobSink, and the default authorization mode is deny-all",
    )


def _nobody_admits(sub: str, policies: Sequence[EventPolicy], ready: Sequence[EventPolicy]) -> str:
    message = f"no EventPolicy admits subject {sub}"
    if ready:
        message += "; applying: " + ", ".join(p.name for p in ready)
    broken = [p for p in policies if not p.ready]
    if broken:
        message += "; not ready (admitting nobody): " + "; ".join(
            f"{p.name} ({p.not_ready_because})" for p in broken
        )
    return message


def _first_failing_event(
    policy: EventPolicy, events: Sequence[Attributes]
) -> tuple[str, Mismatch] | None:
    """(which event, why) for the first event the policy's filters refuse."""
    if not policy.filters:
        return None
    for index, attributes in enumerate(events):
        why = matches_all(policy.filters, attributes)
        if why is not None:
            which = f"event {attributes.get('id')!r}"
            if len(events) > 1:
                which = f"batch event {index} ({attributes.get('id')!r})"
            return which, why
    return None
