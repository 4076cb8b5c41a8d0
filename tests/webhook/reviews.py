"""Builders of AdmissionReview requests around the seed's JobSinks, shared by the webhook tests."""

from __future__ import annotations

import copy
import uuid
from pathlib import Path
from typing import Any

import yaml

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str = "job-sink-success", namespace: str = "default") -> dict[str, Any]:
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    sink["metadata"]["namespace"] = namespace
    return sink


def pod_spec(sink: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sink["spec"]["job"]["spec"]["template"]["spec"]
    return spec


def review(
    obj: Any,
    *,
    operation: str = "CREATE",
    old: Any = None,
    dry_run: bool = False,
    uid: str | None = None,
) -> dict[str, Any]:
    """An ``admission.k8s.io/v1`` request as kube-apiserver 1.36 sends it for a JobSink."""
    request: dict[str, Any] = {
        "uid": uid or str(uuid.uuid4()),
        "kind": {"group": "sinks.knative.dev", "version": "v1alpha1", "kind": "JobSink"},
        "resource": {"group": "sinks.knative.dev", "version": "v1alpha1", "resource": "jobsinks"},
        "requestKind": {"group": "sinks.knative.dev", "version": "v1alpha1", "kind": "JobSink"},
        "requestResource": {
            "group": "sinks.knative.dev",
            "version": "v1alpha1",
            "resource": "jobsinks",
        },
        "name": (obj or {}).get("metadata", {}).get("name", "") if isinstance(obj, dict) else "",
        "namespace": "default",
        "operation": operation,
        "userInfo": {"username": "kubernetes-admin", "groups": ["system:masters"]},
        "object": copy.deepcopy(obj),
        "oldObject": copy.deepcopy(old),
        "dryRun": dry_run,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"},
    }
    return {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": request}
