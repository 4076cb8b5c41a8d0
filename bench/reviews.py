"""A realistic AdmissionReview of the seed's job-sink-success JobSink, as kubectl apply sends it.

What the apiserver sends is bigger than the YAML: ``kubectl apply`` stores the whole object in the
``last-applied-configuration`` annotation and the apiserver adds ``managedFields``, uid,
resourceVersion and timestamps. With those the review is about 4 KB, like the real thing.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

import yaml

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "job-sink-success.yaml"


def _fields(node: Any) -> Any:
    """A ``fieldsV1`` tree naming every field of ``node`` (lists as ``k:``/``v:`` keys)."""
    if isinstance(node, dict):
        return {f"f:{key}": _fields(value) for key, value in node.items()}
    if isinstance(node, list):
        out: dict[str, Any] = {}
        for item in node:
            if isinstance(item, dict) and "name" in item:
                out[f'k:{{"name":"{item["name"]}"}}'] = {".": {}, **_fields(item)}
            else:
                out[f"v:{json.dumps(item)}"] = {}
        return out
    return {}


def jobsink() -> dict[str, Any]:
    sink: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    sink["metadata"]["labels"] = {
        "app.kubernetes.io/name": "job-sink-success",
        "app.kubernetes.io/part-of": "batch-pipeline",
        "app.kubernetes.io/version": "1.4.2",
        "team": "data-platform",
    }
    applied = copy.deepcopy(sink)
    applied["metadata"]["namespace"] = "default"
    sink["metadata"].update(
        {
            "namespace": "default",
            "uid": str(uuid.uuid4()),
            "generation": 1,
            "resourceVersion": "48213",
            "creationTimestamp": "2026-11-28T22:00:00Z",
            "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": json.dumps(
                    applied, separators=(",", ":")
                )
                + "\n"
            },
            "managedFields": [
                {
                    "manager": "kubectl-client-side-apply",
                    "operation": "Update",
                    "apiVersion": "sinks.knative.dev/v1alpha1",
                    "time": "2026-11-28T22:00:00Z",
                    "fieldsType": "FieldsV1",
                    "fieldsV1": {
                        "f:metadata": {
                            "f:annotations": {
                                ".": {},
                                "f:kubectl.kubernetes.io/last-applied-configuration": {},
                            },
                            "f:labels": _fields(sink["metadata"]["labels"]),
                        },
                        "f:spec": _fields(sink["spec"]),
                    },
                }
            ],
        }
    )
    return sink


def review(operation: str = "CREATE") -> dict[str, Any]:
    gvk = {"group": "sinks.knative.dev", "version": "v1alpha1", "kind": "JobSink"}
    gvr = {"group": "sinks.knative.dev", "version": "v1alpha1", "resource": "jobsinks"}
    return {
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": str(uuid.uuid4()),
            "kind": gvk,
            "resource": gvr,
            "requestKind": gvk,
            "requestResource": gvr,
            "name": "job-sink-success",
            "namespace": "default",
            "operation": operation,
            "userInfo": {
                "username": "kubernetes-admin",
                "groups": ["system:masters", "system:authenticated"],
            },
            "object": jobsink(),
            "oldObject": None,
            "dryRun": False,
            "options": {
                "kind": "CreateOptions",
                "apiVersion": "meta.k8s.io/v1",
                "fieldManager": "kubectl-client-side-apply",
                "fieldValidation": "Strict",
            },
        },
    }
