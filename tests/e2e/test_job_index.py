"""The Job index and the sweeper against the real apiserver: paged lists, the index's bound and
its fallback to apiserver reads, listing again once deletions make room, and a sweep that walks
paged Job and Secret lists side by side."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes import client

from controlplane.readiness import wait_for
from jobsink.event import CloudEvent
from jobsink.names import job_name
from jobsink.types import API_VERSION, GROUP, KIND, PLURAL, VERSION
from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.jobdigest import Claim
from receiver.jobindex import JobIndex, Seen
from receiver.protocol import Outcome, WriteProtocol
from receiver.sweeper import Sweeper
from tests.receiver import blocking

pytestmark = pytest.mark.usefixtures("jobsink_crd")

TIMEOUT = 30.0
SINK = "indexed"


def event(i: int) -> CloudEvent:
    return CloudEvent.from_attributes(
        {"specversion": "1.0", "id": str(i), "source": "e2e/index", "type": "t"}, None
    )


@pytest.fixture
def sink(api_client: client.ApiClient, namespace: str) -> dict[str, Any]:
    body = {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": SINK},
        "spec": {
            "job": {
                "spec": {
                    # Suspended: no Pod is wanted, only the Job objects.
                    "suspend": True,
                    "template": {
                        "spec": {
                            "restartPolicy": "Never",
                            "containers": [{"name": "main", "image": "docker.io/library/bash:5"}],
                        }
                    },
                }
            }
        },
    }
    created: dict[str, Any] = client.CustomObjectsApi(api_client).create_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, body
    )
    return created


@pytest.fixture
def calls() -> list[str]:
    return []


@pytest.fixture
def caller(api_client: client.ApiClient, calls: list[str]) -> Caller:
    return Caller(api_client, observe=lambda operation, _outcome, _seconds: calls.append(operation))


@pytest.fixture
def protocol(caller: Caller) -> WriteProtocol:
    return WriteProtocol(object_client.jobs(caller), object_client.secrets(caller))


@pytest.fixture
def start_index(caller: Caller, namespace: str) -> Iterator[Any]:
    started: list[JobIndex] = []

    def start(**options: Any) -> JobIndex:
        index = JobIndex(object_client.jobs(caller), namespace=namespace, **options)
        started.append(index)
        index.start()
        wait_for(lambda: index.synced, what="index synced", timeout=TIMEOUT)
        return index

    yield start
    for index in started:
        index.stop()


def claim(sink: dict[str, Any], i: int) -> Claim:
    meta = sink["metadata"]
    name = job_name(meta["name"], "e2e/index", str(i))
    return Claim(meta["name"], meta["uid"], name, "e2e/index", str(i))


def seen(index: JobIndex, sink: dict[str, Any], i: int) -> Seen:
    return index.seen(sink["metadata"]["namespace"], claim(sink, i).job_name, claim(sink, i))


def deliver(protocol: WriteProtocol, sink: dict[str, Any], i: int) -> Outcome:
    return blocking.deliver(protocol, sink, event(i), deadline=time.monotonic() + TIMEOUT).outcome


def test_the_index_lists_in_pages_and_knows_every_job(
    protocol: WriteProtocol, sink: dict[str, Any], start_index: Any, calls: list[str]
) -> None:
    for i in range(12):
        assert deliver(protocol, sink, i) is Outcome.CREATED
    calls.clear()
    index = start_index(page_size=5)
    assert calls.count("list_job_metadata") == 3
    assert len(index) == 12
    assert not index.bounded
    assert [seen(index, sink, i) for i in range(13)] == [Seen.CLAIMED] * 12 + [Seen.NO_JOB]


def test_past_its_bound_the_index_falls_back_to_reads_and_lists_again_when_room_is_made(
    protocol: WriteProtocol, caller: Caller, sink: dict[str, Any], start_index: Any,
    namespace: str,
) -> None:  # fmt: skip
    for i in range(12):
        deliver(protocol, sink, i)
    index = start_index(max_entries=10, page_size=5)
    assert index.bounded
    assert len(index) == 10
    indexed = WriteProtocol(object_client.jobs(caller), object_client.secrets(caller), index)
    # Every redelivery is still a duplicate, whether the index holds its Job or not.
    assert [deliver(indexed, sink, i) for i in range(12)] == [Outcome.DUPLICATE] * 12
    unknown = [i for i in range(12) if seen(index, sink, i) is Seen.UNKNOWN]
    assert len(unknown) == 2
    held = [i for i in range(12) if seen(index, sink, i) is Seen.CLAIMED][:3]
    jobs = object_client.jobs(caller)
    for i in held:
        job = jobs.get(namespace, claim(sink, i).job_name, deadline=time.monotonic() + TIMEOUT)
        assert job is not None
        name, uid = job["metadata"]["name"], job["metadata"]["uid"]
        assert jobs.delete(namespace, name, uid=uid, deadline=time.monotonic() + TIMEOUT)
    wait_for(
        lambda: index.synced and not index.bounded and len(index) == 9,
        what="listed again, complete",
        timeout=TIMEOUT,
    )
    assert all(seen(index, sink, i) is Seen.CLAIMED for i in unknown)
    assert deliver(indexed, sink, 100) is Outcome.CREATED
    wait_for(lambda: len(index) == 10, what="the new Job indexed", timeout=TIMEOUT)


def _suspended(job: Any) -> bool:
    conditions = (job.status and job.status.conditions) or []
    return any(c.type == "Suspended" and c.status == "True" for c in conditions)


def test_a_sweep_pages_through_jobs_and_secrets(
    protocol: WriteProtocol, caller: Caller, sink: dict[str, Any], namespace: str,
    calls: list[str], api_client: client.ApiClient,
) -> None:  # fmt: skip
    for i in range(12):
        deliver(protocol, sink, i)
    secrets = object_client.secrets(caller)
    orphans = []
    for i in (0, 5, 11):  # the Secret write failed for these three
        name = claim(sink, i).job_name
        secret = secrets.get(namespace, name, deadline=time.monotonic() + TIMEOUT)
        assert secret is not None
        uid = secret["metadata"]["uid"]
        assert secrets.delete(namespace, name, uid=uid, deadline=time.monotonic() + TIMEOUT)
        orphans.append((namespace, name))
    # The sweeper deletes only a Job unchanged since it was listed; the job controller writes
    # each new Job once (its Suspended condition), so wait for that write to be behind us.
    batch = client.BatchV1Api(api_client)
    wait_for(
        lambda: all(_suspended(job) for job in batch.list_namespaced_job(namespace).items),
        what="every Job marked Suspended by the job controller",
        timeout=TIMEOUT,
    )
    sweeper = Sweeper(
        object_client.jobs(caller), secrets, interval=60, grace=300, namespace=namespace,
        page_size=5,
    )  # fmt: skip
    calls.clear()
    later = datetime.now(UTC) + timedelta(minutes=10)
    assert sorted(sweeper.sweep(now=later)) == sorted(orphans)
    assert calls.count("list_job_metadata") == 3  # 12 Jobs, 5 a page
    assert calls.count("list_secret_metadata") == 2  # 9 Secrets
    assert calls.count("get_secret") == 3, "a live read for each orphan only"
    assert sweeper.sweep(now=later) == []
