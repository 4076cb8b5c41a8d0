"""The JobSink cache against a fault-injecting FAKE of the JobSink API (real one: tests/e2e).

The list/watch loop itself is the informer's (tests/kubeapi/test_informer.py); these tests are
about what the cache adds: live GETs on a miss, remembered answers, listeners, slimmed objects.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any, cast

import pytest
from kubernetes.client.exceptions import ApiException

from kubeapi.errors import Gone
from kubeapi.jobsinks import JobSinks
from kubeapi.watch import WatchEvent
from receiver.controller.sinks import Key, SinkCache
from receiver.metrics import Metrics
from tests.kubeapi.fake_source import END, FakeListWatch, wait_for
from tests.kubeapi.fake_source import obj as sink
from tests.receiver.figures import figure


class FakeJobSinks(FakeListWatch):
    """The FAKE list/watch source plus the live GET of ``kubeapi.jobsinks.JobSinks``."""

    def __init__(self, *objects: dict[str, Any]) -> None:
        super().__init__(*objects)
        self.gets = 0
        self.get_gate: threading.Event | None = None
        self.get_error: BaseException | None = None

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        self.gets += 1
        if self.get_gate is not None:
            self.get_gate.wait(5)
        if self.get_error is not None:
            raise self.get_error
        return self.objects.get((namespace, name))


def cache_over(api: FakeJobSinks, **options: Any) -> SinkCache:
    return SinkCache(cast(Any, None), jobsinks=cast(JobSinks, api), source=api, **options)


@pytest.fixture
def api() -> FakeJobSinks:
    return FakeJobSinks(sink("a", 1), sink("b", 2, namespace="other"))


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def cache(api: FakeJobSinks, metrics: Metrics) -> Iterator[SinkCache]:
    started = cache_over(api, missing_ttl=60.0, found_ttl=60.0, metrics=metrics)
    started.start()
    assert started.wait_synced(10)
    yield started
    started.stop()


def test_lists_then_serves_from_memory(
    cache: SinkCache, api: FakeJobSinks, metrics: Metrics
) -> None:
    assert cache.synced
    assert len(cache) == 2
    assert figure(metrics, "jobsink_sink_cache_objects") == 2
    assert cache.get("default", "a") == sink("a", 1)
    assert cache.cached("other", "b") == sink("b", 2, namespace="other")
    assert api.gets == 0
    wait_for(lambda: api.watches == ["100"], "watch from the listed resourceVersion")


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        pytest.param([("ADDED", sink("c", 101))], {"a", "b", "c"}, id="added"),
        pytest.param([("MODIFIED", sink("a", 101))], {"a", "b"}, id="modified"),
        pytest.param([("DELETED", sink("a", 101))], {"b"}, id="deleted"),
        pytest.param(
            [("ADDED", sink("c", 101)), ("DELETED", sink("c", 102))], {"a", "b"}, id="added-deleted"
        ),
    ],
)
def test_watch_events_update_the_store(
    cache: SinkCache,
    api: FakeJobSinks,
    events: list[tuple[str, dict[str, Any]]],
    expected: set[str],
) -> None:
    for kind, obj in events:
        api.send(kind, obj)
    last = events[-1][1]["metadata"]["resourceVersion"]
    wait_for(lambda: cache.resource_version == last, "events applied")
    assert {name for _, name in cache.sink_keys()} == expected
    if events[-1][0] == "MODIFIED":
        assert cache.cached("default", "a") == sink("a", 101)


def test_bookmark_moves_resource_version_only(cache: SinkCache, api: FakeJobSinks) -> None:
    api.feed.put(WatchEvent("BOOKMARK", {"metadata": {"resourceVersion": "150"}}))
    wait_for(lambda: cache.resource_version == "150", "bookmark seen")
    assert len(cache) == 2


def test_watch_error_resumes_from_last_resource_version(
    cache: SinkCache, api: FakeJobSinks, metrics: Metrics
) -> None:
    api.send("ADDED", sink("c", 120))
    api.feed.put(ConnectionResetError("peer went away"))
    wait_for(lambda: len(api.watches) == 2, "watch reopened")
    assert api.watches == ["100", "120"]
    assert api.lists == 1
    assert figure(metrics, "jobsink_sink_cache_restarts_total", reason="watch_error") == 1
    assert figure(metrics, "jobsink_sink_cache_objects") == 3


def test_server_timeout_rewatches_without_listing(cache: SinkCache, api: FakeJobSinks) -> None:
    api.send("ADDED", sink("c", 130))
    api.feed.put(END)
    wait_for(lambda: len(api.watches) == 2, "watch reopened")
    assert api.watches == ["100", "130"]
    assert api.lists == 1


def test_gone_relists_and_drops_what_vanished(
    cache: SinkCache, api: FakeJobSinks, metrics: Metrics
) -> None:
    del api.objects[("default", "a")]
    api.objects[("default", "d")] = sink("d", 190)
    api.list_rv = "200"
    api.feed.put(Gone(410, "Expired", "too old"))
    wait_for(lambda: api.lists == 2 and cache.resource_version == "200", "re-listed")
    assert {name for _, name in cache.sink_keys()} == {"b", "d"}
    wait_for(lambda: api.watches[-1] == "200", "watch from the new list")
    assert figure(metrics, "jobsink_sink_cache_restarts_total", reason="gone") == 1


def test_list_failure_retries_before_sync() -> None:
    api, metrics = FakeJobSinks(sink("a", 1)), Metrics()
    api.list_failures = [ApiException(status=503, reason="unavailable")]
    cache = cache_over(api, metrics=metrics)
    cache.start()
    try:
        assert cache.wait_synced(10)
        assert api.lists == 2
        assert figure(metrics, "jobsink_sink_cache_restarts_total", reason="list_error") == 1
        assert cache.cached("default", "a") is not None
    finally:
        cache.stop()


def test_lookups_are_counted_by_where_the_answer_came_from(
    cache: SinkCache, api: FakeJobSinks, metrics: Metrics
) -> None:
    api.objects[("default", "new")] = sink("new", 300)
    lookups = [
        ("default", "a"),  # hit
        ("default", "new"),  # fetched
        ("default", "new"),  # remembered
        ("default", "absent"),  # missing
        ("default", "absent"),  # remembered
    ]
    for key in lookups:
        cache.get(*key)
    assert cache.cached("other", "b") is not None  # hit
    assert cache.watched("other", "b") is not None  # the reconciler's read: not a lookup
    counted = {
        result: figure(metrics, "jobsink_sink_cache_lookups_total", result=result)
        for result in ("hit", "fetched", "missing", "remembered")
    }
    assert counted == {"hit": 2, "fetched": 1, "missing": 1, "remembered": 2}


def test_not_synced_before_first_list() -> None:
    cache = cache_over(FakeJobSinks())
    assert not cache.synced
    assert not cache.wait_synced(0)


def test_miss_does_a_live_get(cache: SinkCache, api: FakeJobSinks) -> None:
    api.objects[("default", "new")] = sink("new", 300)
    assert cache.get("default", "new") == sink("new", 300)
    assert cache.get("default", "new") == sink("new", 300)
    assert api.gets == 1, "the answer is remembered"
    assert cache.cached("default", "new") is None, "the watch store is not written by a GET"


def test_not_found_is_remembered_until_the_watch_speaks(
    cache: SinkCache, api: FakeJobSinks
) -> None:
    assert cache.get("default", "late") is None
    assert cache.get("default", "late") is None
    assert api.gets == 1
    api.objects[("default", "late")] = sink("late", 310)
    api.send("ADDED", sink("late", 310))
    wait_for(lambda: cache.cached("default", "late") is not None, "watch delivered")
    assert cache.get("default", "late") == sink("late", 310)


def test_deleted_sink_is_forgotten_by_the_watch(cache: SinkCache, api: FakeJobSinks) -> None:
    api.objects[("default", "brief")] = sink("brief", 320)
    assert cache.get("default", "brief") is not None
    del api.objects[("default", "brief")]
    api.send("DELETED", sink("brief", 321))
    wait_for(lambda: cache.resource_version == "321", "delete applied")
    assert cache.get("default", "brief") is None
    assert api.gets == 2, "the remembered GET answer was dropped by the watch event"


def test_answers_expire() -> None:
    api = FakeJobSinks()
    cache = cache_over(api, missing_ttl=0.0)
    assert cache.get("default", "x") is None
    assert cache.get("default", "x") is None
    assert api.gets == 2


def test_get_during_watch_change_is_not_remembered(cache: SinkCache, api: FakeJobSinks) -> None:
    """A GET that raced a watch event may be stale (say, a delete), so it is not kept."""
    api.objects[("default", "racy")] = sink("racy", 330)
    api.get_gate = threading.Event()
    answer: list[object] = []
    reader = threading.Thread(target=lambda: answer.append(cache.get("default", "racy")))
    reader.start()
    wait_for(lambda: api.gets == 1, "GET in flight")
    api.send("DELETED", sink("other-key", 331))
    wait_for(lambda: cache.resource_version == "331", "event applied")
    api.get_gate.set()
    reader.join(5)
    assert answer == [sink("racy", 330)]
    api.get_gate = None
    cache.get("default", "racy")
    assert api.gets == 2


def test_concurrent_misses_share_one_get(cache: SinkCache, api: FakeJobSinks) -> None:
    api.objects[("default", "hot")] = sink("hot", 340)
    api.get_gate = threading.Event()
    answers: list[object] = []
    readers = [
        threading.Thread(target=lambda: answers.append(cache.get("default", "hot")))
        for _ in range(20)
    ]
    for reader in readers:
        reader.start()
    wait_for(lambda: api.gets == 1, "first GET in flight")
    time.sleep(0.05)  # let the other readers queue up behind it
    api.get_gate.set()
    for reader in readers:
        reader.join(5)
    assert answers == [sink("hot", 340)] * 20
    assert api.gets == 1


@pytest.mark.parametrize(
    "error",
    [
        pytest.param(ApiException(status=500, reason="boom"), id="server-error"),
        pytest.param(TimeoutError("slow"), id="timeout"),
    ],
)
def test_get_errors_propagate_and_are_not_remembered(
    cache: SinkCache, api: FakeJobSinks, error: BaseException
) -> None:
    api.get_error = error
    with pytest.raises(type(error)):
        cache.get("default", "unknown")
    api.get_error = None
    assert cache.get("default", "unknown") is None
    assert api.gets == 2


def test_listeners_hear_lists_and_changes(api: FakeJobSinks) -> None:
    heard: list[Key] = []
    cache = cache_over(api)

    def flaky(key: Key) -> None:
        raise RuntimeError("listener bug")

    cache.subscribe(flaky)
    cache.subscribe(heard.append)
    cache.start()
    try:
        assert cache.wait_synced(10)
        wait_for(lambda: len(heard) == 2, "list announced")
        api.send("DELETED", sink("a", 101))
        wait_for(lambda: len(heard) == 3, "delete announced")
        assert sorted(heard[:2]) == [("default", "a"), ("other", "b")]
        assert heard[2] == ("default", "a")
    finally:
        cache.stop()


def test_stop_ends_the_watch_thread(api: FakeJobSinks) -> None:
    cache = cache_over(api)
    cache.start()
    assert cache.wait_synced(10)
    wait_for(lambda: api.watches, "watching")
    cache.stop()
    assert not any(t.name == "jobsink-cache" for t in threading.enumerate())


def test_managed_fields_are_not_kept(api: FakeJobSinks) -> None:
    bulky = sink("bulky", 5)
    bulky["metadata"]["managedFields"] = [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]
    api.objects[("default", "bulky")] = bulky
    cache = cache_over(api)
    assert cache.get("default", "bulky") == sink("bulky", 5), "live GET"
    cache.start()
    try:
        assert cache.wait_synced(10)
        assert cache.cached("default", "bulky") == sink("bulky", 5), "list"
        api.send("MODIFIED", {**bulky, "metadata": {**bulky["metadata"], "resourceVersion": "6"}})
        wait_for(lambda: cache.resource_version == "6", "watch event applied")
        assert cache.cached("default", "bulky") == sink("bulky", 6), "watch"
    finally:
        cache.stop()


def test_stop_while_the_watch_is_opening(api: FakeJobSinks) -> None:
    api.watch_gate = threading.Event()
    cache = cache_over(api)
    cache.start()
    wait_for(lambda: api.watches, "watch opening")
    stopper = threading.Thread(target=cache.stop, kwargs={"timeout": 10})
    stopper.start()
    wait_for(lambda: cache.informer.stopping.is_set(), "stop asked")
    api.watch_gate.set()  # the watch opens only now, after stop() found nothing to close
    stopper.join(10)
    assert not stopper.is_alive()
    assert not any(t.name == "jobsink-cache" for t in threading.enumerate())
