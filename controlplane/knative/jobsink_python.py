"""JobSink for Python in place of Knative Eventing's ``job-sink`` data plane, on the local node.

    knative = start_knative(plane, say)
    ours = install_jobsink_python(plane, knative, say)  # image built/published, bundle applied
    ...
    restore_knatives_job_sink(plane, knative, say)     # Knative's own Deployment back

The install is the README's, "With Knative Eventing": the project image (``make image``'s
build, cached) published on the node, ``jobsink manifests --knative-eventing --image ...`` piped
to ``kubectl apply`` (client-side, as a user runs it, over Knative's Deployment), then the
rollout waited for. Knative's CRD, webhook, controller and ``job-sink`` Service stay as they are.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from controlplane.errors import ControlPlaneError
from controlplane.image import ensure_project_image
from controlplane.knative.binaries import Progress
from controlplane.knative.eventing import Plane, RunningKnative
from controlplane.knative.manifests import KNATIVE_NAMESPACE, Document
from controlplane.readiness import wait_for

ROLLOUT_TIMEOUT = 240.0
DEPLOYMENT = "job-sink"
#: The objects ``jobsink manifests --knative-eventing`` adds besides the Deployment (kind/name).
OWN_CLUSTER_OBJECTS = (
    "clusterrole/jobsink-receiver-knative",
    "clusterrole/jobsink-receiver-knative-events",
    "clusterrolebinding/jobsink-receiver-knative",
    "clusterrolebinding/jobsink-receiver-knative-events",
)
OWN_NAMESPACED_OBJECTS = (
    "serviceaccount/jobsink-receiver-knative",
    "role/jobsink-receiver-knative",
    "rolebinding/jobsink-receiver-knative",
)
PART_OF = "app.kubernetes.io/part-of"
KNATIVE_SELECTOR = "sinks.knative.dev/sink=job-sink"


@dataclass(frozen=True)
class JobSinkPython:
    """Our receiver serving behind Knative's ``job-sink`` Service."""

    image: str
    #: Seconds: the image built (or found cached) and published on the node.
    image_seconds: float
    #: Seconds: from ``kubectl apply`` to the rollout complete and only our Pods selected.
    rollout_seconds: float


def manifests_argv(image: str) -> list[str]:
    """The README's command, "With Knative Eventing", without its ``--out``."""
    return ["jobsink", "manifests", "--knative-eventing", "--image", image]


def render_bundle(image: str, namespace: str = KNATIVE_NAMESPACE) -> str:
    """``jobsink manifests --knative-eventing --image IMAGE``, run as a user runs it."""
    argv = [str(Path(sys.executable).parent / "jobsink"), *manifests_argv(image)[1:]]
    if namespace != KNATIVE_NAMESPACE:
        argv += ["--namespace", namespace]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise ControlPlaneError(f"`{' '.join(argv)}` exited {result.returncode}: {result.stderr}")
    return result.stdout


def install_jobsink_python(plane: Plane, knative: RunningKnative, say: Progress) -> JobSinkPython:
    """Build (or reuse) the project image, publish it on the node, apply the Knative-mode bundle
    over Knative's ``job-sink`` Deployment and wait until only our Pods serve its Service."""
    node = plane.node
    if node is None:
        raise ControlPlaneError("JobSink for Python runs as Pods: the control plane has no node")
    began = time.monotonic()
    build = ensure_project_image(say, import_into=[])
    node.publish_image(build.archive, build.reference)
    image_seconds = time.monotonic() - began

    began = time.monotonic()
    say(f"replacing Knative's job-sink data plane with {build.reference}")
    plane.kubectl("apply", "-f", "-", input=render_bundle(build.reference, knative.namespace))
    _wait_rollout(plane, knative.namespace, only_ours=True)
    rollout_seconds = time.monotonic() - began
    say(f"JobSink for Python serves Knative's job-sink Service ({rollout_seconds:.1f}s)")
    return JobSinkPython(build.reference, image_seconds, rollout_seconds)


def knatives_deployment(knative: RunningKnative) -> Document:
    """Knative's ``job-sink`` Deployment as its config (with the local image) has it."""
    for document in knative.plan.deployments:
        if document["metadata"]["name"] == DEPLOYMENT:
            return document
    raise ControlPlaneError("Knative's config has no job-sink Deployment")


def restore_knatives_job_sink(plane: Plane, knative: RunningKnative, say: Progress) -> None:
    """Switch back: Knative's Deployment exactly as its config has it (``kubectl replace``, so
    nothing of ours stays merged into it), then our ServiceAccount and RBAC deleted."""
    say("restoring Knative's job-sink data plane")
    plane.kubectl("replace", "-f", "-", input=yaml.safe_dump(knatives_deployment(knative)))
    _wait_rollout(plane, knative.namespace, only_ours=False)
    plane.kubectl("delete", "--ignore-not-found", *OWN_CLUSTER_OBJECTS)
    plane.kubectl(
        "delete", "-n", knative.namespace, "--ignore-not-found", *OWN_NAMESPACED_OBJECTS
    )  # fmt: skip


def _wait_rollout(plane: Plane, namespace: str, *, only_ours: bool) -> None:
    plane.kubectl(
        "rollout", "status", "-n", namespace, f"deployment/{DEPLOYMENT}",
        f"--timeout={ROLLOUT_TIMEOUT:.0f}s", timeout=ROLLOUT_TIMEOUT + 10,
    )  # fmt: skip

    def only_one_data_plane() -> bool:
        # A replaced Pod leaves the Service only once it is gone (terminating Pods may still
        # finish requests): until then two data planes would answer the same JobSinks.
        listed = plane.kubectl("get", "pods", "-n", namespace, "-l", KNATIVE_SELECTOR, "-o", "json")
        pods = json.loads(listed.stdout)["items"]
        return bool(pods) and all(
            (pod["metadata"].get("labels", {}).get(PART_OF) == "jobsink") is only_ours
            for pod in pods
        )

    wait_for(
        only_one_data_plane,
        what=f"only {'our' if only_ours else 'Knative'}'s Pods behind the job-sink Service",
        timeout=ROLLOUT_TIMEOUT,
    )
