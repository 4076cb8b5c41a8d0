"""Knative Eventing (``knative.dev/eventing``) on the local node: its components as Pods.

Built from its Go module by ``tools/build-knative.sh``; started by ``start_knative(plane)`` on a
started control plane whose node routes Services (``python -m controlplane --knative``).
Needs Linux and root, as the node does. ``install_jobsink_python(plane, knative, say)`` then
puts our receiver in place of Knative's ``job-sink`` data plane
(``python -m controlplane --knative --with-jobsink``).
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
from controlplane.knative.jobsink_python import (
    JobSinkPython,
    install_jobsink_python,
    restore_knatives_job_sink,
)
from controlplane.knative.manifests import KNATIVE_NAMESPACE

__all__ = [
    "KNATIVE_NAMESPACE",
    "KNATIVE_VERSION",
    "JobSinkPython",
    "KnativeFiles",
    "RunningKnative",
    "StartupTimes",
    "ensure_knative",
    "find_knative",
    "install_jobsink_python",
    "knative_unavailable_reason",
    "restore_knatives_job_sink",
    "start_knative",
]
