"""Kubernetes Events (``events.k8s.io/v1``) about JobSinks: the smallest recorder there can be.

One Event per call, written on a worker thread so the caller's loop never waits on the
apiserver; a failed write is logged and dropped (an Event is a hint for people, never a reason
to fail what it tells about). Written as the controllers users know write them: ``reason`` in
CamelCase, a short ``note``, ``regarding`` the JobSink, ``reportingController``
``sinks.knative.dev/jobsink-receiver``, so ``kubectl describe jobsink`` lists them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
import time
from datetime import UTC, datetime
from typing import Any, Final

from kubeapi.calls import Caller
from kubeapi.errors import KubeError
from kubeapi.messages import one_line
from kubeapi.resources import ResourceType, path

log = logging.getLogger(__name__)

EVENTS: Final = ResourceType("events.k8s.io", "v1", "events", "Event", namespaced=True)
REPORTING_CONTROLLER: Final = "sinks.knative.dev/jobsink-receiver"
MAX_NOTE: Final = 1024
"""The apiserver refuses a longer note."""
ACTIONS: Final = {
    "DeadLetterDelivered": "DeliverDeadLetter",
    "DeadLetterGaveUp": "DeliverDeadLetter",
}
CALL_TIMEOUT: Final = 10.0


def reference(obj: dict[str, Any]) -> dict[str, str]:
    meta = obj.get("metadata") or {}
    ref = {
        "apiVersion": str(obj.get("apiVersion") or ""),
        "kind": str(obj.get("kind") or ""),
        "namespace": str(meta.get("namespace") or ""),
        "name": str(meta.get("name") or ""),
        "uid": str(meta.get("uid") or ""),
    }
    return {key: value for key, value in ref.items() if value}


def event_body(
    regarding: dict[str, Any], type_: str, reason: str, note: str, *, instance: str, wall: float
) -> dict[str, Any]:
    ref = reference(regarding)
    note = note if len(note) <= MAX_NOTE else note[: MAX_NOTE - 3] + "..."
    return {
        "apiVersion": "events.k8s.io/v1",
        "kind": "Event",
        # Named as client-go names Events: the object's name, a dot, something unique.
        "metadata": {
            "name": f"{ref.get('name', 'jobsink')}.{secrets.token_hex(8)}",
            "namespace": ref["namespace"],
        },
        "eventTime": datetime.fromtimestamp(wall, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "reportingController": REPORTING_CONTROLLER,
        "reportingInstance": instance,
        "action": ACTIONS.get(reason, reason),
        "reason": reason,
        "type": type_,
        "note": note,
        "regarding": ref,
    }


class EventRecorder:
    def __init__(self, caller: Caller, *, instance: str | None = None) -> None:
        self._caller = caller
        self._instance = (instance or os.environ.get("POD_NAME") or socket.gethostname())[:128]

    async def record(self, regarding: dict[str, Any], type_: str, reason: str, note: str) -> None:
        """Write one Event about ``regarding`` (a JobSink with at least its metadata)."""
        body = event_body(regarding, type_, reason, note, instance=self._instance, wall=time.time())
        await asyncio.to_thread(self._write, body)

    def _write(self, body: dict[str, Any]) -> None:
        try:
            self._caller.call(
                "create_event",
                "POST",
                path(EVENTS, body["metadata"]["namespace"]),
                body=body,
                deadline=time.monotonic() + CALL_TIMEOUT,
                answer=False,
            )
        except KubeError as error:
            log.warning("Event %s not written: %s", body["reason"], one_line(error))
