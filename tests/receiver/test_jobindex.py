"""The Job index: what it keeps of a Job, what it answers, its bound, and what an entry costs.

The index runs on a FAKE list/watch source here (pages, events and faults on demand); against the
real apiserver it is exercised in tests/e2e/test_job_index.py."""

from __future__ import annotations

import copy
import itertools
import logging
import threading
import tracemalloc
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from jobsink.event import CloudEvent
from jobsink.render import render
from kubeapi import object_client
from kubeapi.calls import Caller
from receiver.app import build
from receiver.jobdigest import Claim, fingerprint, uid_digest
from receiver.jobindex import JobDigests, JobIndex, Seen
from receiver.settings import IndexSettings, Settings, StatusSettings
from tests.kubeapi.fake_source import FakeListWatch, wait_for
from tests.receiver.conftest import SINK

EVENT = CloudEvent.from_attributes(
    {"specversion": "1.0", "id": "42", "source": "my/source", "type": "t"}, None
)


def job_of(event: CloudEvent = EVENT, uid: str = "job-uid-1", **meta: Any) -> dict[str, Any]:
    """A Job as the receiver creates it and the metadata watch shows it."""
    rendered = render(copy.deepcopy(SINK), event)
    metadata = {**rendered.job["metadata"], "uid": uid, "resourceVersion": "7", **meta}
    return {"kind": "PartialObjectMetadata", "metadata": metadata}


def claim_of(event: CloudEvent = EVENT, sink_uid: str = "sink-uid-1") -> Claim:
    name = job_of(event)["metadata"]["name"]
    return Claim(SINK["metadata"]["name"], sink_uid, name, event.source, event.id)


def changed(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    job = job_of()
    change(job["metadata"])
    return job


@pytest.mark.parametrize(
    ("job", "claim", "matches"),
    [
        pytest.param(job_of(), claim_of(), True, id="the-events-job"),
        pytest.param(
            changed(lambda m: m["annotations"].update({"sinks.knative.dev/event-id": "43"})),
            claim_of(),
            False,
            id="another-event-id",
        ),
        pytest.param(
            changed(lambda m: m["annotations"].update({"sinks.knative.dev/event-source": "x"})),
            claim_of(),
            False,
            id="another-source",
        ),
        pytest.param(
            changed(lambda m: m["labels"].update({"sinks.knative.dev/job-sink-name": "other"})),
            claim_of(),
            False,
            id="another-sink",
        ),
        pytest.param(
            changed(lambda m: m["labels"].update({"sinks.knative.dev/job-sink-id": "other"})),
            claim_of(),
            False,
            id="another-sink-id",
        ),
        pytest.param(
            changed(lambda m: m.update(deletionTimestamp="2026-01-01T00:00:00Z")),
            claim_of(),
            False,
            id="being-deleted",
        ),
        pytest.param(job_of(), claim_of(sink_uid="sink-uid-2"), False, id="jobsink-replaced"),
        pytest.param(
            changed(lambda m: m["ownerReferences"].append({"uid": "someone-else"})),
            claim_of(),
            False,
            id="a-second-owner",
        ),
        pytest.param(changed(lambda m: m.pop("labels")), claim_of(), False, id="no-labels"),
        pytest.param(
            changed(lambda m: m.pop("annotations")), claim_of(), False, id="no-annotations"
        ),
    ],
)
def test_a_fingerprint_matches_only_the_claim_of_its_own_event(
    job: dict[str, Any], claim: Claim, matches: bool
) -> None:
    assert claim.matches(fingerprint(job["metadata"])) is matches


@pytest.mark.parametrize(
    ("uid", "matches"),
    [
        pytest.param("job-uid-1", True, id="same-uid"),
        pytest.param("job-uid-2", False, id="a-newer-job-of-the-same-name"),
    ],
)
def test_a_fingerprint_tells_the_uid(uid: str, matches: bool) -> None:
    assert claim_of().matches(fingerprint(job_of()["metadata"]), uid_digest(uid)) is matches


@pytest.fixture
def source() -> FakeListWatch:
    return FakeListWatch()


@pytest.fixture
def make_index(caller: Caller, source: FakeListWatch) -> Iterator[Callable[..., JobIndex]]:
    started: list[JobIndex] = []

    def make(**options: Any) -> JobIndex:
        index = JobIndex(object_client.jobs(caller), source=source, max_backoff=0.05, **options)
        index.start()
        started.append(index)
        wait_for(lambda: index.synced and source.watches, "index listed and watching")
        return index

    yield make
    for index in started:
        index.stop()


BOOKMARKS = itertools.count(1000)


def applied(source: FakeListWatch, index: JobIndex) -> None:
    """Wait until the index has applied every event sent so far."""
    version = str(next(BOOKMARKS))
    source.send("BOOKMARK", {"metadata": {"resourceVersion": version}})
    wait_for(lambda: index.informer.resource_version == version, "events applied")


def put(source: FakeListWatch, job: dict[str, Any]) -> None:
    meta = job["metadata"]
    source.objects[(meta["namespace"], meta["name"])] = job


def named(i: int, **meta: Any) -> dict[str, Any]:
    return job_of(
        CloudEvent.from_attributes(
            {"specversion": "1.0", "id": str(i), "source": "s", "type": "t"}, None
        ),
        uid=f"uid-{i}",
        **meta,
    )


def test_what_the_index_says(make_index: Callable[..., JobIndex], source: FakeListWatch) -> None:
    put(source, job_of())
    index = make_index()
    name = job_of()["metadata"]["name"]
    other = Claim(SINK["metadata"]["name"], "sink-uid-1", name, EVENT.source, "another-id")
    assert index.seen("default", name, claim_of()) is Seen.CLAIMED
    assert index.seen("default", name, other) is Seen.OTHER
    assert index.seen("default", "absent", claim_of()) is Seen.NO_JOB
    assert index.shows("default", name, claim_of(), "job-uid-1")
    assert not index.shows("default", name, claim_of(), "job-uid-2")
    source.send("DELETED", job_of())
    applied(source, index)
    assert index.seen("default", name, claim_of()) is Seen.NO_JOB


def test_an_index_that_may_miss_a_change_knows_nothing(
    make_index: Callable[..., JobIndex], source: FakeListWatch
) -> None:
    put(source, job_of())
    index = make_index()
    name = job_of()["metadata"]["name"]
    index.mark_completed("default", name, "job-uid-1")
    assert index.completed("default", name, claim_of())
    source.watch_gate = threading.Event()
    source.feed.put(ConnectionResetError("cut"))
    wait_for(lambda: len(source.watches) == 2, "watch reopening")
    assert index.seen("default", name, claim_of()) is Seen.UNKNOWN
    assert index.seen("default", "absent", claim_of()) is Seen.UNKNOWN
    assert not index.completed("default", name, claim_of())
    source.watch_gate.set()


def test_completed_events_are_bounded(
    make_index: Callable[..., JobIndex], source: FakeListWatch
) -> None:
    jobs = [named(i) for i in range(10)]
    for job in jobs:
        put(source, job)
    index = make_index(completed_size=3)
    for job in jobs:
        index.mark_completed("default", job["metadata"]["name"], job["metadata"]["uid"])
    claims = [
        Claim(SINK["metadata"]["name"], "sink-uid-1", job["metadata"]["name"], "s", str(i))
        for i, job in enumerate(jobs)
    ]
    assert [
        index.completed("default", job["metadata"]["name"], claim)
        for job, claim in zip(jobs, claims, strict=True)
    ] == [False] * 7 + [True] * 3


def test_past_its_bound_the_index_keeps_what_it_holds_and_knows_nothing_else(
    make_index: Callable[..., JobIndex], source: FakeListWatch, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(5):
        put(source, named(i))
    with caplog.at_level(logging.WARNING, logger="receiver.jobindex"):
        index = make_index(max_entries=3)
        source.send("ADDED", named(5))
        source.send("ADDED", named(6))
        applied(source, index)
    assert index.bounded
    assert len(index) == 3
    assert len([r for r in caplog.records if "full at 3 entries" in r.message]) == 1, "once"
    seen = [index.seen("default", named(i)["metadata"]["name"], claim_for(i)) for i in range(7)]
    assert seen.count(Seen.CLAIMED) == 3
    assert seen.count(Seen.UNKNOWN) == 4  # not "no Job": there may be one
    held = next(i for i in range(7) if seen[i] is Seen.CLAIMED)
    source.send("MODIFIED", named(held, deletionTimestamp="2026-01-01T00:00:00Z"))
    wait_for(
        lambda: (
            index.seen("default", named(held)["metadata"]["name"], claim_for(held)) is Seen.OTHER
        ),
        "a held Job is still followed",
    )


def claim_for(i: int) -> Claim:
    return Claim(SINK["metadata"]["name"], "sink-uid-1", named(i)["metadata"]["name"], "s", str(i))


def test_a_bounded_index_lists_again_once_deletions_make_room(
    make_index: Callable[..., JobIndex], source: FakeListWatch
) -> None:
    jobs = [named(i) for i in range(12)]
    for job in jobs:
        put(source, job)
    index = make_index(max_entries=10)
    assert index.bounded
    assert source.lists == 1
    for job in jobs[:3]:  # the cluster deletes three of the ten the index holds
        del source.objects[("default", job["metadata"]["name"])]
        source.send("DELETED", job)
    wait_for(lambda: source.lists == 2 and index.synced, "listed again")
    assert not index.bounded
    assert len(index) == 9
    assert all(
        index.seen("default", named(i)["metadata"]["name"], claim_for(i)) is Seen.CLAIMED
        for i in range(3, 12)
    )


BYTES_PER_ENTRY = 300
"""The goal: a million Jobs in well under 512 MiB of index."""


def test_an_entry_costs_less_than_300_bytes() -> None:
    """Memory traced for 100,000 Jobs put in the store (what the list does), over their number.
    docs/benchmarks.md has the RSS figure, measured against a real apiserver."""
    count = 100_000
    template = job_of()["metadata"]
    jobs = (
        {"metadata": {**template, "name": f"sink-{i:026d}", "uid": f"{i:036d}"}}
        for i in range(count)
    )
    store = JobDigests(count, relist=lambda: None)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        store.replace(jobs)
        per_entry = (tracemalloc.get_traced_memory()[0] - before) / count
    finally:
        tracemalloc.stop()
    assert len(store) == count
    assert per_entry < BYTES_PER_ENTRY, f"{per_entry:.0f} bytes per entry"


def test_the_receiver_takes_the_bound_from_its_settings(fake_client: Any) -> None:
    settings = Settings(index=IndexSettings(max_entries=5), status=StatusSettings(enabled=False))
    _plane, background = build(settings, fake_client)
    (index,) = [part for part in background if isinstance(part, JobIndex)]
    assert index.digests.max_entries == 5
