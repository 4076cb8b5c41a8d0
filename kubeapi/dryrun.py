"""Server-side dry-run create of a Job: the apiserver runs its whole admission chain on it.

That catches what only the cluster knows (Pod Security admission, ResourceQuota, LimitRange, other
webhooks such as Kueue or Gatekeeper) without persisting anything. ``fieldValidation=Strict``
makes unknown and duplicate fields errors, as Knative's strict decode does.
"""

from __future__ import annotations

from typing import Any

from kubernetes import client

from kubeapi.raw import KubeError, request

__all__ = ["KubeError", "create_job"]


def create_job(
    api: client.ApiClient, namespace: str, job: dict[str, Any], *, timeout: float
) -> dict[str, Any]:
    """The Job as the apiserver would store it. Raises ``KubeError`` if it would be refused."""
    return request(
        api,
        "POST",
        f"/apis/batch/v1/namespaces/{namespace}/jobs",
        body=job,
        query=[("dryRun", "All"), ("fieldValidation", "Strict")],
        timeout=timeout,
    )
