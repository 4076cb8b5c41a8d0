"""EventPolicy objects as the apiserver returns them, for the authorization tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from receiver.auth.policy import EventPolicy
from receiver.auth.policy_cache import NamespaceListener, State

SENDER = "system:serviceaccount:team-a:sender"
OTHER = "system:serviceaccount:team-b:intruder"


def policy(
    name: str = "allow-sender",
    namespace: str = "team-a",
    *,
    to: list[dict[str, Any]] | None = None,
    subs: tuple[str, ...] = (SENDER,),
    refs: tuple[dict[str, Any], ...] = (),
    filters: list[dict[str, Any]] | None = None,
    generation: int = 1,
    status: dict[str, Any] | None = None,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"from": [{"sub": s} for s in subs] + [{"ref": r} for r in refs]}
    if to is not None:
        spec["to"] = to
    if filters is not None:
        spec["filters"] = filters
    obj: dict[str, Any] = {
        "apiVersion": "eventing.knative.dev/v1alpha1",
        "kind": "EventPolicy",
        "metadata": {"name": name, "namespace": namespace, "generation": generation},
        "spec": spec,
    }
    if status is not None:
        obj["status"] = status
    return obj


def to_ref(
    name: str, api_version: str = "sinks.knative.dev/v1alpha1", kind: str = "JobSink"
) -> dict[str, Any]:
    return {"ref": {"apiVersion": api_version, "kind": kind, "name": name}}


def to_selector(labels: dict[str, str], kind: str = "JobSink") -> dict[str, Any]:
    return {
        "selector": {
            "apiVersion": "sinks.knative.dev/v1alpha1",
            "kind": kind,
            "matchLabels": labels,
        }
    }


def knative_status(ready: bool, subjects: list[str], generation: int = 1) -> dict[str, Any]:
    """The status Knative's EventPolicy controller writes."""
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    if not ready:
        condition |= {"reason": "SubjectsNotResolved", "message": "source not found"}
    return {"observedGeneration": generation, "conditions": [condition], "from": subjects}


@dataclass
class StaticPolicies:
    """A fixed policy set, standing in for the watch-backed cache (tested on its own)."""

    policies: tuple[EventPolicy, ...] = ()
    state: State = "ready"
    last_error: str = ""
    listeners: list[NamespaceListener] = field(default_factory=list)

    def in_namespace(self, namespace: str) -> tuple[EventPolicy, ...]:
        return tuple(p for p in self.policies if p.namespace == namespace)

    def subscribe(self, listener: NamespaceListener) -> None:
        self.listeners.append(listener)
