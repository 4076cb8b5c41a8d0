"""JobSinks as Knative's senders see them, and the events their Jobs hold, read the same way
whichever data plane serves Knative's ``job-sink`` Service.

Both data planes (Knative's ``cmd/jobsink`` and JobSink for Python's receiver) give an event's
Job and Secret one name, label the Job ``sinks.knative.dev/job-sink-name=<sink>`` (the selector
Knative's controller publishes in ``status.job.selector``) and keep the event, as structured
JSON, under the Secret's key ``event``: the file the Job's Pod reads. The names themselves
differ (Knative: ``<sink>-<md5(source + id)>``; ours: a SHA-256 of the sink, source and id), so
the scenarios never compute a name: they count Jobs per (source, id) read from the Secrets.
"""

from __future__ import annotations

import base64
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import yaml

from controlplane import ControlPlane
from controlplane.knative.manifests import KNATIVE_NAMESPACE
from tests.e2e.support import EXAMPLES

Document = dict[str, Any]
SINK_NAME_LABEL = "sinks.knative.dev/job-sink-name"
EVENT_KEY = "event"
JOBSINK_API = "sinks.knative.dev/v1alpha1"


def logger_jobsink(namespace: str, name: str, *, suspend: bool = False) -> Document:
    """The documentation's logger JobSink (``examples/job-sink-logger.yaml``) as ``name``.

    ``suspend``: its Jobs are created suspended, so no Pod runs: the scenarios that only count
    Jobs leave the node's two cores to the senders and the data plane."""
    (sink,) = yaml.safe_load_all((EXAMPLES / "job-sink-logger.yaml").read_text())
    sink["metadata"] = {"name": name, "namespace": namespace}
    if suspend:
        sink["spec"]["job"]["spec"]["suspend"] = True
    document: Document = sink
    return document


def jobsink_ref(name: str) -> Document:
    """A Destination naming the JobSink: Knative resolves it through ``status.address``."""
    return {"ref": {"apiVersion": JOBSINK_API, "kind": "JobSink", "name": name}}


def jobsink_address(namespace: str, name: str) -> str:
    """The address Knative's controller publishes for a JobSink: its ``job-sink`` Service."""
    return f"http://job-sink.{KNATIVE_NAMESPACE}.svc.cluster.local/{namespace}/{name}"


@dataclass(frozen=True)
class StoredEvent:
    """One Job of a JobSink and the event its Secret holds (None while the Secret is missing:
    Knative's data plane writes it after the Job)."""

    job: str
    event: Document | None

    @property
    def key(self) -> tuple[str, str] | None:
        if self.event is None:
            return None
        return (str(self.event.get("source")), str(self.event.get("id")))


def stored_events(plane: ControlPlane, namespace: str, sink: str) -> list[StoredEvent]:
    """Every Job of ``sink`` with its event, in creation order."""
    jobs = json.loads(
        plane.kubectl(
            "get", "jobs", "-n", namespace, "-l", f"{SINK_NAME_LABEL}={sink}",
            "--sort-by=.metadata.creationTimestamp", "-o", "json",
        ).stdout
    )["items"]  # fmt: skip
    secrets = json.loads(plane.kubectl("get", "secrets", "-n", namespace, "-o", "json").stdout)
    held = {
        item["metadata"]["name"]: item.get("data", {}).get(EVENT_KEY) for item in secrets["items"]
    }
    found = []
    for job in jobs:
        name = job["metadata"]["name"]
        encoded = held.get(name)
        event = None if encoded is None else json.loads(base64.b64decode(encoded))
        found.append(StoredEvent(name, event))
    return found


def copies(events: list[StoredEvent]) -> Counter[tuple[str, str] | None]:
    """Jobs per (source, id); the key None counts Jobs whose Secret is still missing."""
    return Counter(stored.key for stored in events)


def complete(events: list[StoredEvent]) -> bool:
    """Every Job has its event."""
    return all(stored.event is not None for stored in events)
