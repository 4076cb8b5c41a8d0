"""The generated CRD on the real 1.36 apiserver: installs with plain kubectl apply, is structural,
explains the inlined JobSpec, and validates quantities and printer columns as designed."""

from __future__ import annotations

import json
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest

from jobsink.types import CRD_NAME
from tests.jobsink.models.test_generated import REPO, load_tool

Kubectl = Callable[..., CompletedProcess[str]]
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
CRD_FILE = REPO / "crds" / "jobsink.yaml"


def installed_crd(kubectl: Kubectl) -> dict[str, Any]:
    crd: dict[str, Any] = json.loads(kubectl("get", "crd", CRD_NAME, "-o", "json").stdout)
    return crd


def test_installed_by_plain_apply_and_structural(kubectl: Kubectl, jobsink_crd: list[str]) -> None:
    assert CRD_NAME in jobsink_crd
    crd = installed_crd(kubectl)
    conditions = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
    assert conditions["Established"] == "True"
    assert "NonStructuralSchema" not in conditions
    stored = len(crd["metadata"]["annotations"][LAST_APPLIED].encode())
    assert stored < 256 * 1024
    # The generator's own estimate (which refuses oversized CRDs) is exact.
    assert stored == load_tool("crd").last_applied_size(CRD_FILE.read_text(encoding="utf-8"))


EXPLAINED = {
    "containers": (
        "spec.job.spec.template.spec.containers",
        ["image", "resources", "volumeMounts"],
    ),
    "job spec": ("spec.job.spec", ["backoffLimit", "podFailurePolicy", "successPolicy"]),
    "status": ("status", ["address", "conditions", "observedGeneration"]),
}


@pytest.mark.parametrize(("path", "fields"), EXPLAINED.values(), ids=EXPLAINED.keys())
def test_kubectl_explain(
    kubectl: Kubectl, jobsink_crd: list[str], path: str, fields: list[str]
) -> None:
    output = kubectl("explain", f"jobsink.{path}").stdout
    for field in fields:
        assert f"  {field}\t" in output, f"{field} missing from `kubectl explain jobsink.{path}`"


def jobsink(name: str, resources: dict[str, Any]) -> str:
    return json.dumps(
        {
            "apiVersion": "sinks.knative.dev/v1alpha1",
            "kind": "JobSink",
            "metadata": {"name": name},
            "spec": {
                "job": {
                    "spec": {
                        "template": {
                            "spec": {
                                "restartPolicy": "Never",
                                "containers": [
                                    {"name": "main", "image": "busybox", "resources": resources}
                                ],
                            }
                        }
                    }
                }
            },
        }
    )


def test_quantity_pattern_rejects_garbage(kubectl: Kubectl, namespace: str) -> None:
    result = kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=jobsink("bad-quantity", {"limits": {"memory": "abc"}}),
        check=False,
    )
    assert result.returncode != 0
    assert "spec.job.spec.template.spec.containers[0].resources.limits.memory" in result.stderr


def test_printer_columns(kubectl: Kubectl, namespace: str) -> None:
    kubectl(
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        input=jobsink("columns", {"limits": {"memory": "64Mi", "cpu": "500m"}}),
    )
    header = kubectl("get", "jobsinks", "-n", namespace).stdout.splitlines()[0].split()
    assert header == ["NAME", "URL", "AGE", "READY", "REASON"]
