"""The project image in a Pod on the local node, with the receiver Deployment's own Pod spec:
imported into the node's containerd (never pulled), run by the kubelet as uid 65532 with a
read-only root filesystem, RuntimeDefault seccomp, no capabilities and an emptyDir ``/tmp``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from cli.manifests import bundle
from controlplane import ControlPlane
from controlplane.image import ImageBuild, ensure_project_image
from controlplane.readiness import wait_for

pytestmark = [pytest.mark.image, pytest.mark.node, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[3]


def _receiver_pod(reference: str, args: list[str]) -> dict[str, Any]:
    """The bundle's receiver Pod template as a one-shot Pod running ``jobsink <args>``."""
    (deployment,) = [
        doc for doc in bundle(ROOT, image=reference)
        if doc["kind"] == "Deployment" and doc["metadata"]["name"] == "job-sink"
    ]  # fmt: skip
    spec: dict[str, Any] = deployment["spec"]["template"]["spec"]
    # The test namespace has neither the ServiceAccount nor a Service to probe through.
    spec.pop("serviceAccountName", None)
    spec["restartPolicy"] = "Never"
    container = spec["containers"][0]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe", "lifecycle"):
        container.pop(probe, None)
    container["args"] = args
    container["imagePullPolicy"] = "Never"
    return {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "jobsink-help"}, "spec": spec}


@pytest.fixture(scope="module")
def imported(node_plane: ControlPlane) -> ImageBuild:
    node = node_plane.node
    assert node is not None
    return ensure_project_image(print, import_into=[node.layout.containerd_socket])


def test_the_receiver_pod_spec_runs_the_image(
    node_plane: ControlPlane, imported: ImageBuild
) -> None:
    assert imported.imported_into
    namespace = "image-pod"
    node_plane.kubectl("create", "namespace", namespace)
    pod = _receiver_pod(imported.reference, ["receiver", "--help"])
    container = pod["spec"]["containers"][0]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert pod["spec"]["securityContext"]["runAsUser"] == 65532
    node_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(pod))

    def phase() -> str:
        got = node_plane.kubectl("get", "pod", "jobsink-help", "-n", namespace, "-o", "json")
        return str(json.loads(got.stdout)["status"].get("phase", ""))

    wait_for(lambda: phase() in ("Succeeded", "Failed"), what="the Pod to finish", timeout=180)
    logs = node_plane.kubectl("logs", "jobsink-help", "-n", namespace).stdout
    assert phase() == "Succeeded", logs
    assert "Usage" in logs
    node_plane.kubectl("delete", "namespace", namespace, "--wait=false")
