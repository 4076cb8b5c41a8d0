"""The JobSink status the receiver publishes: address, job selector, observedGeneration, conditions.

Pure functions of (JobSink, Addressing, now). The reconciler in ``receiver/status.py`` feeds them
what the watch saw and sends the result as a merge patch, so everything here is about *what* the
status should be, never about how it gets written.

The shape follows Knative's duck types (``duckv1.Status`` + ``duckv1.AddressStatus``) so that
sources, Triggers and Brokers resolve a ``ref`` to a JobSink as they resolve any other Addressable.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

from jobsink.delivery import dead_letter_sink
from jobsink.destinations import DEAD_LETTER_SINK_RESOLVED, STATUS_FIELDS, Resolution
from jobsink.names import selector
from jobsink.validation import DELIVERY_PATH, validate

ADDRESSABLE = "Addressable"
EVENT_POLICIES_READY = "EventPoliciesReady"
READY = "Ready"

TRUE = "True"
FALSE = "False"
UNKNOWN = "Unknown"

REASON_JOB_MISSING = "JobMissing"
REASON_INVALID_SPEC = "InvalidSpec"

MAX_LISTED_PROBLEMS = 3

TransportEncryption = Literal["disabled", "permissive", "strict"]

# The status keys this module owns. Anything else under .status (annotations written by someone
# else) is left alone by the patch; ``policies`` is owned when the caller knows the EventPolicies.
OWNED_KEYS = ("address", "addresses", "job", "observedGeneration", "conditions", *STATUS_FIELDS)
POLICIES_KEY = "policies"


@dataclass(frozen=True)
class EventPolicies:
    """What the EventPolicies applying to a JobSink make of its status (Knative's
    ``AppliedEventPoliciesStatus`` and ``EventPoliciesReady`` condition): ``applied`` are the
    names of the ready applying policies (``status.policies``), the rest is the condition."""

    status: str
    reason: str | None = None
    message: str | None = None
    applied: tuple[str, ...] = ()
    api_version: str = "eventing.knative.dev/v1alpha1"


@dataclass(frozen=True)
class Addressing:
    """Where the receiver can be reached, and which of its listeners a JobSink advertises.

    ``mode`` mirrors Knative's ``transport-encryption`` feature: ``disabled`` advertises HTTP only,
    ``permissive`` advertises HTTPS and HTTP (HTTP stays the primary address), ``strict`` HTTPS
    only.
    """

    http_base: str
    https_base: str
    mode: TransportEncryption = "disabled"
    ca_certs: str | None = None

    @classmethod
    def for_service(
        cls,
        *,
        namespace: str = "knative-eventing",
        service: str = "job-sink",
        cluster_domain: str = "cluster.local",
        mode: TransportEncryption = "disabled",
        ca_certs: str | None = None,
        http_base: str | None = None,
        https_base: str | None = None,
    ) -> Addressing:
        """Addressing for the in-cluster Service; explicit bases win over the Service DNS name."""
        host = f"{service}.{namespace}.svc.{cluster_domain}"
        return cls(
            http_base=(http_base or f"http://{host}").rstrip("/"),
            https_base=(https_base or f"https://{host}").rstrip("/"),
            mode=mode,
            ca_certs=ca_certs,
        )

    def addresses(self, namespace: str, name: str) -> list[dict[str, str]]:
        """The advertised addresses of one JobSink, primary first."""
        path = f"/{namespace}/{name}"
        http = {"name": "http", "url": self.http_base + path}
        https = {"name": "https", "url": self.https_base + path}
        if self.ca_certs:
            https["CACerts"] = self.ca_certs
        if self.mode == "strict":
            return [https]
        if self.mode == "permissive":
            # Knative lists https first in permissive mode but keeps http as .address so that
            # senders without the CA keep working.
            return [https, http]
        return [http]

    def primary(self, namespace: str, name: str) -> dict[str, str]:
        """The single ``.status.address``: HTTPS only in strict mode."""
        advertised = self.addresses(namespace, name)
        return advertised[0] if self.mode == "strict" else advertised[-1]


def timestamp(now: datetime) -> str:
    """A Kubernetes ``Time``: RFC 3339, UTC, whole seconds."""
    return now.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def condition(
    kind: str,
    status: str,
    now: datetime,
    previous: Mapping[str, Any] | None,
    reason: str | None = None,
    message: str | None = None,
) -> dict[str, Any]:
    """One condition; its ``lastTransitionTime`` moves only when ``status`` itself changes."""
    unchanged = previous is not None and previous.get("status") == status
    since = previous.get("lastTransitionTime") if previous is not None and unchanged else None
    result: dict[str, Any] = {
        "type": kind,
        "status": status,
        "lastTransitionTime": since or timestamp(now),
    }
    if reason:
        result["reason"] = reason
    if message:
        result["message"] = message
    return result


def _conditions_by_type(status: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = status.get("conditions")
    if not isinstance(found, list):
        return {}
    return {c["type"]: c for c in found if isinstance(c, Mapping) and "type" in c}


def spec_problems(sink: Mapping[str, Any]) -> list[str]:
    """Why the Jobs of ``sink`` would be refused, as ``path: message`` lines: the admission
    webhook's own checks, for JobSinks stored while it was bypassed, down, or older than a rule."""
    without_status = {key: value for key, value in sink.items() if key != "status"}
    # spec.delivery only decides where the events of failed Jobs go: its problems show in the
    # DeadLetterSinkResolved condition and never keep a JobSink from taking events.
    return [
        str(problem)
        for problem in validate(without_status)
        if not problem.path.startswith(DELIVERY_PATH)
    ]


def desired_status(
    sink: Mapping[str, Any],
    addressing: Addressing,
    now: datetime,
    problems: Sequence[str] = (),
    dead_letter: Resolution | None = None,
    policies: EventPolicies | None = None,
) -> dict[str, Any]:
    """The owned part of ``.status`` for ``sink`` (a JobSink as the apiserver returns it), given
    the ``problems`` of its spec (``spec_problems``), when it has a dead-letter sink, how that
    resolved (``jobsink.destinations``; None counts as not resolved yet), and, when known, what
    its EventPolicies make of it (Ready depends on ``EventPoliciesReady``, as in Knative)."""
    metadata = sink.get("metadata") or {}
    namespace, name = metadata["namespace"], metadata["name"]
    current = sink.get("status") or {}
    previous = _conditions_by_type(current)
    has_job = isinstance((sink.get("spec") or {}).get("job"), Mapping)

    addressable = condition(ADDRESSABLE, TRUE, now, previous.get(ADDRESSABLE))
    owned = [addressable]
    if policies is not None:
        owned.append(
            condition(
                EVENT_POLICIES_READY,
                policies.status,
                now,
                previous.get(EVENT_POLICIES_READY),
                reason=policies.reason,
                message=policies.message,
            )
        )
    if not has_job:
        # The webhook rejects this; it can only get here when the webhook was bypassed or is down.
        ready = condition(
            READY,
            FALSE,
            now,
            previous.get(READY),
            reason=REASON_JOB_MISSING,
            message="spec.job is required: there is no Job template to run for an event",
        )
    elif problems:
        ready = condition(
            READY,
            FALSE,
            now,
            previous.get(READY),
            reason=REASON_INVALID_SPEC,
            message=_listing(problems),
        )
    elif policies is not None and policies.status != TRUE:
        ready = condition(
            READY,
            policies.status,
            now,
            previous.get(READY),
            reason=policies.reason,
            message=policies.message,
        )
    else:
        ready = condition(READY, TRUE, now, previous.get(READY))

    conditions = [*owned, ready]
    status: dict[str, Any] = {
        "observedGeneration": metadata.get("generation", 0),
        "address": addressing.primary(namespace, name),
        "addresses": addressing.addresses(namespace, name),
    }
    if dead_letter_sink(sink) is not None:
        # Ready is left alone: events keep becoming Jobs whatever the dead-letter sink does.
        resolution = dead_letter or Resolution.failed(UNKNOWN, "not resolved yet")
        previous_dls = previous.get(DEAD_LETTER_SINK_RESOLVED)
        if resolution.url is not None:
            conditions.append(condition(DEAD_LETTER_SINK_RESOLVED, TRUE, now, previous_dls))
            status.update(resolution.status_fields())
        else:
            conditions.append(
                condition(
                    DEAD_LETTER_SINK_RESOLVED,
                    UNKNOWN if resolution.reason == UNKNOWN else FALSE,
                    now,
                    previous_dls,
                    reason=resolution.reason if resolution.reason != UNKNOWN else None,
                    message=resolution.message,
                )
            )
    status["conditions"] = sorted(conditions, key=lambda c: str(c["type"]))
    if has_job:
        status["job"] = {"selector": selector(name)}
    if policies is not None and policies.applied:
        status[POLICIES_KEY] = [
            {"apiVersion": policies.api_version, "name": policy} for policy in policies.applied
        ]
    return status


def _listing(problems: Sequence[str]) -> str:
    shown = "; ".join(problems[:MAX_LISTED_PROBLEMS])
    more = len(problems) - MAX_LISTED_PROBLEMS
    return f"{shown} (and {more} more)" if more > 0 else shown


def merge_patch(current: Mapping[str, Any], desired: Mapping[str, Any]) -> dict[str, Any]:
    """The RFC 7386 merge patch that turns ``current`` into ``desired``; ``{}`` when they are equal.

    A key of ``current`` missing from ``desired`` is deleted (``null``); lists are replaced whole,
    as RFC 7386 requires.
    """
    patch: dict[str, Any] = {}
    for key, want in desired.items():
        have = current.get(key)
        if isinstance(want, Mapping) and isinstance(have, Mapping):
            nested = merge_patch(have, want)
            if nested:
                patch[key] = nested
        elif key not in current or want != have:
            patch[key] = want
    for key in current:
        if key not in desired:
            patch[key] = None
    return patch


def status_patch(
    sink: Mapping[str, Any],
    addressing: Addressing,
    now: datetime,
    problems: Sequence[str] = (),
    dead_letter: Resolution | None = None,
    policies: EventPolicies | None = None,
) -> dict[str, Any]:
    """The merge patch for ``.status`` of ``sink``; ``{}`` when its status is already right."""
    current = sink.get("status") or {}
    desired = desired_status(sink, addressing, now, problems, dead_letter, policies)
    # Only the owned keys take part, so the patch never deletes what another writer put in .status.
    owned_keys = (*OWNED_KEYS, POLICIES_KEY) if policies is not None else OWNED_KEYS
    owned_current = {k: current[k] for k in owned_keys if k in current}
    return merge_patch(owned_current, desired)
