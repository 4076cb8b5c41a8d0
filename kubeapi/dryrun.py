"""Server-side dry-run create of a Job: the apiserver runs its whole admission chain on it.

That catches what only the cluster knows (Pod Security admission, ResourceQuota, LimitRange, other
webhooks such as Kueue or Gatekeeper) without persisting anything. ``fieldValidation=Strict``
makes unknown and duplicate fields errors, as Knative's strict decode does.
"""

from __future__ import annotations

import time
from typing import Any

from kubeapi.calls import Caller
from kubeapi.resources import JOBS, path
from kubeapi.transport import Api


def create_job(api: Api, namespace: str, job: dict[str, Any], *, timeout: float) -> dict[str, Any]:
    """The Job as the apiserver would store it. Raises a ``kubeapi.errors.KubeError`` if it would
    be refused, with the apiserver's causes (``Invalid.causes``) naming each refused field.

    One attempt: an admission request cannot wait for retries, and an unavailable apiserver
    only means the check is skipped."""
    return Caller(api, attempt_timeout=timeout).call(
        "dry_run_create_job",
        "POST",
        path(JOBS, namespace),
        body=job,
        query=[("dryRun", "All"), ("fieldValidation", "Strict")],
        deadline=time.monotonic() + timeout,
        retry=False,
    )
