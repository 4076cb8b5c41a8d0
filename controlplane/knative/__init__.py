"""Knative Eventing (``knative.dev/eventing``) on the local node: its components as Pods.

Built from its Go module by ``tools/build-knative.sh``; started by ``start_knative(plane)`` on a
started control plane whose node routes Services (``python -m controlplane --knative``).
Needs Linux and root, as the node does.
"""

from controlplane.knative.binaries import (
    KNATIVE_VERSION,
    KnativeFiles,
    ensure_knative,
    find_knative,
)
from controlplane.knative.eventing import (
    RunningKnative,
    StartupTimes,
    knative_unavailable_reason,
    start_knative,
)
from controlplane.knative.manifests import KNATIVE_NAMESPACE

__all__ = [
    "KNATIVE_NAMESPACE",
    "KNATIVE_VERSION",
    "KnativeFiles",
    "RunningKnative",
    "StartupTimes",
    "ensure_knative",
    "find_knative",
    "knative_unavailable_reason",
    "start_knative",
]
