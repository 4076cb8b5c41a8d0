"""The Kueue scenarios' manifests (docs/examples/kueue, as the documentation shows them) and
what the tests read back: Jobs' admission as seen by polling, and Kueue's Workloads."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from controlplane import ControlPlane
from tests.e2e.node.runs import get_json

MANIFESTS = Path(__file__).resolve().parents[4] / "docs" / "examples" / "kueue"
QUEUES = MANIFESTS / "queues.yaml"
QUEUED_SINK = MANIFESTS / "job-sink-queued.yaml"
KUEUE_GROUP = "kueue.x-k8s.io"


def queued_sink() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(QUEUED_SINK.read_text())
    return copy.deepcopy(document)


def apply_queues(plane: ControlPlane, namespace: str) -> None:
    plane.kubectl("apply", "-n", namespace, "-f", str(QUEUES))


def cluster_queue_quota() -> str:
    """The CPU quota of the documentation's ClusterQueue."""
    for document in yaml.safe_load_all(QUEUES.read_text()):
        if document["kind"] == "ClusterQueue":
            (group,) = document["spec"]["resourceGroups"]
            (flavor,) = group["flavors"]
            (cpu,) = flavor["resources"]
            return str(cpu["nominalQuota"])
    raise AssertionError(f"{QUEUES} has no ClusterQueue")


def cpu_request(sink: dict[str, Any]) -> str:
    (container,) = sink["spec"]["job"]["spec"]["template"]["spec"]["containers"]
    return str(container["resources"]["requests"]["cpu"])


def millicpu(quantity: str) -> int:
    return int(quantity[:-1]) if quantity.endswith("m") else int(float(quantity) * 1000)


def _time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class WorkloadTimes:
    """When Kueue admitted a Job's Workload and when the Workload finished (second resolution,
    as the apiserver stores condition times)."""

    job: str
    admitted: dt.datetime
    finished: dt.datetime


def workload_times(plane: ControlPlane, namespace: str) -> list[WorkloadTimes]:
    found = []
    for workload in get_json(plane, f"workloads.{KUEUE_GROUP}", "-n", namespace)["items"]:
        (owner,) = workload["metadata"]["ownerReferences"]
        conditions = {c["type"]: c for c in workload["status"]["conditions"]}
        admitted, finished = conditions["Admitted"], conditions["Finished"]
        assert admitted["status"] == "True", workload["status"]
        assert finished["status"] == "True", workload["status"]
        admitted_at, finished_at = (
            _time(admitted["lastTransitionTime"]),
            _time(finished["lastTransitionTime"]),
        )
        found.append(WorkloadTimes(owner["name"], admitted_at, finished_at))
    return sorted(found, key=lambda times: times.admitted)


def most_admitted_at_once(times: list[WorkloadTimes]) -> int:
    """The largest number of Workloads admitted and not yet finished at any moment. An admission
    and a finish in the same second count as finish first: quota is only ever freed first."""
    moments = [(t.admitted, 1) for t in times] + [(t.finished, -1) for t in times]
    running = most = 0
    for _, change in sorted(moments):
        running += change
        most = max(most, running)
    return most
