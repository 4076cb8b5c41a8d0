"""The authorization step: between decoding the events and delivering them (a GET: after the
JobSink is known), before anything is written.

``EventPolicyAuthorizer`` applies Knative's EventPolicies (``receiver.auth.policy_decision`` says
how); a refusal is a ``Rejection`` 403 whose message says why, answered like any other. Without
a subject (authentication off) nobody is refused, as in Knative.
"""

from __future__ import annotations

from typing import Any, Protocol

from receiver.auth.policy_cache import PolicyView
from receiver.auth.policy_decision import DEFAULT_MODE, AuthorizationMode, Denied, applying, decide
from receiver.auth.policy_filters import Attributes
from receiver.auth.subject import Subject
from receiver.dataplane.refusals import Rejection
from receiver.dataplane.wire import Batch, Decoded, Single


class Authorizer(Protocol):
    async def authorize(
        self, subject: Subject | None, sink: dict[str, Any], decoded: Decoded | None
    ) -> None:
        """Return to let the request through; raise ``Rejection`` to refuse it. ``decoded`` is
        None for a GET on an event's Location: there is no event, the subject alone decides."""


class EveryoneAllowed:
    """Every sender may deliver to every JobSink."""

    async def authorize(
        self, subject: Subject | None, sink: dict[str, Any], decoded: Decoded | None
    ) -> None:
        return None


class EventPolicyAuthorizer:
    """Knative's EventPolicies, read from the watch-backed cache: no API call per request."""

    def __init__(
        self,
        policies: PolicyView,
        default_mode: AuthorizationMode = DEFAULT_MODE,
        *,
        retry_after: int = 1,
    ) -> None:
        self.policies = policies
        self.default_mode = default_mode
        self.retry_after = retry_after

    async def authorize(
        self, subject: Subject | None, sink: dict[str, Any], decoded: Decoded | None
    ) -> None:
        if subject is None:
            return
        if self.policies.state == "loading":
            raise Rejection(
                503,
                "EventPolicies are not loaded yet; retry shortly",
                headers=(("Retry-After", str(self.retry_after)),),
                reason="policies_not_loaded",
            )
        metadata = sink.get("metadata") or {}
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        governing = applying(
            self.policies.in_namespace(namespace), namespace, name, metadata.get("labels") or {}
        )
        decision = decide(subject.sub, namespace, governing, _events(decoded), self.default_mode)
        if isinstance(decision, Denied):
            raise Rejection(
                403, f"forbidden: {decision.message}", decision.attribute, reason=decision.reason
            )


def _events(decoded: Decoded | None) -> list[Attributes] | None:
    match decoded:
        case None:
            return None
        case Single(event):
            return [event.attributes]
        case Batch(items):
            # An element that failed to decode is refused on its own; it has nothing to filter.
            return [item.attributes for item in items if not isinstance(item, Rejection)]
