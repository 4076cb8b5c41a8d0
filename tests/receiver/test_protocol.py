"""The write protocol against a FAKE apiserver with injected faults.

Every scenario ends the same way once a redelivery succeeds: exactly one Job, exactly one Secret,
owned by that Job, holding this event. No loss, no duplicate.
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any

import pytest

from jobsink.event import CloudEvent, json_data
from kubeapi import object_client
from kubeapi.errors import KubeError
from kubeapi.watch import WatchEvent
from receiver.jobindex import JobIndex
from receiver.protocol import Busy, EventConflict, Outcome, WriteProtocol
from tests.kubeapi.fake_source import FakeListWatch, wait_for
from tests.receiver.blocking import deliver
from tests.receiver.fake_kube import FakeKubeApi

EVENT = CloudEvent.from_attributes(
    {
        "specversion": "1.0",
        "id": "123",
        "source": "my/curl/command",
        "type": "my.demo.event",
        "datacontenttype": "application/json",
    },
    json_data({"details": "JobSinkDemo"}),
)


def deadline(seconds: float = 3.0) -> float:
    return time.monotonic() + seconds


def assert_one_job_one_secret(fake: FakeKubeApi) -> None:
    jobs, secrets = fake.of("jobs"), fake.of("secrets")
    assert len(jobs) == 1, jobs
    assert len(secrets) == 1, secrets
    (job,), (secret,) = jobs, secrets
    owner = secret["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["uid"]) == ("Job", job["metadata"]["uid"])
    assert base64.b64decode(secret["data"]["event"]) == EVENT.to_json()


@pytest.mark.parametrize(
    ("faults", "outcome"),
    [
        pytest.param([], Outcome.CREATED, id="no-fault"),
        pytest.param(
            [("POST", "jobs", {"status": 429, "times": 2, "retry_after": 0.05})],
            Outcome.CREATED,
            id="job-create-429-retry-after",
        ),
        pytest.param(
            [("POST", "secrets", {"status": 500, "times": 2})],
            Outcome.CREATED,
            id="secret-create-500",
        ),
        pytest.param(
            [("GET", "jobs", {"status": 503, "times": 1})], Outcome.CREATED, id="read-503"
        ),
        pytest.param(
            [("POST", "secrets", {"stall": 0.8})], Outcome.CREATED, id="secret-create-timeout"
        ),
        pytest.param(
            [("POST", "jobs", {"apply_then_drop": True})],
            Outcome.COMPLETED,
            id="job-created-but-answer-lost",
        ),
        pytest.param(
            [("POST", "secrets", {"apply_then_drop": True})],
            Outcome.CREATED,
            id="secret-created-but-answer-lost",
        ),
    ],
)
def test_transient_faults_are_retried_within_the_deadline(
    fake: FakeKubeApi,
    protocol: WriteProtocol,
    sink: dict[str, Any],
    faults: list[tuple[str, str, dict[str, Any]]],
    outcome: Outcome,
) -> None:
    for method, plural, fault in faults:
        fake.fail(method, plural, **fault)
    accepted = deliver(protocol, sink, EVENT, deadline=deadline())
    assert accepted.outcome is outcome
    assert_one_job_one_secret(fake)


@pytest.mark.parametrize(
    ("method", "plural", "jobs_left"),
    [
        pytest.param("POST", "jobs", 0, id="job-create-keeps-failing"),
        pytest.param("POST", "secrets", 1, id="failure-between-the-two-writes"),
        pytest.param("GET", "jobs", 0, id="apiserver-unreadable"),
    ],
)
@pytest.mark.parametrize("status", [500, 429, 503])
def test_persistent_failure_then_redelivery_completes(
    fake: FakeKubeApi,
    protocol: WriteProtocol,
    sink: dict[str, Any],
    method: str,
    plural: str,
    jobs_left: int,
    status: int,
) -> None:
    fake.fail(method, plural, status=status, times=1000)
    with pytest.raises(KubeError) as caught:
        deliver(protocol, sink, EVENT, deadline=deadline(0.3))
    assert caught.value.retryable  # the sender is told to retry (5xx), never that it was done
    assert len(fake.of("jobs")) == jobs_left
    assert fake.of("secrets") == []
    fake.faults.clear()
    accepted = deliver(protocol, sink, EVENT, deadline=deadline())
    expected = Outcome.COMPLETED if jobs_left else Outcome.CREATED
    assert accepted.outcome is expected
    assert_one_job_one_secret(fake)


def test_duplicate_makes_no_write_call(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any]
) -> None:
    deliver(protocol, sink, EVENT, deadline=deadline())
    writes = len(fake.writes())
    accepted = deliver(protocol, sink, EVENT, deadline=deadline())
    assert accepted.outcome is Outcome.DUPLICATE
    assert len(fake.writes()) == writes
    # Both reads go to the apiserver's watch cache.
    assert all("resourceVersion=0" in query for method, _, query in fake.calls[-2:])
    assert_one_job_one_secret(fake)


@pytest.fixture
def index(caller: Any) -> JobIndex:
    built = JobIndex(object_client.jobs(caller))
    built.informer.replace([], "1")  # synced, empty: what a fresh cluster lists
    return built


@pytest.fixture
def indexed(caller: Any, index: JobIndex) -> WriteProtocol:
    return WriteProtocol(object_client.jobs(caller), object_client.secrets(caller), index)


def watch_sees(fake: FakeKubeApi, index: JobIndex) -> None:
    """What the metadata list would deliver: the fake's Jobs as they are now."""
    index.informer.replace(({"metadata": job["metadata"]} for job in fake.of("jobs")), "1")


def test_with_the_index_a_new_event_costs_two_writes_and_nothing_else(
    fake: FakeKubeApi, indexed: WriteProtocol, sink: dict[str, Any]
) -> None:
    assert deliver(indexed, sink, EVENT, deadline=deadline()).outcome is Outcome.CREATED
    assert [(method, plural) for method, plural, _ in fake.calls] == [
        ("POST", "jobs"),
        ("POST", "secrets"),
    ]


def test_with_the_index_a_completed_duplicate_costs_no_call(
    fake: FakeKubeApi, indexed: WriteProtocol, index: JobIndex, sink: dict[str, Any]
) -> None:
    deliver(indexed, sink, EVENT, deadline=deadline())
    watch_sees(fake, index)
    calls = len(fake.calls)
    assert deliver(indexed, sink, EVENT, deadline=deadline()).outcome is Outcome.DUPLICATE
    assert len(fake.calls) == calls


def test_with_the_index_a_duplicate_completed_elsewhere_costs_one_read(
    fake: FakeKubeApi, protocol: WriteProtocol, indexed: WriteProtocol, index: JobIndex,
    sink: dict[str, Any],
) -> None:  # fmt: skip
    deliver(protocol, sink, EVENT, deadline=deadline())  # another receiver
    watch_sees(fake, index)
    calls = len(fake.calls)
    assert deliver(indexed, sink, EVENT, deadline=deadline()).outcome is Outcome.DUPLICATE
    assert [(m, p) for m, p, _ in fake.calls[calls:]] == [("GET", "secrets")]


def test_with_the_index_a_deleted_job_is_created_again(
    fake: FakeKubeApi, indexed: WriteProtocol, index: JobIndex, sink: dict[str, Any]
) -> None:
    deliver(indexed, sink, EVENT, deadline=deadline())
    watch_sees(fake, index)
    (job,) = fake.of("jobs")
    fake.handle("DELETE", f"/apis/batch/v1/namespaces/default/jobs/{job['metadata']['name']}", {})
    index.informer.apply(WatchEvent("DELETED", {"metadata": job["metadata"]}))
    assert deliver(indexed, sink, EVENT, deadline=deadline()).outcome is Outcome.CREATED
    assert_one_job_one_secret(fake)


def test_a_stale_index_only_costs_a_409(
    fake: FakeKubeApi, protocol: WriteProtocol, indexed: WriteProtocol, sink: dict[str, Any]
) -> None:
    deliver(protocol, sink, EVENT, deadline=deadline())  # the index has not seen this Job yet
    assert deliver(indexed, sink, EVENT, deadline=deadline()).outcome is Outcome.DUPLICATE
    assert_one_job_one_secret(fake)


def test_stranded_secret_is_replaced_never_adopted(
    caller: Any, sink: dict[str, Any], fake: FakeKubeApi
) -> None:
    fake.gc = False  # the garbage collector has not removed the old Job's Secret yet
    protocol = WriteProtocol(object_client.jobs(caller), object_client.secrets(caller))
    deliver(protocol, sink, EVENT, deadline=deadline())
    (old_job,) = fake.of("jobs")
    fake.handle(
        "DELETE", f"/apis/batch/v1/namespaces/default/jobs/{old_job['metadata']['name']}", {}
    )
    accepted = deliver(protocol, sink, EVENT, deadline=deadline())
    assert accepted.outcome is Outcome.CREATED
    assert_one_job_one_secret(fake)
    (new_job,) = fake.of("jobs")
    assert new_job["metadata"]["uid"] != old_job["metadata"]["uid"]


NOT_OURS = [
    pytest.param(
        lambda job: job["metadata"]["annotations"].update({"sinks.knative.dev/event-id": "other"}),
        EventConflict,
        id="job-of-another-event",
    ),
    pytest.param(
        lambda job: job["metadata"].update(deletionTimestamp="2026-01-01T00:00:00Z"),
        Busy,
        id="job-being-deleted",
    ),
    pytest.param(
        lambda job: job["metadata"]["ownerReferences"][0].update(uid="older-sink"),
        Busy,
        id="job-of-a-deleted-jobsink",
    ),
]


@pytest.mark.parametrize(("change", "error"), NOT_OURS)
def test_existing_job_that_is_not_ours_is_never_reported_as_done(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], change: Any, error: type
) -> None:
    deliver(protocol, sink, EVENT, deadline=deadline())
    (job,) = fake.of("jobs")
    change(job)
    (secret,) = fake.of("secrets")
    fake.handle("DELETE", f"/api/v1/namespaces/default/secrets/{secret['metadata']['name']}", {})
    with pytest.raises(error):
        deliver(protocol, sink, EVENT, deadline=deadline())
    assert fake.of("secrets") == []  # nothing attached to a Job that is not this event's


def test_deadline_stops_retrying(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any]
) -> None:
    fake.fail("POST", "jobs", status=429, times=1000, retry_after=5)
    with pytest.raises(KubeError) as caught:
        deliver(protocol, sink, EVENT, deadline=deadline(1.0))
    assert caught.value.status == 429
    assert caught.value.retry_after == 5  # passed on to the sender
    # A 5 s Retry-After does not fit in a 1 s deadline: one attempt, no pointless wait.
    assert [c for c in fake.calls if c[:2] == ("POST", "jobs")] == [("POST", "jobs", "")]


def test_with_the_index_a_completed_job_being_deleted_is_not_a_duplicate(
    fake: FakeKubeApi, indexed: WriteProtocol, index: JobIndex, sink: dict[str, Any]
) -> None:
    deliver(indexed, sink, EVENT, deadline=deadline())
    (job,) = fake.of("jobs")
    job["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    watch_sees(fake, index)
    with pytest.raises(Busy):
        deliver(indexed, sink, EVENT, deadline=deadline())


def test_an_index_that_may_have_missed_a_deletion_is_not_trusted(
    fake: FakeKubeApi, caller: Any, sink: dict[str, Any]
) -> None:
    """After a watch failure the index may still show a Job deleted meanwhile; answering
    "duplicate" from it would lose the event, so the protocol reads the apiserver until the
    watch is open again."""
    jobs = object_client.jobs(caller)
    source = FakeListWatch()
    index = JobIndex(jobs, source=source, max_backoff=0.05)
    protocol = WriteProtocol(jobs, object_client.secrets(caller), index)
    deliver(protocol, sink, EVENT, deadline=deadline())
    (job,) = fake.of("jobs")
    source.objects[("default", job["metadata"]["name"])] = {"metadata": job["metadata"]}
    index.start()
    try:
        wait_for(lambda: index.synced and source.watches, "index listed and watching")
        assert deliver(protocol, sink, EVENT, deadline=deadline()).outcome is Outcome.DUPLICATE
        source.watch_gate = threading.Event()
        source.feed.put(ConnectionResetError("cut"))
        wait_for(lambda: len(source.watches) == 2, "watch reopening")
        assert not index.synced
        fake.handle(
            "DELETE", f"/apis/batch/v1/namespaces/default/jobs/{job['metadata']['name']}", {}
        )
        assert deliver(protocol, sink, EVENT, deadline=deadline()).outcome is Outcome.CREATED
        assert_one_job_one_secret(fake)
        source.watch_gate.set()
        wait_for(lambda: index.synced, "trusted again once the watch is open")
    finally:
        index.stop()


@pytest.mark.parametrize(("change", "error"), NOT_OURS)
def test_with_the_index_a_completed_job_that_is_no_longer_ours_is_not_a_duplicate(
    fake: FakeKubeApi, indexed: WriteProtocol, index: JobIndex, sink: dict[str, Any],
    change: Any, error: type,
) -> None:  # fmt: skip
    """This process completed the event, and the index still shows a Job of its name with the
    same uid and its Secret: once the Job is not the event's any more, the index must not say
    "duplicate"."""
    deliver(indexed, sink, EVENT, deadline=deadline())
    (job,) = fake.of("jobs")
    change(job)
    watch_sees(fake, index)
    with pytest.raises(error):
        deliver(indexed, sink, EVENT, deadline=deadline())


def test_with_the_index_a_replaced_jobsink_does_not_take_over_the_old_job(
    fake: FakeKubeApi, indexed: WriteProtocol, index: JobIndex, sink: dict[str, Any]
) -> None:
    deliver(indexed, sink, EVENT, deadline=deadline())
    watch_sees(fake, index)
    sink["metadata"]["uid"] = "sink-uid-2"  # deleted and created again under the same name
    with pytest.raises(Busy):
        deliver(indexed, sink, EVENT, deadline=deadline())


@pytest.fixture
def full_index(caller: Any) -> JobIndex:
    """An index past its bound: it holds one Job that is not this event's and no room."""
    built = JobIndex(object_client.jobs(caller), max_entries=1)
    other = {"metadata": {"namespace": "default", "name": "other", "uid": "u"}}
    built.informer.replace([other, {"metadata": {"namespace": "default", "name": "x"}}], "1")
    assert built.bounded
    return built


def test_past_its_bound_the_index_sends_a_duplicate_to_the_apiserver(
    fake: FakeKubeApi, protocol: WriteProtocol, caller: Any, full_index: JobIndex,
    sink: dict[str, Any],
) -> None:  # fmt: skip
    deliver(protocol, sink, EVENT, deadline=deadline())  # a Job the index has no room for
    bounded = WriteProtocol(object_client.jobs(caller), object_client.secrets(caller), full_index)
    calls = len(fake.calls)
    assert deliver(bounded, sink, EVENT, deadline=deadline()).outcome is Outcome.DUPLICATE
    assert [(m, p) for m, p, _ in fake.calls[calls:]] == [("GET", "jobs"), ("GET", "secrets")]
    assert_one_job_one_secret(fake)


def test_past_its_bound_the_index_still_lets_a_new_event_through(
    fake: FakeKubeApi, caller: Any, full_index: JobIndex, sink: dict[str, Any]
) -> None:
    bounded = WriteProtocol(object_client.jobs(caller), object_client.secrets(caller), full_index)
    assert deliver(bounded, sink, EVENT, deadline=deadline()).outcome is Outcome.CREATED
    assert [(m, p) for m, p, _ in fake.calls] == [
        ("GET", "jobs"),  # not indexed: it may exist
        ("POST", "jobs"),
        ("POST", "secrets"),
    ]
    assert_one_job_one_secret(fake)
