"""JobSink status on the real apiserver: what ``kubectl get jobsinks`` shows, the address a Knative
sink ref resolves to, observedGeneration, and one writer among several reconcilers via a Lease."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from kubernetes import client

from controlplane import ControlPlane
from controlplane.readiness import wait_for
from jobsink.types import GROUP, PLURAL, VERSION
from kubeapi.errors import Conflict
from kubeapi.jobsinks import JobSinks
from receiver.controller.sinks import SinkCache
from receiver.controller.status import StatusReconciler
from receiver.settings import LeaseSettings, StatusSettings
from tests.e2e import own_plane, services
from tests.e2e.support import EXAMPLES

pytestmark = pytest.mark.usefixtures("jobsink_crd")

TIMEOUT = 30.0
SEED = EXAMPLES / "job-sink-logger.yaml"


# Its own plane: its tests decide which status reconcilers run, and the session's cluster-wide
# receiver (``receiver`` in conftest) would be one more writer.
control_plane = own_plane.fixture(own_plane.control_plane)
kubectl = own_plane.fixture(own_plane.kubectl)
api_client = own_plane.fixture(own_plane.api_client)
jobsink_crd = own_plane.fixture(own_plane.jobsink_crd)


class CountingJobSinks(JobSinks):
    """The real gateway, counting the status writes this reconciler makes."""

    def __init__(self, api_client: client.ApiClient) -> None:
        super().__init__(api_client)
        self.writes: list[str] = []
        self._lock = threading.Lock()

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        patched = super().patch_status(namespace, name, status, resource_version)
        with self._lock:
            self.writes.append(name)
        return patched


@dataclass
class Replica:
    """What one receiver replica runs for status, in this process: its own cache, reconciler and
    Lease identity."""

    identity: str
    cache: SinkCache
    reconciler: StatusReconciler
    gateway: CountingJobSinks

    def stop(self, *, release: bool = True) -> None:
        self.reconciler.stop(release=release)
        self.cache.stop()


@pytest.fixture
def start_replica(
    api_client: client.ApiClient, namespace: str
) -> Iterator[Callable[[str], Replica]]:
    started: list[Replica] = []
    # Short Lease timings keep the takeover scenarios quick; the Lease lives in the test namespace.
    config = StatusSettings(
        lease=LeaseSettings(namespace=namespace, duration_seconds=4.0, renew_seconds=1.0)
    )

    def start(identity: str) -> Replica:
        cache = SinkCache(api_client, namespace=namespace)
        gateway = CountingJobSinks(api_client)
        reconciler = StatusReconciler(api_client, cache, config, identity, jobsinks=gateway)
        cache.start()
        reconciler.start()
        assert cache.wait_synced(TIMEOUT)
        replica = Replica(identity, cache, reconciler, gateway)
        started.append(replica)
        return replica

    yield start
    for replica in started:
        replica.stop()


def jobsink(api_client: client.ApiClient, namespace: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, name
    )
    return found


def ready(api_client: client.ApiClient, namespace: str, name: str) -> bool:
    status = jobsink(api_client, namespace, name).get("status") or {}
    return any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in status.get("conditions") or []
    )


def apply_seed(kubectl: Callable[..., Any], namespace: str, name: str = "job-sink-logger") -> None:
    text = SEED.read_text().replace("name: job-sink-logger", f"name: {name}")
    kubectl("apply", "-n", namespace, "-f", "-", input=text)


def lease_holder(api_client: client.ApiClient, namespace: str) -> str | None:
    try:
        lease: dict[str, Any] = client.CustomObjectsApi(api_client).get_namespaced_custom_object(
            "coordination.k8s.io", "v1", namespace, "leases", "jobsink-status-reconciler"
        )
    except client.exceptions.NotFoundException:
        return None
    holder: str | None = (lease.get("spec") or {}).get("holderIdentity")
    return holder


def test_kubectl_get_shows_url_and_ready(
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    start_replica: Callable[[str], Replica],
) -> None:
    start_replica("only")
    apply_seed(kubectl, namespace)
    wait_for(lambda: ready(api_client, namespace, "job-sink-logger"), what="Ready", timeout=TIMEOUT)

    table = kubectl("get", "jobsinks.sinks.knative.dev", "-n", namespace).stdout
    header, row = table.strip().splitlines()
    assert header.split() == ["NAME", "URL", "AGE", "READY", "REASON"]
    url = f"http://job-sink.knative-eventing.svc.cluster.local/{namespace}/job-sink-logger"
    assert re.fullmatch(rf"job-sink-logger\s+{re.escape(url)}\s+\S+\s+True\s*", row)


def test_address_resolves_like_a_knative_sink_ref(
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    start_replica: Callable[[str], Replica],
) -> None:
    """A Knative ``sink.ref`` {apiVersion, kind, name} resolves through the Addressable duck
    type: a CRD labelled ``duck.knative.dev/addressable``, and ``.status.address.url``."""
    start_replica("only")
    apply_seed(kubectl, namespace)
    wait_for(lambda: ready(api_client, namespace, "job-sink-logger"), what="Ready", timeout=TIMEOUT)
    ref = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "JobSink", "name": "job-sink-logger"}

    resources = json.loads(kubectl("get", "--raw", f"/apis/{ref['apiVersion']}").stdout)
    plural = next(r["name"] for r in resources["resources"] if r["kind"] == ref["kind"])
    crd = json.loads(kubectl("get", "crd", f"{plural}.{GROUP}", "-o", "json").stdout)
    assert crd["metadata"]["labels"]["duck.knative.dev/addressable"] == "true"
    resolved = json.loads(
        kubectl("get", f"{plural}.{GROUP}", ref["name"], "-n", namespace, "-o", "json").stdout
    )
    status = resolved["status"]
    url = f"http://job-sink.knative-eventing.svc.cluster.local/{namespace}/job-sink-logger"
    assert status["address"] == {"name": "http", "url": url}
    assert status["addresses"] == [{"name": "http", "url": url}]
    assert status["job"]["selector"] == "sinks.knative.dev/job-sink-name=job-sink-logger"
    assert {c["type"]: c["status"] for c in status["conditions"]} == {
        "Addressable": "True",
        "Ready": "True",
    }


def test_observed_generation_follows_updates(
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    start_replica: Callable[[str], Replica],
) -> None:
    replica = start_replica("only")
    apply_seed(kubectl, namespace)
    wait_for(lambda: ready(api_client, namespace, "job-sink-logger"), what="Ready", timeout=TIMEOUT)
    first = jobsink(api_client, namespace, "job-sink-logger")
    since = {c["type"]: c["lastTransitionTime"] for c in first["status"]["conditions"]}

    patch = {"spec": {"job": {"spec": {"backoffLimit": 2}}}}
    kubectl(
        "patch", "jobsink", "job-sink-logger", "-n", namespace, "--type=merge",
        "-p", json.dumps(patch),
    )  # fmt: skip

    def observed() -> bool:
        current = jobsink(api_client, namespace, "job-sink-logger")
        return bool(current["status"]["observedGeneration"] == current["metadata"]["generation"])

    wait_for(observed, what="observedGeneration caught up", timeout=TIMEOUT)
    updated = jobsink(api_client, namespace, "job-sink-logger")
    assert updated["metadata"]["generation"] == first["metadata"]["generation"] + 1
    assert {c["type"]: c["lastTransitionTime"] for c in updated["status"]["conditions"]} == since
    wait_for(lambda: len(replica.gateway.writes) == 2, what="second write", timeout=TIMEOUT)
    assert replica.gateway.writes == ["job-sink-logger", "job-sink-logger"]


@pytest.mark.parametrize("release", [True, False], ids=["holder-stops", "holder-crashes"])
def test_only_the_lease_holder_writes_and_another_takes_over(
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    start_replica: Callable[[str], Replica],
    release: bool,
) -> None:
    replicas = {r.identity: r for r in (start_replica("one"), start_replica("two"))}
    wait_for(
        lambda: lease_holder(api_client, namespace) in replicas, what="a leader", timeout=TIMEOUT
    )
    holder = replicas[str(lease_holder(api_client, namespace))]
    other = next(r for r in replicas.values() if r is not holder)

    apply_seed(kubectl, namespace, "first")
    wait_for(lambda: ready(api_client, namespace, "first"), what="first Ready", timeout=TIMEOUT)
    # The status is visible before the writer's call has returned: wait for its count too.
    wait_for(lambda: holder.gateway.writes == ["first"], what="holder's write", timeout=TIMEOUT)
    assert other.gateway.writes == []

    holder.stop(release=release)
    apply_seed(kubectl, namespace, "second")
    wait_for(lambda: ready(api_client, namespace, "second"), what="second Ready", timeout=TIMEOUT)
    assert lease_holder(api_client, namespace) == other.identity
    wait_for(lambda: other.gateway.writes == ["second"], what="successor's write", timeout=TIMEOUT)
    assert holder.gateway.writes == ["first"]


def test_receiver_processes_hand_over_after_a_crash(
    control_plane: ControlPlane,
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two real ``jobsink receiver`` processes: the Lease holder is SIGKILLed, the other one
    takes over once the Lease expires and publishes the status of a JobSink created meanwhile."""
    monkeypatch.setenv("JOBSINK_RECEIVER_LEASE_NAMESPACE", namespace)
    monkeypatch.setenv("JOBSINK_RECEIVER_LEASE_DURATION_SECONDS", "4")
    monkeypatch.setenv("JOBSINK_RECEIVER_LEASE_RENEW_SECONDS", "1")
    monkeypatch.setenv("JOBSINK_RECEIVER_NAMESPACE", namespace)
    processes = [services.start_receiver(control_plane, f"status-{i}-{namespace}") for i in (1, 2)]
    try:
        by_identity = {f"{socket.gethostname()}_{p.process.pid}": p for p in processes}
        wait_for(
            lambda: lease_holder(api_client, namespace) in by_identity,
            what="a leader process",
            timeout=TIMEOUT,
        )
        holder = by_identity[str(lease_holder(api_client, namespace))]
        successor = next(p for p in processes if p is not holder)
        apply_seed(kubectl, namespace, "before-crash")
        wait_for(
            lambda: ready(api_client, namespace, "before-crash"), what="Ready", timeout=TIMEOUT
        )

        os.killpg(holder.process.pid, signal.SIGKILL)  # no release: the Lease must expire
        apply_seed(kubectl, namespace, "after-crash")
        wait_for(
            lambda: ready(api_client, namespace, "after-crash"),
            what="Ready from the successor",
            timeout=TIMEOUT,
        )
        assert (
            lease_holder(api_client, namespace) == f"{socket.gethostname()}_{successor.process.pid}"
        )
        address = jobsink(api_client, namespace, "after-crash")["status"]["address"]["url"]
        assert address == f"{successor.url}/{namespace}/after-crash"
    finally:
        for running in processes:
            running.stop()


def test_status_patch_is_conditional(
    kubectl: Callable[..., Any], api_client: client.ApiClient, namespace: str
) -> None:
    """The gateway's write: a merge patch of the status subresource that fails with ``Conflict``
    once the object moved on, and answers None once it is gone (here nobody else writes)."""
    gateway = JobSinks(api_client)
    apply_seed(kubectl, namespace, "conditional")
    stale = jobsink(api_client, namespace, "conditional")["metadata"]["resourceVersion"]
    patched = gateway.patch_status(namespace, "conditional", {"observedGeneration": 1}, stale)
    assert patched is not None
    assert patched["status"] == {"observedGeneration": 1}
    assert patched["metadata"]["generation"] == 1, "a status write does not bump generation"
    with pytest.raises(Conflict):
        gateway.patch_status(namespace, "conditional", {"observedGeneration": 2}, stale)
    kubectl("delete", "jobsink", "conditional", "-n", namespace)
    current = patched["metadata"]["resourceVersion"]
    assert gateway.patch_status(namespace, "conditional", {}, current) is None


def test_jobsink_stored_past_the_webhook_shows_why_it_is_not_ready(
    kubectl: Callable[..., Any],
    api_client: client.ApiClient,
    namespace: str,
    start_replica: Callable[[str], Replica],
) -> None:
    """No webhook runs on this plane, so the apiserver stores a JobSink whose Jobs it would refuse;
    the status says so instead of claiming Ready."""
    start_replica("only")
    text = SEED.read_text().replace("restartPolicy: Never", "restartPolicy: Always")
    kubectl("apply", "-n", namespace, "-f", "-", input=text)

    def reason() -> str | None:
        status = jobsink(api_client, namespace, "job-sink-logger").get("status") or {}
        found = [c for c in status.get("conditions") or [] if c["type"] == "Ready"]
        return found[0].get("reason") if found else None

    wait_for(lambda: reason() == "InvalidSpec", what="Ready False", timeout=TIMEOUT)
    row = kubectl("get", "jobsinks", "-n", namespace, "--no-headers").stdout.split()
    assert row[-2:] == ["False", "InvalidSpec"]
