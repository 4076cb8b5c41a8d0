"""A dedicated cluster for destructive runs: its own control plane, a JobSink and receivers.

Faults kill and freeze components, so they never touch the session's shared control plane. The
JobSink's Jobs are suspended: the job controller makes no Pods, so a storm of thousands of
events loads the apiserver with Jobs and Secrets only. The receivers sweep often, so that
Secret-less Jobs a fault leaves behind are judged within a test's time.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client

from controlplane import ControlPlane
from tests.e2e.faults.injectors import ReceiverProcess
from tests.e2e.services import RunningWebhook, apply_crds, create_namespace, start_webhook
from tests.e2e.support import EXAMPLES

SINK = "fault-sink"
NAMESPACE = "faults"
RECEIVER_REQUEST_TIMEOUT = 20.0
"""The receiver's default deadline for one event (``JOBSINK_RECEIVER_REQUEST_TIMEOUT``)."""
SWEEP_INTERVAL_SECONDS = 3.0
SWEEP_GRACE_SECONDS = 30.0
"""Longer than one event's deadline: a delivery's own Job may wait that long for its Secret (an
etcd stall between the two writes), and a sweeper with a shorter grace deletes it after the 202
(seen with 15 s: the event was lost)."""


def sweeping_env(interval: float, grace: float) -> dict[str, str]:
    if grace <= RECEIVER_REQUEST_TIMEOUT:
        raise ValueError(
            f"sweep grace {grace:g}s: must exceed the receiver's {RECEIVER_REQUEST_TIMEOUT:g}s "
            "request deadline, or the sweeper may delete a Job whose Secret is on its way"
        )
    return {
        "JOBSINK_RECEIVER_SWEEP_INTERVAL_SECONDS": str(interval),
        "JOBSINK_RECEIVER_SWEEP_GRACE_SECONDS": str(grace),
    }


def suspended_sink(name: str, namespace: str) -> dict[str, Any]:
    """The documentation's logger JobSink, with ``suspend: true`` on its Jobs."""
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-logger.yaml").read_text())
    sink = copy.deepcopy(sink)
    sink["metadata"] = {"name": name, "namespace": namespace}
    sink["spec"]["job"]["spec"]["suspend"] = True
    return sink


@dataclass
class FaultCluster:
    plane: ControlPlane
    api: client.ApiClient
    namespace: str
    sink: str
    receivers: list[ReceiverProcess] = field(default_factory=list)
    webhook: RunningWebhook | None = None

    @property
    def path(self) -> str:
        """Where events for the JobSink are POSTed."""
        return f"/{self.namespace}/{self.sink}"

    @property
    def receiver_urls(self) -> list[str]:
        return [receiver.url for receiver in self.receivers]

    def stop(self) -> None:
        """Receivers first: they drain while the apiserver still answers."""
        for receiver in self.receivers:
            receiver.stop()
        if self.webhook is not None:
            self.webhook.process.stop()
        self.api.close()  # type: ignore[no-untyped-call]
        self.plane.stop()


def start_fault_cluster(
    workdir: Path,
    *,
    receivers: int = 2,
    receiver_env: Mapping[str, str] | None = None,
    with_webhook: bool = False,
    say: Callable[[str], None] | None = None,
) -> FaultCluster:
    """Start a control plane in ``workdir`` (kept: its logs outlive the run), the CRD, optionally
    the webhook (registered, so the JobSink is admitted through it), the JobSink, and
    ``receivers`` receiver processes named ``receiver-a``, ``receiver-b``, ..."""
    plane = ControlPlane(workdir=workdir)
    plane.start(progress=say)
    try:
        api = plane.api_client()
        cluster = FaultCluster(plane, api, NAMESPACE, SINK)
        apply_crds(plane)
        if with_webhook:
            cluster.webhook = start_webhook(plane)
        create_namespace(api, NAMESPACE)
        plane.kubectl("apply", "-f", "-", input=json.dumps(suspended_sink(SINK, NAMESPACE)))
        env = dict(
            receiver_env
            if receiver_env is not None
            else sweeping_env(SWEEP_INTERVAL_SECONDS, SWEEP_GRACE_SECONDS)
        )
        for index in range(receivers):
            name = f"receiver-{chr(ord('a') + index)}"
            cluster.receivers.append(ReceiverProcess.start(plane, name, env))
    except BaseException:
        plane.stop()
        raise
    return cluster
