"""JobSinks over the wire: a live GET, and the merge-patch of the status subresource.

Objects travel as plain dicts, exactly as the apiserver sends them: the official client has no model
for a custom resource, and a dict is what the cache and the pure status code want anyway. Listing
and watching them is ``kubeapi.informer``'s job (over a ``ListWatch`` of ``JOBSINKS``).

One attempt per call, no retries here: the event path that GETs a JobSink the cache has not seen
answers the sender 5xx on failure and the sender retries, and the status reconciler requeues with
its own backoff.
"""

from __future__ import annotations

import time
from typing import Any

from jobsink import types
from kubeapi.calls import Caller
from kubeapi.errors import NotFound
from kubeapi.raw import MERGE_PATCH
from kubeapi.resources import ResourceType, path
from kubeapi.transport import Api

JOBSINKS = ResourceType(types.GROUP, types.VERSION, types.PLURAL, types.KIND, namespaced=True)
FIELD_MANAGER = "jobsink-receiver"


class JobSinks:
    """The JobSink calls the receiver makes, over one shared ``ApiClient``."""

    def __init__(self, api_client: Api, *, request_timeout: float = 10.0) -> None:
        self.caller = Caller(api_client, attempt_timeout=request_timeout)
        self._timeout = request_timeout

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        """The JobSink, or ``None`` when it does not exist."""
        try:
            return self.caller.call(
                "get_jobsink",
                "GET",
                path(JOBSINKS, namespace, name),
                deadline=time.monotonic() + self._timeout,
                retry=False,
            )
        except NotFound:
            return None

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        """Merge-patch ``.status``, only if the object is still at ``resource_version``; None when
        the JobSink no longer exists. ``kubeapi.errors.Conflict`` when it changed since."""
        body = {"metadata": {"resourceVersion": resource_version}, "status": status}
        try:
            return self.caller.call(
                "patch_jobsink_status",
                "PATCH",
                path(JOBSINKS, namespace, name, "status"),
                body=body,
                query=[("fieldManager", FIELD_MANAGER)],
                content_type=MERGE_PATCH,
                deadline=time.monotonic() + self._timeout,
                retry=False,
            )
        except NotFound:
            return None
