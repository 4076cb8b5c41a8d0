"""The local control plane itself: the pinned version, admin clients, and the controllers."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import yaml
from kubernetes import client

from controlplane import K8S_VERSION, ControlPlane
from controlplane.readiness import wait_for

TIMEOUT = 60.0


def _get_json(plane: ControlPlane, *args: str) -> Any:
    return json.loads(plane.kubectl("get", *args, "-o", "json").stdout)


def _gone(plane: ControlPlane, *args: str) -> Callable[[], bool]:
    """A condition: ``kubectl get ARGS`` finds nothing any more."""
    return lambda: plane.kubectl("get", *args, "--ignore-not-found", "-o", "name").stdout == ""


def test_version_is_the_pinned_release(api_client: client.ApiClient) -> None:
    assert client.VersionApi(api_client).get_code().git_version == K8S_VERSION


def test_kubectl_is_admin_through_client_certificate(control_plane: ControlPlane) -> None:
    versions = json.loads(control_plane.kubectl("version", "-o", "json").stdout)
    assert versions["clientVersion"]["gitVersion"] == K8S_VERSION
    assert versions["serverVersion"]["gitVersion"] == K8S_VERSION
    whoami = json.loads(control_plane.kubectl("auth", "whoami", "-o", "json").stdout)
    assert "system:masters" in whoami["status"]["userInfo"]["groups"]
    assert control_plane.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"


def test_admission_webhook_plugins_are_enabled(control_plane: ControlPlane) -> None:
    """The apiserver serves the plugins' metrics only when they are on."""
    metrics = control_plane.kubectl("get", "--raw", "/metrics").stdout
    for plugin in ("MutatingAdmissionWebhook", "ValidatingAdmissionWebhook", "ServiceAccount"):
        assert f'name="{plugin}"' in metrics, plugin


JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {"name": "hello"},
    "spec": {
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
            }
        }
    },
}


#: The Pods of ``JOB``, whichever variant of it a test applied.
JOB_PODS = "batch.kubernetes.io/job-name=hello"


def _apply_job_and_wait_for_its_pod(
    plane: ControlPlane, namespace: str, job: dict[str, Any]
) -> dict[str, Any]:
    """Apply ``job``; returns the one Pod the job controller creates for it."""
    plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(job))

    def pods() -> list[dict[str, Any]]:
        listed = _get_json(plane, "pods", "-n", namespace, "-l", JOB_PODS)
        items: list[dict[str, Any]] = listed["items"]
        return items

    wait_for(lambda: len(pods()) == 1, what="the job controller's Pod", timeout=TIMEOUT)
    return pods()[0]


def test_job_controller_creates_a_pending_pod(control_plane: ControlPlane, namespace: str) -> None:
    pod = _apply_job_and_wait_for_its_pod(control_plane, namespace, JOB)
    # No scheduler, no kubelet: the Pod exists and stays Pending on no node.
    assert pod["status"]["phase"] == "Pending"
    assert "nodeName" not in pod["spec"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    # The ServiceAccount admission plugin ran: the default account and its token volume.
    assert pod["spec"]["serviceAccountName"] == "default"
    assert any(v["name"].startswith("kube-api-access-") for v in pod["spec"]["volumes"])


def test_deleting_a_job_collects_its_pods(control_plane: ControlPlane, namespace: str) -> None:
    _apply_job_and_wait_for_its_pod(control_plane, namespace, JOB)
    control_plane.kubectl("delete", "job", "hello", "-n", namespace, "--wait=false")
    wait_for(
        _gone(control_plane, "pods", "-n", namespace, "-l", JOB_PODS),
        what="the garbage collector to delete the Pod",
        timeout=TIMEOUT,
    )


def test_a_job_finishes_when_its_pod_is_marked_succeeded_and_ttl_deletes_it(
    control_plane: ControlPlane, namespace: str
) -> None:
    """Without a kubelet, a test plays its part by writing the Pod's status itself."""
    job = {**JOB, "spec": {**JOB["spec"], "ttlSecondsAfterFinished": 0}}
    pod = _apply_job_and_wait_for_its_pod(control_plane, namespace, job)
    succeeded = json.dumps({"status": {"phase": "Succeeded"}})
    control_plane.kubectl(
        "patch", "pod", pod["metadata"]["name"], "-n", namespace,
        "--subresource=status", "--type=merge", "-p", succeeded,
    )  # fmt: skip
    wait_for(
        _gone(control_plane, "job", "hello", "-n", namespace),
        what="the ttl-after-finished controller to delete the completed Job",
        timeout=TIMEOUT,
    )


def test_garbage_collector_deletes_dependents(control_plane: ControlPlane, namespace: str) -> None:
    owner = json.loads(
        control_plane.kubectl("create", "configmap", "owner", "-n", namespace, "-o", "json").stdout
    )
    dependent = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": "dependent",
            "ownerReferences": [
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "name": "owner",
                    "uid": owner["metadata"]["uid"],
                }
            ],
        },
    }
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(dependent))
    control_plane.kubectl("delete", "configmap", "owner", "-n", namespace)
    wait_for(
        _gone(control_plane, "configmap", "dependent", "-n", namespace),
        what="the garbage collector to delete the dependent",
        timeout=TIMEOUT,
    )


def test_namespace_deletion_completes(control_plane: ControlPlane) -> None:
    control_plane.kubectl("create", "namespace", "e2e-doomed")
    control_plane.kubectl("create", "configmap", "content", "-n", "e2e-doomed")
    control_plane.kubectl("delete", "namespace", "e2e-doomed", "--timeout=60s")
    assert _gone(control_plane, "namespace", "e2e-doomed")()
