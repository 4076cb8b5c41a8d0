"""The OIDC audience of a JobSink: what its token must carry, and what its status publishes."""

from __future__ import annotations

AUDIENCE_PREFIX = "sinks.knative.dev/jobsink"


def audience_of(namespace: str, name: str) -> str:
    """``sinks.knative.dev/jobsink/<namespace>/<name>``, lowercased: Knative's format (group,
    lowercased kind, namespace, name), so a token minted for a Knative JobSink's audience fits."""
    return f"{AUDIENCE_PREFIX}/{namespace}/{name}".lower()
