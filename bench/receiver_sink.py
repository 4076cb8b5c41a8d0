"""The JobSink the receiver benchmarks send to, and the events they send it."""

from __future__ import annotations

import json

from bench import receiver_auth
from bench import receiver_load as loadgen
from bench.cluster import kubectl, logger_sink_in_new_namespace

SINK = "bench-sink"


def prepare(kubeconfig: str) -> str:
    """A fresh namespace with the documentation's logger JobSink named ``SINK``; its name."""
    sink = logger_sink_in_new_namespace(kubeconfig, SINK)
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(sink))
    return str(sink["metadata"]["namespace"])


def event_source(run: str) -> str:
    return f"bench/{run}"


def event_request(
    namespace: str, run: str, offset: int = 0, extra: dict[str, str] | None = None
) -> loadgen.Request:
    """Event ``i`` of a run: binary mode, source ``bench/<run>``, id ``offset + i``."""

    def headers(index: int) -> dict[str, str]:
        return {
            **(extra or {}),
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-source": event_source(run),
            "ce-type": f"{receiver_auth.EVENT_TYPE_PREFIX}event",
            "ce-id": str(offset + index),
        }

    return loadgen.post(f"/{namespace}/{SINK}", headers, b'{"details":"JobSinkDemo"}')
