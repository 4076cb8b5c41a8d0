"""Builders of JobSink dicts for the API tests."""

from __future__ import annotations

import copy
from typing import Any


def sink(
    name: str = "logger", pod: dict[str, Any] | None = None, **job_spec: Any
) -> dict[str, Any]:
    """A valid, undefaulted JobSink; ``pod`` replaces the pod spec, ``job_spec`` adds fields."""
    pod_spec = pod if pod is not None else {"containers": [{"name": "main", "image": "bash:5"}]}
    return {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "metadata": {"name": name, "namespace": "default", "uid": "0d6e5c4c-uid"},
        "spec": {"job": {"spec": {"template": {"spec": copy.deepcopy(pod_spec)}, **job_spec}}},
    }


def pod_of(obj: dict[str, Any]) -> dict[str, Any]:
    """The pod spec of a JobSink or of a Job."""
    spec = obj["spec"]["job"]["spec"] if obj["kind"] == "JobSink" else obj["spec"]
    pod: dict[str, Any] = spec["template"]["spec"]
    return pod
