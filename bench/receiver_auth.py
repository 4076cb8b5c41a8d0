"""The authentication and authorization phase of ``make bench-receiver``: the same events through
a plain receiver (``authentication-oidc`` off, so no EventPolicy is consulted) and a secured one
(on, with one EventPolicy applying to the benchmark's JobSink), in alternating rounds; then the
CPU one token verification and one authorization decision cost.

The policy names the JobSink by reference, admits the sender's service account by ``sub`` and
carries a ``prefix`` filter on ``type`` that every benchmark event matches, so each event goes
through the policy lookup, the subject match and the filter; a probe event of another type must
be refused (403), which proves the policy is the one deciding. Senders reuse their token (a
projected service-account token lives an hour), so after the first event the receiver answers
from its verified tokens: the phase checks that unique and duplicate events/s stay at or above
0.9x of the plain receiver's.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench import receiver_load as loadgen
from bench.cluster import kubectl
from jobsink.event import CloudEvent
from kubeapi.config import load_api_client
from kubeapi.tokens import request_token
from receiver.auth.audience import audience_of
from receiver.auth.discovery import ApiserverDiscovery
from receiver.auth.keys import KeySet
from receiver.auth.policy import EventPolicy, parse
from receiver.auth.policy_cache import NamespaceListener, State
from receiver.auth.subject import Subject
from receiver.auth.tokens import TokenVerifier
from receiver.dataplane.authorize import EventPolicyAuthorizer
from receiver.dataplane.wire import Single

RATIO_FLOOR = 0.9
AUTH_ENV = {"JOBSINK_RECEIVER_AUTHENTICATION_OIDC": "enabled"}

EVENT_POLICY_CRD = Path(__file__).resolve().parents[1] / "crds" / "knative" / "eventpolicy.yaml"
SENDER_ACCOUNT = "default"
EVENT_TYPE_PREFIX = "bench."
"""Every benchmark event's type starts so; the probe's does not."""
PROBE_TYPE = "probe.refused"


@dataclass(frozen=True)
class Receiver:
    port: int
    cpu: Callable[[], float]
    """CPU seconds the receiver's process has used so far."""


def publish_audience(kubeconfig: str, namespace: str, sink: str) -> str:
    """Write the audience into the JobSink's status as the status reconciler would: the bench's
    receivers run without it (``--no-status``), so no writer is racing the measurement."""
    audience = audience_of(namespace, sink)
    patch = {"status": {"address": {"name": "http", "url": "http://bench", "audience": audience}}}
    kubectl(kubeconfig, "patch", "jobsink", sink, "-n", namespace, "--subresource=status",
            "--type=merge", "-p", json.dumps(patch))  # fmt: skip
    return audience


def sender_subject(namespace: str) -> str:
    return f"system:serviceaccount:{namespace}:{SENDER_ACCOUNT}"


def bench_policy(namespace: str, sink: str) -> dict[str, Any]:
    """The one EventPolicy of the phase: this JobSink, this sender, events of the bench's types."""
    return {
        "apiVersion": "eventing.knative.dev/v1alpha1",
        "kind": "EventPolicy",
        "metadata": {"name": "bench-sender", "namespace": namespace},
        "spec": {
            "to": [{"ref": {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink",
                            "name": sink}}],
            "from": [{"sub": sender_subject(namespace)}],
            "filters": [{"prefix": {"type": EVENT_TYPE_PREFIX}}],
        },
    }  # fmt: skip


def install_event_policy(kubeconfig: str, namespace: str, sink: str) -> dict[str, Any]:
    """Our EventPolicy CRD (as ``jobsink manifests --event-policy-crd`` writes it), then the
    phase's policy; returns the policy."""
    kubectl(kubeconfig, "apply", "-f", str(EVENT_POLICY_CRD))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "--timeout=60s",
            "crd/eventpolicies.eventing.knative.dev")  # fmt: skip
    policy = bench_policy(namespace, sink)
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(policy))
    return policy


def sender_token(kubeconfig: str, namespace: str, audience: str) -> str:
    api = load_api_client(kubeconfig)
    try:
        return request_token(api, namespace, SENDER_ACCOUNT, audience, expiration_seconds=3600)
    finally:
        api.close()  # type: ignore[no-untyped-call]


def refused_probe(port: int, path: str, token: str) -> dict[str, Any]:
    """One event whose type the policy's filter refuses, sent to the secured receiver: its
    status and reason. Retried while the receiver has not listed the policies yet (503)."""
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json",
               "ce-specversion": "1.0", "ce-source": "bench/probe", "ce-type": PROBE_TYPE,
               "ce-id": "probe"}  # fmt: skip
    for _ in range(100):
        answer = httpx.post(f"http://127.0.0.1:{port}{path}", headers=headers, content=b"{}")
        if answer.status_code != 503:
            break
        time.sleep(0.1)
    reason = answer.json().get("reason") if answer.content else None
    return {"probe_status": answer.status_code, "probe_reason": reason}


def verification_cpu(
    kubeconfig: str, token: str, audience: str, count: int = 2000
) -> dict[str, float]:
    """CPU per token verification in this process, against the apiserver's real keys: a full one
    (signature and claims; nothing remembered) and a remembered one (the receiver's usual case)."""
    api = load_api_client(kubeconfig)

    async def measure(remembered: int) -> float:
        verifier = TokenVerifier(KeySet(ApiserverDiscovery(api)), cache_entries=remembered)
        await verifier.verify(token, audience)  # fetches the keys, outside the measurement
        started = time.process_time()
        for _ in range(count):
            await verifier.verify(token, audience)
        return (time.process_time() - started) * 1e6 / count

    try:
        return {
            "cpu_us_per_verification": round(asyncio.run(measure(0)), 1),
            "cpu_us_per_remembered_token": round(asyncio.run(measure(10)), 2),
        }
    finally:
        api.close()  # type: ignore[no-untyped-call]


class _OnePolicy:
    """A policy view holding the phase's policy, as the receiver's watch-backed cache would."""

    state: State = "ready"
    last_error = ""

    def __init__(self, policy: EventPolicy) -> None:
        self._policies = (policy,)

    def in_namespace(self, namespace: str) -> tuple[EventPolicy, ...]:
        return self._policies if namespace == self._policies[0].namespace else ()

    def subscribe(self, listener: NamespaceListener) -> None:
        return None


def authorization_cpu(
    policy: dict[str, Any], sink: dict[str, Any], count: int = 20_000
) -> dict[str, float]:
    """CPU per authorization decision in this process: the receiver's authorizer over ``policy``
    for one event its filter admits (lookup of the applying policies, subject, filter)."""
    namespace = str(policy["metadata"]["namespace"])
    authorizer = EventPolicyAuthorizer(_OnePolicy(parse(policy)))
    subject = Subject(sender_subject(namespace), issuer="bench", audiences=("bench",))
    event = Single(
        CloudEvent.from_attributes(
            {"specversion": "1.0", "id": "1", "source": "bench", "type": EVENT_TYPE_PREFIX + "x"}
        )
    )

    async def measure() -> float:
        started = time.process_time()
        for _ in range(count):
            await authorizer.authorize(subject, sink, event)
        return (time.process_time() - started) * 1e6 / count

    return {"cpu_us_per_authorization": round(asyncio.run(measure()), 2)}


def _measure(
    receiver: Receiver, request: loadgen.Request, count: int, concurrency: int
) -> tuple[loadgen.Result, float]:
    before = receiver.cpu()
    result = asyncio.run(loadgen.run("127.0.0.1", receiver.port, request, count, concurrency, True))
    return result, receiver.cpu() - before


def phase(
    plain: Receiver,
    secured: Receiver,
    request: Callable[[str, int, dict[str, str]], loadgen.Request],
    token: str,
    *,
    events: int,
    rounds: int,
    concurrency: int,
    run: str,
    duplicate_passes: int = 5,
) -> dict[str, Any]:
    """Unique events, then the same events again ``duplicate_passes`` times, through ``plain``
    and ``secured`` in turn; ``request(run_id, offset, extra_headers)`` builds the events.

    Duplicates are answered from the Job index in well under a second per round, so one pass
    would compare a few short bursts on a shared machine; several passes even out its drift.
    Duplicates also go to ``plain`` with the token it ignores (``plain_token``): what carrying a
    token costs the HTTP layer, apart from verifying it.
    """
    chunk = events // rounds
    bearer = {"authorization": f"Bearer {token}"}
    # side: (receiver, headers, the run whose events it is sent)
    sides = {"plain": (plain, {}, "plain"), "auth": (secured, bearer, "auth"),
             "plain_token": (plain, bearer, "plain")}  # fmt: skip
    totals = {f"{side}_{kind}": loadgen.Result() for side in sides for kind in ("unique", "dup")}
    cpu = dict.fromkeys(totals, 0.0)
    turn = 0
    for kind, passes in (("unique", 1), ("dup", duplicate_passes)):
        for number in [n for _ in range(passes) for n in range(rounds)]:
            # Alternating, and in the other order every other turn, so both sides get the same
            # share of the shared machine's drift and of the cluster's work after a burst.
            order = [item for item in sides.items() if kind == "dup" or item[0] != "plain_token"]
            turn += 1
            for side, (receiver, headers, events_of) in order if turn % 2 else reversed(order):
                part, seconds = _measure(
                    receiver,
                    request(f"{run}-{events_of}", number * chunk, headers),
                    chunk,
                    concurrency,
                )
                totals[f"{side}_{kind}"].merge(part)
                cpu[f"{side}_{kind}"] += seconds
    sent = chunk * rounds
    duplicates = sent * duplicate_passes
    unique = totals["auth_unique"].rate / totals["plain_unique"].rate
    duplicate = totals["auth_dup"].rate / totals["plain_dup"].rate
    return {
        "auth_events": sent,
        "auth_duplicates": duplicates,
        "plain_R_events_per_s": round(totals["plain_unique"].rate, 1),
        "auth_R_events_per_s": round(totals["auth_unique"].rate, 1),
        "plain_D_events_per_s": round(totals["plain_dup"].rate, 1),
        "auth_D_events_per_s": round(totals["auth_dup"].rate, 1),
        "auth_R_ratio": round(unique, 2),
        "auth_D_ratio": round(duplicate, 2),
        "auth_ratios_at_least_0_9": unique >= RATIO_FLOOR and duplicate >= RATIO_FLOOR,
        "plain_cpu_ms_per_duplicate": round(cpu["plain_dup"] * 1000 / duplicates, 3),
        "auth_cpu_ms_per_duplicate": round(cpu["auth_dup"] * 1000 / duplicates, 3),
        "plain_token_D_events_per_s": round(totals["plain_token_dup"].rate, 1),
        "plain_token_cpu_ms_per_duplicate": round(cpu["plain_token_dup"] * 1000 / duplicates, 3),
        "auth_D_ratio_to_plain_token": round(
            totals["auth_dup"].rate / totals["plain_token_dup"].rate, 2
        ),
        "plain_cpu_ms_per_unique_event": round(cpu["plain_unique"] * 1000 / sent, 3),
        "auth_cpu_ms_per_unique_event": round(cpu["auth_unique"] * 1000 / sent, 3),
        "auth_statuses": {kind: totals[f"auth_{kind}"].statuses for kind in ("unique", "dup")},
    }
