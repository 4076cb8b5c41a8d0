"""The status reconciler against fakes of the JobSink API, cache and Lease (real one: tests/e2e)."""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from kubeapi.errors import Conflict
from kubeapi.jobsinks import JobSinks
from receiver.auth.policy import parse
from receiver.auth.policy_status import SinkPolicyStatus
from receiver.controller.lease import LeaderElector
from receiver.controller.sinks import Key, SinkCache
from receiver.controller.status import PoliciesNotLoaded, StatusReconciler
from receiver.controller.storms import StormGuard
from receiver.metrics import Metrics
from receiver.settings import StatusSettings
from tests.receiver.auth.policies import StaticPolicies, policy
from tests.receiver.figures import figure

KEY = ("default", "job-sink-logger")
RESULTS = ("updated", "unchanged", "gone", "error")
URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"


def jobsink(name: str = "job-sink-logger", rv: int = 1, generation: int = 1) -> dict[str, Any]:
    container = {"name": "main", "image": "docker.io/library/bash:5", "command": ["cat"]}
    return {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "metadata": {
            "name": name,
            "namespace": "default",
            "generation": generation,
            "resourceVersion": str(rv),
        },
        "spec": {
            "job": {
                "spec": {
                    "template": {"spec": {"restartPolicy": "Never", "containers": [container]}}
                }
            }
        },
    }


def merge(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge(result.get(key), value)
    return result


class FakeApiServer:
    """Stand-in for ``kubeapi.jobsinks.JobSinks`` *and* the cache: one store of JobSinks, with a
    resourceVersion precondition on status patches and scripted faults."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}
        self.version = 100
        self.patches: list[tuple[Key, dict[str, Any]]] = []
        self.faults: list[BaseException] = []
        self.listeners: list[Callable[[Key], None]] = []
        self.stale: dict[Key, dict[str, Any]] = {}

    # JobSinks
    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get((namespace, name))
        return copy.deepcopy(found) if found else None

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        if self.faults:
            raise self.faults.pop(0)
        stored = self.objects.get((namespace, name))
        if stored is None:
            return None
        if stored["metadata"]["resourceVersion"] != resource_version:
            raise Conflict(409, "Conflict", name)
        self.patches.append(((namespace, name), status))
        self.touch((namespace, name), lambda o: o.update(status=merge(o.get("status"), status)))
        return copy.deepcopy(stored)

    def touch(self, key: Key, change: Callable[[dict[str, Any]], None]) -> None:
        self.version += 1
        change(self.objects[key])
        self.objects[key]["metadata"]["resourceVersion"] = str(self.version)
        for listener in self.listeners:
            listener(key)

    # SinkCache
    def watched(self, namespace: str, name: str) -> dict[str, Any] | None:
        if (namespace, name) in self.stale:
            return self.stale[(namespace, name)]
        return self.get(namespace, name)

    def sink_keys(self) -> list[Key]:
        return list(self.objects)

    def subscribe(self, listener: Callable[[Key], None]) -> None:
        self.listeners.append(listener)


class FakeElector:
    def __init__(self, leading: bool = True) -> None:
        self.is_leader = leading
        self.listeners: list[Callable[[bool], None]] = []

    def on_change(self, listener: Callable[[bool], None]) -> None:
        self.listeners.append(listener)

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0, *, release: bool = True) -> None: ...

    def become(self, leading: bool) -> None:
        self.is_leader = leading
        for listener in self.listeners:
            listener(leading)


def reconciler(
    server: FakeApiServer, elector: FakeElector | None = None, **kwargs: Any
) -> StatusReconciler:
    return StatusReconciler(
        cast(Any, None),
        cast(SinkCache, server),
        StatusSettings(),
        jobsinks=cast(JobSinks, server),
        elector=cast(LeaderElector, elector or FakeElector()),
        **kwargs,
    )


def wait_for(predicate: Callable[[], object], what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.005)


def test_first_reconcile_writes_the_whole_status() -> None:
    server = FakeApiServer(jobsink())
    assert reconciler(server).reconcile(KEY) == "updated"
    status = server.objects[KEY]["status"]
    assert status["address"] == {"name": "http", "url": URL}
    assert status["job"] == {"selector": "sinks.knative.dev/job-sink-name=job-sink-logger"}
    assert status["observedGeneration"] == 1
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Addressable", "True"),
        ("Ready", "True"),
    ]


def test_second_reconcile_writes_nothing() -> None:
    server = FakeApiServer(jobsink())
    status = reconciler(server)
    assert status.reconcile(KEY) == "updated"
    assert status.reconcile(KEY) == "unchanged"
    assert len(server.patches) == 1


def test_generation_change_writes_only_observed_generation() -> None:
    server = FakeApiServer(jobsink())
    status = reconciler(server)
    status.reconcile(KEY)
    server.touch(KEY, lambda o: o["metadata"].update(generation=2))
    assert status.reconcile(KEY) == "updated"
    assert server.patches[-1][1] == {"observedGeneration": 2}


def reconciles(metrics: Metrics) -> dict[str, float]:
    return {
        result: figure(metrics, "jobsink_status_reconciles_total", result=result)
        for result in RESULTS
    }


def test_reconciles_are_counted_by_outcome() -> None:
    server, metrics = FakeApiServer(jobsink()), Metrics()
    status = reconciler(server, metrics=metrics)
    outcomes = [status.reconcile(KEY), status.reconcile(KEY)]
    del server.objects[KEY]
    outcomes.append(status.reconcile(KEY))
    assert outcomes == ["updated", "unchanged", "gone"]
    assert reconciles(metrics) == {"updated": 1, "unchanged": 1, "gone": 1, "error": 0}


def test_conflict_rereads_and_retries() -> None:
    server = FakeApiServer(jobsink())
    server.stale[KEY] = jobsink(rv=0)  # the cache lags behind the apiserver
    assert reconciler(server).reconcile(KEY) == "updated"
    assert len(server.patches) == 1


def test_endless_conflicts_give_up() -> None:
    server = FakeApiServer(jobsink())
    server.faults = [Conflict(409, "Conflict", "x")] * 10
    with pytest.raises(Conflict, match="kept changing"):
        reconciler(server).reconcile(KEY)


@pytest.mark.parametrize(
    "deleted_when",
    [pytest.param("before", id="not-in-cache"), pytest.param("during", id="gone-after-conflict")],
)
def test_deleted_sink_is_not_written(deleted_when: str) -> None:
    server = FakeApiServer(jobsink())
    if deleted_when == "during":
        server.stale[KEY] = jobsink(rv=0)
    del server.objects[KEY]
    assert reconciler(server).reconcile(KEY) == "gone"
    assert server.patches == []


@pytest.fixture
def running() -> Iterator[Callable[..., StatusReconciler]]:
    started: list[StatusReconciler] = []

    def run(server: FakeApiServer, elector: FakeElector, **kwargs: Any) -> StatusReconciler:
        status = reconciler(server, elector, **kwargs)
        status.start()
        started.append(status)
        return status

    yield run
    for status in started:
        status.stop()


def test_follower_writes_nothing_until_it_leads(running: Callable[..., StatusReconciler]) -> None:
    server, elector = FakeApiServer(jobsink("a"), jobsink("b")), FakeElector(leading=False)
    status = running(server, elector)
    for key in server.sink_keys():
        status.enqueue(key)
    time.sleep(0.1)  # the worker drains the queue and drops the keys
    assert server.patches == []
    elector.become(True)
    wait_for(lambda: len(server.patches) == 2, "both written after taking the lead")


def test_changes_seen_by_the_watch_are_reconciled(
    running: Callable[..., StatusReconciler],
) -> None:
    server = FakeApiServer(jobsink())
    running(server, FakeElector())
    server.listeners[0](KEY)
    wait_for(lambda: server.patches, "first write")
    server.touch(KEY, lambda o: o["metadata"].update(generation=3))
    wait_for(lambda: server.objects[KEY]["status"]["observedGeneration"] == 3, "generation seen")
    time.sleep(0.05)
    assert len(server.patches) == 2, "its own writes do not trigger more writes"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param(ApiException(status=500, reason="etcd hiccup"), id="server-error"),
        pytest.param(ApiException(status=429, reason="slow down"), id="throttled"),
        pytest.param(ConnectionResetError("reset"), id="connection-reset"),
    ],
)
def test_failed_writes_are_retried(
    running: Callable[..., StatusReconciler], fault: BaseException
) -> None:
    server, metrics = FakeApiServer(jobsink()), Metrics()
    server.faults = [fault, fault]
    status = running(server, FakeElector(), max_backoff=0.01, metrics=metrics)
    status.enqueue(KEY)
    wait_for(lambda: reconciles(metrics)["updated"] == 1, "written after retries")
    assert server.faults == []
    assert reconciles(metrics)["error"] == 2


def test_periodic_resync_catches_missed_changes(
    running: Callable[..., StatusReconciler],
) -> None:
    server = FakeApiServer(jobsink())
    running(server, FakeElector(), resync_every=0.05)
    wait_for(lambda: server.patches, "resync wrote status nobody asked for")


def test_stop_ends_the_worker(running: Callable[..., StatusReconciler]) -> None:
    status = running(FakeApiServer(), FakeElector())
    status.stop()
    assert not any(t.name.startswith("jobsink-status-") for t in threading.enumerate())


def rival_writer(server: FakeApiServer) -> Callable[[Key], None]:
    """Another writer with another address, changing the status back after every write."""
    rival_url = "http://elsewhere.example/default/job-sink-logger"

    def rival(key: Key) -> None:
        status = server.objects[key].get("status") or {}
        if status.get("address", {}).get("url") != rival_url and len(server.patches) < 50:
            server.touch(key, lambda o: o["status"].update(address={"url": rival_url}))

    return rival


def test_a_rival_writer_is_held_back(running: Callable[..., StatusReconciler]) -> None:
    server = FakeApiServer(jobsink())
    rival = rival_writer(server)
    storms = StormGuard(window=10.0, tolerated=3, max_hold=3600.0)
    status = running(server, FakeElector(), storms=storms)
    server.listeners.append(rival)
    status.enqueue(KEY)
    wait_for(lambda: storms.held_until(KEY) is not None, "the fight noticed")
    time.sleep(0.2)  # the rival keeps changing it back; we must not answer now
    assert len(server.patches) == 4, "three tolerated quick rewrites, then the hold"


def test_holds_of_its_own_storm_guard_are_counted_on_its_metrics(
    running: Callable[..., StatusReconciler],
) -> None:
    server, metrics = FakeApiServer(jobsink()), Metrics()
    status = running(server, FakeElector(), metrics=metrics)
    server.listeners.append(rival_writer(server))
    status.enqueue(KEY)
    wait_for(lambda: figure(metrics, "jobsink_status_writes_held_total"), "a hold counted")
    status.stop()
    held = figure(metrics, "jobsink_status_writes_held_total")
    assert reconciles(metrics)["updated"] == 3 + held, "three tolerated writes, then each held"


class GatedApiServer(FakeApiServer):
    """Status patches wait at a gate, so the test can see what runs at the same time."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        super().__init__(*objects)
        self.gate = threading.Event()
        self.inflight: list[Key] = []
        self.most_at_once: dict[Key, int] = {}

    def patch_status(
        self, namespace: str, name: str, status: dict[str, Any], resource_version: str
    ) -> dict[str, Any] | None:
        key = (namespace, name)
        self.inflight.append(key)
        self.most_at_once[key] = max(self.most_at_once.get(key, 0), self.inflight.count(key))
        self.gate.wait(5)
        self.inflight.remove(key)
        return super().patch_status(namespace, name, status, resource_version)


def test_workers_share_the_load_but_never_one_key(
    running: Callable[..., StatusReconciler],
) -> None:
    server = GatedApiServer(jobsink("a"), jobsink("b"))
    status = running(server, FakeElector(), workers=4)
    for key in server.sink_keys():
        status.enqueue(key)
    wait_for(lambda: len(server.inflight) == 2, "both JobSinks written at once")
    server.touch(("default", "a"), lambda o: o["metadata"].update(generation=2))
    time.sleep(0.05)  # a free worker must not pick "a" up while its first write is in flight
    assert server.inflight.count(("default", "a")) == 1
    server.gate.set()
    wait_for(
        lambda: server.objects[("default", "a")].get("status", {}).get("observedGeneration") == 2,
        "a written again, for generation 2",
    )
    assert server.most_at_once == {("default", "a"): 1, ("default", "b"): 1}


def test_invalid_spec_is_not_ready() -> None:
    """Stored while the webhook was bypassed: Ready False, and the message says why."""
    broken = jobsink()
    broken["spec"]["job"]["spec"]["template"]["spec"]["restartPolicy"] = "Always"
    server = FakeApiServer(broken)
    assert reconciler(server).reconcile(KEY) == "updated"
    ready = next(c for c in server.objects[KEY]["status"]["conditions"] if c["type"] == "Ready")
    assert (ready["status"], ready["reason"]) == ("False", "InvalidSpec")
    assert ready["message"].startswith("spec.job.spec.template.spec.restartPolicy: ")
    assert server.objects[KEY]["status"]["address"] == {"name": "http", "url": URL}


def policy_status(policies: StaticPolicies) -> SinkPolicyStatus:
    return SinkPolicyStatus(policies, authentication=True, default_mode="allow-same-namespace")


def test_status_carries_the_applying_policies() -> None:
    server = FakeApiServer(jobsink())
    policies = StaticPolicies((parse(policy("p", namespace="default")),))
    assert reconciler(server, policies=policy_status(policies)).reconcile(KEY) == "updated"
    status = server.objects[KEY]["status"]
    assert status["policies"] == [{"apiVersion": "eventing.knative.dev/v1alpha1", "name": "p"}]
    assert [(c["type"], c["status"]) for c in status["conditions"]] == [
        ("Addressable", "True"),
        ("EventPoliciesReady", "True"),
        ("Ready", "True"),
    ]


def test_policies_still_loading_postpone_the_write() -> None:
    server = FakeApiServer(jobsink())
    loading = StaticPolicies(state="loading")
    with pytest.raises(PoliciesNotLoaded):
        reconciler(server, policies=policy_status(loading)).reconcile(KEY)
    assert server.patches == []


def test_a_policy_change_requeues_the_jobsinks_of_its_namespace() -> None:
    other = jobsink("elsewhere")
    other["metadata"]["namespace"] = "team-b"
    server = FakeApiServer(jobsink(), other)
    policies, elector = StaticPolicies(), FakeElector(leading=False)
    status = reconciler(server, elector, policies=policy_status(policies))
    status.start()
    try:
        elector.become(True)
        wait_for(lambda: len(server.patches) == 2, "both JobSinks written once")
        policies.policies = (parse(policy("p", namespace="default")),)
        for listener in policies.listeners:
            listener("default")
        wait_for(lambda: len(server.patches) == 3, "the JobSink of namespace default rewritten")
        assert server.patches[-1][0] == KEY
        assert server.patches[-1][1]["policies"] == [
            {"apiVersion": "eventing.knative.dev/v1alpha1", "name": "p"}
        ]
    finally:
        status.stop()
