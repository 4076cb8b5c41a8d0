"""Which resources we call and where they live: one identity per resource, one path builder.

The JobSink's own identity is ``kubeapi.jobsinks.JOBSINKS``, next to the JobSink calls, so that
a module calling only built-in resources does not import the JobSink API.

Every request path of ``kubeapi`` comes from :func:`path`, which quotes each segment, so a name
with a ``/`` or ``%`` in it (names come from JobSinks and events) cannot address another object.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote


@dataclass(frozen=True)
class ResourceType:
    """A REST resource: ``group`` is "" for the core group (``/api/v1``)."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool

    @property
    def api_version(self) -> str:
        """``apiVersion`` as objects of this type carry it."""
        return f"{self.group}/{self.version}" if self.group else self.version


JOBS = ResourceType("batch", "v1", "jobs", "Job", namespaced=True)
SECRETS = ResourceType("", "v1", "secrets", "Secret", namespaced=True)
LEASES = ResourceType("coordination.k8s.io", "v1", "leases", "Lease", namespaced=True)
EVENTS = ResourceType("events.k8s.io", "v1", "events", "Event", namespaced=True)
EVENT_POLICIES = ResourceType(
    "eventing.knative.dev", "v1alpha1", "eventpolicies", "EventPolicy", namespaced=True
)
"""Knative's EventPolicy: its CRD comes with Knative Eventing or ``jobsink manifests
--event-policy-crd``, so a cluster may lack it (listing answers 404)."""
MUTATING_WEBHOOK_CONFIGURATIONS = ResourceType(
    "admissionregistration.k8s.io",
    "v1",
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    namespaced=False,
)
VALIDATING_WEBHOOK_CONFIGURATIONS = ResourceType(
    "admissionregistration.k8s.io",
    "v1",
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    namespaced=False,
)


def path(
    resource: ResourceType,
    namespace: str | None = None,
    name: str | None = None,
    subresource: str | None = None,
) -> str:
    """The request path of a collection (no ``name``), an object, or an object's subresource.

    A namespaced resource without ``namespace`` is the collection across all namespaces; a
    namespace for a cluster-scoped resource, or a subresource without a name, is a caller's bug.
    """
    if namespace is not None and not resource.namespaced:
        raise ValueError(f"{resource.plural} are cluster-scoped: no namespace")
    if subresource is not None and name is None:
        raise ValueError(f"subresource {subresource!r} of {resource.plural} needs an object name")
    segments = ["api", resource.version] if not resource.group else ["apis", resource.group]
    if resource.group:
        segments.append(resource.version)
    if namespace is not None:
        segments += ["namespaces", namespace]
    segments.append(resource.plural)
    if name is not None:
        segments.append(name)
    if subresource is not None:
        segments.append(subresource)
    for segment in segments:
        if not segment or segment in (".", ".."):
            raise ValueError(f"empty or relative path segment {segment!r} for {resource.plural}")
    return "/" + "/".join(_escaped(segment) for segment in segments)


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]+")
"""What ``quote(safe="")`` leaves as it is, which every Kubernetes name is: such segments skip
quoting (nine quotes a request were a quarter of a loop call's time under cProfile)."""


def _escaped(segment: str) -> str:
    return segment if _UNRESERVED.fullmatch(segment) else quote(segment, safe="")
