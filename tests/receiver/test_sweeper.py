"""The sweeper deletes Jobs whose Secret never arrived, and nothing else."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from jobsink.event import CloudEvent
from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.metrics import Metrics
from receiver.protocol import Busy, Outcome, WriteProtocol
from receiver.sweeper import SecretOwners, Sweeper
from tests.receiver.blocking import deliver
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.figures import figure
from tests.receiver.test_protocol import EVENT, assert_one_job_one_secret


def later() -> datetime:
    """Well past the sweeper's grace period. Computed per call: a module-level constant would
    age while the rest of a long test session runs, until it no longer is "later"."""
    return datetime.now(UTC) + timedelta(minutes=10)


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def sweeper(caller: Caller, metrics: Metrics) -> Sweeper:
    return Sweeper(
        object_client.jobs(caller),
        object_client.secrets(caller),
        interval=60,
        grace=300,
        metrics=metrics,
    )


def secretless_job(fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any]) -> str:
    # A refusal that is not retried: the delivery stops at once, however slow the machine (a
    # retried 500 needed a deadline short enough to stop the retries, and a loaded machine could
    # reach it before the Job was even created).
    fake.fail("POST", "secrets", status=403, times=1)
    with pytest.raises(Exception, match="403"):
        deliver(protocol, sink, EVENT, deadline=time.monotonic() + 30)
    fake.faults.clear()
    (job,) = fake.of("jobs")
    return str(job["metadata"]["name"])


def test_a_job_without_secret_is_swept_after_the_grace_period(
    fake: FakeKubeApi,
    protocol: WriteProtocol,
    sink: dict[str, Any],
    sweeper: Sweeper,
    metrics: Metrics,
) -> None:
    name = secretless_job(fake, protocol, sink)
    assert sweeper.sweep() == []  # still within the grace period: a redelivery may complete it
    assert figure(metrics, "jobsink_jobs_swept_total") == 0
    assert sweeper.sweep(now=later()) == [("default", name)]
    assert fake.of("jobs") == []
    assert figure(metrics, "jobsink_jobs_swept_total") == 1


def test_complete_pairs_are_never_swept(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3)
    assert sweeper.sweep(now=later()) == []
    assert len(fake.of("jobs")) == 1


def test_a_redelivery_before_the_sweep_saves_the_job(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    secretless_job(fake, protocol, sink)
    deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3)
    assert sweeper.sweep(now=later()) == []
    assert len(fake.of("secrets")) == 1


def test_a_job_whose_secret_belongs_to_an_older_job_is_swept(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3)
    (secret,) = fake.of("secrets")
    secret["metadata"]["ownerReferences"][0]["uid"] = "an-older-job"
    (job,) = fake.of("jobs")
    assert sweeper.sweep(now=later()) == [("default", job["metadata"]["name"])]


def test_a_redelivery_between_the_sweepers_check_and_its_delete_keeps_the_job(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    """The sweeper found no Secret; before its DELETE lands, a redelivery stores the event and
    annotates the Job. The DELETE's resourceVersion precondition then fails: the Job stays."""
    secretless_job(fake, protocol, sink)
    held = threading.Event()
    fake.fail("DELETE", "jobs", hold=held)
    swept: list[list[tuple[str, str]]] = []
    sweeping = threading.Thread(target=lambda: swept.append(sweeper.sweep(now=later())))
    sweeping.start()
    while not any(call[0] == "DELETE" for call in fake.calls):
        time.sleep(0.01)  # the sweeper has judged the Job orphaned and sent its DELETE
    accepted = deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3)
    held.set()
    sweeping.join(5)
    assert accepted.outcome is Outcome.COMPLETED
    assert swept == [[]]
    assert_one_job_one_secret(fake)


def test_when_the_sweeper_wins_the_redelivery_is_told_to_retry_and_then_succeeds(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], caller: Caller
) -> None:
    """The sweeper's DELETE lands after the redelivery stored the Secret but before it confirmed
    the Job: the confirmation finds the Job gone, so the sender gets 503 (never a 202 for a Job
    that is going away), and its retry creates a new Job with its Secret."""
    secretless_job(fake, protocol, sink)
    (job,) = fake.of("jobs")
    meta = job["metadata"]
    held = threading.Event()
    fake.fail("PATCH", "jobs", hold=held)
    result: list[object] = []

    def redeliver() -> None:
        try:
            result.append(deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3))
        except Busy as busy:
            result.append(busy)

    delivering = threading.Thread(target=redeliver)
    delivering.start()
    while not any(call[0] == "PATCH" for call in fake.calls):
        time.sleep(0.01)  # Secret written, confirmation in flight
    version = meta["resourceVersion"]
    assert object_client.jobs(caller).delete(  # what the sweeper sends, with the version it saw
        "default",
        meta["name"],
        uid=meta["uid"],
        resource_version=version,
        deadline=time.monotonic() + 10,
    )
    held.set()
    delivering.join(5)
    assert len(result) == 1
    assert isinstance(result[0], Busy)
    assert deliver(protocol, sink, EVENT, deadline=time.monotonic() + 3).outcome is Outcome.CREATED
    assert_one_job_one_secret(fake)


def test_an_unexpected_error_does_not_end_the_sweeper(
    sweeper: Sweeper, monkeypatch: pytest.MonkeyPatch
) -> None:
    passes: list[int] = []
    second = threading.Event()

    def sweep(now: datetime | None = None) -> list[tuple[str, str]]:
        passes.append(1)
        if len(passes) == 1:
            raise KeyError("creationTimestamp")
        second.set()
        return []

    monkeypatch.setattr(sweeper, "sweep", sweep)
    monkeypatch.setattr(sweeper, "_interval", 0.01)
    sweeper.start()
    try:
        assert second.wait(10), "the sweeper thread died with the first pass's error"
    finally:
        sweeper.stop()


def meta(namespace: str, name: str, uid: str = "", owner: str = "") -> dict[str, Any]:
    refs = [{"kind": "Job", "uid": owner}] if owner else []
    return {"namespace": namespace, "name": name, "uid": uid, "ownerReferences": refs}


@pytest.mark.parametrize(
    ("secrets", "jobs", "owned", "out_of_order"),
    [
        pytest.param([], [meta("a", "j", "1")], [False], False, id="no-secrets"),
        pytest.param([meta("a", "j", owner="1")], [meta("a", "j", "1")], [True], False, id="owned"),
        pytest.param(
            [meta("a", "j", owner="0")], [meta("a", "j", "1")], [False], False, id="older-job"
        ),
        pytest.param(
            [meta("a", "j1", owner="1"), meta("a", "j3", owner="3")],
            [meta("a", "j1", "1"), meta("a", "j2", "2"), meta("a", "j3", "3")],
            [True, False, True],
            False,
            id="a-gap-in-the-middle",
        ),
        pytest.param(
            [meta("a", "j0", owner="x"), meta("a", "j2", owner="2"), meta("b", "j", owner="y")],
            [meta("a", "j1", "1"), meta("a", "j2", "2")],
            [False, True],
            False,
            id="secrets-without-jobs-around",
        ),
        pytest.param(
            # The storage key order: "a-b/..." sorts before "a/..." ("-" < "/").
            [meta("a-b", "j", owner="2"), meta("a", "j", owner="1")],
            [meta("a-b", "j", "2"), meta("a", "j", "1")],
            [True, True],
            False,
            id="namespace-prefixes-in-key-order",
        ),
        pytest.param(
            [meta("a", "j1", owner="1"), meta("a", "j2", owner="2")],
            [meta("a", "j2", "2"), meta("a", "j1", "1")],
            [True, False],
            True,
            id="jobs-out-of-order",
        ),
    ],
)
def test_secret_owners_walks_both_lists_in_key_order(
    secrets: list[dict[str, Any]], jobs: list[dict[str, Any]], owned: list[bool],
    out_of_order: bool,
) -> None:  # fmt: skip
    owners = SecretOwners({"metadata": secret} for secret in secrets)
    assert [owners.owns(job) for job in jobs] == owned
    assert owners.out_of_order is out_of_order


def test_a_sweep_pages_through_jobs_and_secrets(
    fake: FakeKubeApi, protocol: WriteProtocol, caller: Caller, sink: dict[str, Any]
) -> None:
    events = [
        CloudEvent.from_attributes(
            {"specversion": "1.0", "id": str(i), "source": "s", "type": "t"}, None
        )
        for i in range(12)
    ]
    for event in events:
        deliver(protocol, sink, event, deadline=time.monotonic() + 3)
    orphans = []
    for secret in fake.of("secrets")[::4]:  # a failure between the two writes, three times
        name = secret["metadata"]["name"]
        fake.handle("DELETE", f"/api/v1/namespaces/default/secrets/{name}", {})
        orphans.append(("default", name))
    sweeper = Sweeper(
        object_client.jobs(caller), object_client.secrets(caller), interval=60, grace=300,
        page_size=5,
    )  # fmt: skip
    before = len(fake.calls)
    assert sorted(sweeper.sweep(now=later())) == sorted(orphans)
    calls = fake.calls[before:]
    lists = [query for method, _, query in calls if method == "GET" and "limit=5" in query]
    assert len(lists) == 3 + 2  # 12 Jobs, then 9 Secrets, 5 a page
    reads = [call for call in calls if call[0] == "GET" and "limit" not in call[2]]
    assert len(reads) == len(orphans), "a live read for each orphan, none for the others"
    assert len(fake.of("jobs")) == len(fake.of("secrets")) == 9
