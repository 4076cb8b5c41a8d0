"""What a JobSink's status says about its EventPolicies: ``status.policies`` and the
``EventPoliciesReady`` condition, with the reasons of Knative's
``UpdateStatusWithProvidedEventPolicies``.

- Policies apply, all ready: True, no reason; ``status.policies`` lists them.
- Some are not ready: False, ``EventPoliciesNotReady``, naming them and why; ``status.policies``
  lists the ready ones only, as Knative's does.
- None applies, authentication on: True, ``DefaultAuthorizationMode``, naming the mode.
- None applies, authentication off: True, ``OIDCDisabled``: authorization needs authentication.
- The policies cannot be listed (RBAC, apiserver): False, ``EventPoliciesGetFailed``.

When the EventPolicy CRD is not installed the message says so, since then no policy can apply
whatever the user writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

from jobsink.lifecycle import FALSE, TRUE, EventPolicies
from receiver.auth.policy import API_VERSION, EventPolicy
from receiver.auth.policy_cache import PolicyView
from receiver.auth.policy_decision import AuthorizationMode, applying

REASON_NOT_READY: Final = "EventPoliciesNotReady"
REASON_DEFAULT_MODE: Final = "DefaultAuthorizationMode"
REASON_OIDC_DISABLED: Final = "OIDCDisabled"
REASON_GET_FAILED: Final = "EventPoliciesGetFailed"
AUTHENTICATION_FEATURE: Final = "authentication-oidc"
CRD_ABSENT: Final = (
    "the EventPolicy CRD (eventpolicies.eventing.knative.dev) is not installed, so the default "
    "authorization mode decides for every JobSink; `jobsink manifests --event-policy-crd` adds it"
)


def event_policies_status(
    applying: Sequence[EventPolicy],
    *,
    authentication: bool,
    default_mode: AuthorizationMode,
    crd_installed: bool = True,
) -> EventPolicies:
    if applying:
        ready = tuple(p.name for p in applying if p.ready)
        broken = [p for p in applying if not p.ready]
        if not broken:
            return EventPolicies(TRUE, applied=ready, api_version=API_VERSION)
        names = ", ".join(p.name for p in broken)
        reasons = "; ".join(f"{p.name}: {p.not_ready_because}" for p in broken)
        return EventPolicies(
            FALSE,
            REASON_NOT_READY,
            f"event policies {names} are not ready ({reasons})",
            applied=ready,
            api_version=API_VERSION,
        )
    if authentication:
        message = f"Default authz mode is {default_mode!r}"
        reason = REASON_DEFAULT_MODE
    else:
        message = f"Feature {AUTHENTICATION_FEATURE!r} must be enabled to support Authorization"
        reason = REASON_OIDC_DISABLED
    if not crd_installed:
        message += f"; {CRD_ABSENT}"
    return EventPolicies(TRUE, reason, message, api_version=API_VERSION)


class SinkPolicyStatus:
    """The EventPolicies part of each JobSink's status, from the watched policies."""

    def __init__(
        self, policies: PolicyView, *, authentication: bool, default_mode: AuthorizationMode
    ) -> None:
        """``authentication``: the data plane authenticates senders (so policies are enforced)."""
        self.policies = policies
        self.authentication = authentication
        self.default_mode = default_mode

    def of(self, sink: Mapping[str, Any]) -> EventPolicies | None:
        """The status for ``sink``; None while the policies are still loading (ask again)."""
        state = self.policies.state
        if state == "loading":
            if not self.policies.last_error:
                return None
            return EventPolicies(
                FALSE,
                REASON_GET_FAILED,
                f"EventPolicies cannot be listed: {self.policies.last_error}",
                api_version=API_VERSION,
            )
        metadata = sink.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        labels = metadata.get("labels") or {}
        governing = applying(self.policies.in_namespace(namespace), namespace, name, labels)
        return event_policies_status(
            governing,
            authentication=self.authentication,
            default_mode=self.default_mode,
            crd_installed=state != "absent",
        )
