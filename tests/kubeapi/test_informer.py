"""The informer's list/watch loop against a FAKE list/watch source (the real apiserver: e2e)."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from kubeapi.errors import Gone, NoAnswer, ServerError
from kubeapi.informer import Handlers, Informer, key_of
from kubeapi.watch import WatchEvent
from tests.kubeapi.fake_source import END, FakeListWatch, obj, wait_for


class Recorder:
    """Handlers that write down what they heard, as ("added", name) and so on."""

    def __init__(self) -> None:
        self.heard: list[tuple[str, str]] = []
        self.handlers = Handlers(
            on_added=lambda o: self.heard.append(("added", key_of(o)[1])),
            on_modified=lambda old, new: self.heard.append(("modified", key_of(new)[1])),
            on_deleted=lambda o: self.heard.append(("deleted", key_of(o)[1])),
            on_listed=lambda: self.heard.append(("listed", "")),
        )


def informer_for(source: FakeListWatch, **options: Any) -> Informer:
    options.setdefault("base_backoff", 0.01)
    options.setdefault("max_backoff", 0.05)
    return Informer(source, name="test-informer", **options)


@pytest.fixture
def source() -> FakeListWatch:
    return FakeListWatch(obj("a", 1), obj("b", 2, namespace="other"))


@pytest.fixture
def restarts() -> list[str]:
    return []


@pytest.fixture
def running(source: FakeListWatch, restarts: list[str]) -> Iterator[Informer]:
    informer = informer_for(source, on_restart=restarts.append)
    informer.start()
    assert informer.wait_synced(10)
    wait_for(lambda: source.watches, "watching")
    yield informer
    informer.stop()


def test_lists_in_pages_then_watches_from_the_list(source: FakeListWatch) -> None:
    for i in range(5):
        source.objects[("default", f"p{i}")] = obj(f"p{i}", 10 + i)
    informer = informer_for(source, page_size=3)
    informer.start()
    try:
        assert informer.wait_synced(10)
        assert len(informer) == 7
        assert source.pages == [(3, ""), (3, "3"), (3, "6")]
        wait_for(lambda: source.watches == ["100"], "watch from the list's resourceVersion")
        assert informer.current
    finally:
        informer.stop()


@pytest.mark.parametrize(
    ("events", "names", "heard"),
    [
        pytest.param([("ADDED", obj("c", 101))], {"a", "b", "c"}, [("added", "c")], id="add"),
        pytest.param([("MODIFIED", obj("a", 101))], {"a", "b"}, [("modified", "a")], id="modify"),
        pytest.param([("DELETED", obj("a", 101))], {"b"}, [("deleted", "a")], id="delete"),
        pytest.param(
            [("ADDED", obj("c", 101)), ("DELETED", obj("c", 102))],
            {"a", "b"},
            [("added", "c"), ("deleted", "c")],
            id="add-delete",
        ),
        pytest.param(
            [("BOOKMARK", {"metadata": {"resourceVersion": "150"}})], {"a", "b"}, [], id="bookmark"
        ),
    ],
)
def test_events_change_the_store_and_are_told(
    source: FakeListWatch, events: list[tuple[Any, dict[str, Any]]], names: set[str],
    heard: list[tuple[str, str]],
) -> None:  # fmt: skip
    recorder = Recorder()
    informer = informer_for(source)
    informer.add_handlers(recorder.handlers)
    informer.start()
    try:
        assert informer.wait_synced(10)
        for kind, item in events:
            source.send(kind, item)
        last = events[-1][1]["metadata"]["resourceVersion"]
        wait_for(lambda: informer.resource_version == last, "events applied")
        assert {name for _, name in informer.stored_keys()} == names
        assert recorder.heard[3:] == heard
    finally:
        informer.stop()


def test_a_relist_tells_what_changed_meanwhile() -> None:
    informer = informer_for(FakeListWatch())
    recorder = Recorder()
    informer.add_handlers(recorder.handlers)
    informer.replace([obj("kept", 1), obj("dropped", 2)], "10")
    recorder.heard.clear()
    informer.replace([obj("kept", 3), obj("new", 4)], "20")
    assert recorder.heard == [
        ("listed", ""),
        ("modified", "kept"),
        ("added", "new"),
        ("deleted", "dropped"),
    ]
    assert informer.resource_version == "20"


def test_the_transform_runs_before_storing() -> None:
    informer = informer_for(FakeListWatch(), transform=lambda o: {"metadata": o["metadata"]})
    informer.replace([obj("a", 1, spec={"big": True})], "1")
    informer.apply(WatchEvent("ADDED", obj("b", 2, spec={"big": True})))
    assert informer.get("default", "a") == obj("a", 1)
    assert informer.get("default", "b") == obj("b", 2)


def test_a_failing_handler_does_not_stop_the_others() -> None:
    informer = informer_for(FakeListWatch())
    recorder = Recorder()
    informer.add_handlers(Handlers(on_added=lambda o: 1 / 0))  # type: ignore[func-returns-value]
    informer.add_handlers(recorder.handlers)
    informer.apply(WatchEvent("ADDED", obj("a", 1)))
    assert recorder.heard == [("added", "a")]


def test_server_timeout_rewatches_without_listing(
    running: Informer, source: FakeListWatch, restarts: list[str]
) -> None:
    source.send("ADDED", obj("c", 130))
    source.feed.put(END)
    wait_for(lambda: len(source.watches) == 2, "watch reopened")
    assert source.watches == ["100", "130"]
    assert source.lists == 1
    assert restarts == []


def test_watch_error_resumes_from_the_last_resource_version(
    running: Informer, source: FakeListWatch, restarts: list[str]
) -> None:
    source.send("ADDED", obj("c", 120))
    source.feed.put(ConnectionResetError("peer went away"))
    wait_for(lambda: len(source.watches) == 2, "watch reopened")
    assert source.watches == ["100", "120"]
    assert source.lists == 1
    assert restarts == ["watch_error"]
    assert running.synced


def test_gone_relists_at_once_and_drops_what_vanished(
    running: Informer, source: FakeListWatch, restarts: list[str]
) -> None:
    del source.objects[("default", "a")]
    source.objects[("default", "d")] = obj("d", 190)
    source.list_rv = "200"
    source.feed.put(Gone(410, "Expired", "too old"))
    wait_for(lambda: source.lists == 2 and running.resource_version == "200", "re-listed")
    assert {name for _, name in running.stored_keys()} == {"b", "d"}
    wait_for(lambda: source.watches[-1] == "200", "watch from the new list")
    assert restarts == ["gone"]


def test_gone_on_opening_the_watch_relists(source: FakeListWatch, restarts: list[str]) -> None:
    source.watch_failures = [Gone(410, "Expired", "too old")]
    informer = informer_for(source, on_restart=restarts.append)
    informer.start()
    try:
        wait_for(lambda: source.lists == 2 and len(source.watches) == 2, "re-listed, rewatched")
        assert restarts == ["gone"]
    finally:
        informer.stop()


def test_an_expired_continue_token_starts_the_list_over(source: FakeListWatch) -> None:
    for i in range(4):
        source.objects[("default", f"p{i}")] = obj(f"p{i}", 10 + i)
    source.token_failures["4"] = Gone(410, "Expired", "continue token too old")
    informer = informer_for(source, page_size=2)
    informer.start()
    try:
        assert informer.wait_synced(10)
        assert len(informer) == 6
        assert source.pages == [(2, ""), (2, "2"), (2, "4"), (2, ""), (2, "2"), (2, "4")]
    finally:
        informer.stop()


def test_list_failures_back_off_until_a_list_lands(
    source: FakeListWatch, restarts: list[str]
) -> None:
    source.list_failures = [ServerError(503, "ServiceUnavailable", "down"), NoAnswer(0, "x", "y")]
    informer = informer_for(source, on_restart=restarts.append)
    assert not informer.synced
    informer.start()
    try:
        assert informer.wait_synced(10)
        assert source.lists == 3
        assert restarts == ["list_error", "list_error"]
    finally:
        informer.stop()


def test_current_is_false_from_a_failure_until_the_watch_is_open_again(
    running: Informer, source: FakeListWatch
) -> None:
    assert running.current
    source.watch_gate = threading.Event()
    source.feed.put(ConnectionResetError("cut"))
    wait_for(lambda: len(source.watches) == 2, "reopening")
    assert running.synced, "still synced: the store is the best answer there is"
    assert not running.current, "but it may miss a change"
    source.watch_gate.set()
    wait_for(lambda: running.current, "current again once the watch is open")


def test_a_watch_that_ends_at_once_and_empty_is_a_failure(
    running: Informer, source: FakeListWatch, restarts: list[str]
) -> None:
    source.feed.put(END)
    wait_for(lambda: restarts == ["watch_error"], "counted as a failure")


def test_stop_ends_the_thread(running: Informer) -> None:
    running.stop()
    assert not any(t.name == "test-informer" for t in threading.enumerate())


def test_stop_while_the_watch_is_opening(source: FakeListWatch) -> None:
    source.watch_gate = threading.Event()
    informer = informer_for(source)
    informer.start()
    wait_for(lambda: source.watches, "watch opening")
    stopper = threading.Thread(target=informer.stop, kwargs={"timeout": 10})
    stopper.start()
    wait_for(lambda: informer.stopping.is_set(), "stop asked")
    source.watch_gate.set()  # the watch opens only now, after stop() found nothing to close
    stopper.join(10)
    assert not stopper.is_alive()
    assert not any(t.name == "test-informer" for t in threading.enumerate())


class NamesStore:
    """A custom store that keeps names only, and notes how many pages had been asked for when
    each listed object reached it."""

    def __init__(self, source: FakeListWatch) -> None:
        self.source = source
        self.names: set[str] = set()
        self.pages_when_put: list[int] = []

    def replace(self, objects: Iterable[dict[str, Any]]) -> None:
        self.names = set()
        for item in objects:
            self.pages_when_put.append(len(self.source.pages))
            self.names.add(key_of(item)[1])

    def put(self, item: dict[str, Any]) -> None:
        self.names.add(key_of(item)[1])

    def remove(self, item: dict[str, Any]) -> None:
        self.names.discard(key_of(item)[1])

    def __len__(self) -> int:
        return len(self.names)


def test_a_custom_store_gets_the_list_a_page_at_a_time_and_every_event(
    source: FakeListWatch,
) -> None:
    for i in range(4):
        source.objects[("default", f"p{i}")] = obj(f"p{i}", 10 + i)
    store = NamesStore(source)
    informer = informer_for(source, store=store, page_size=2)
    informer.start()
    try:
        assert informer.wait_synced(10)
        # Each object reached the store before the next page was asked for: a list never holds
        # more than one page of whole objects.
        assert store.pages_when_put == [1, 1, 2, 2, 3, 3]
        assert len(informer) == 6
        wait_for(lambda: source.watches, "watching")
        source.send("ADDED", obj("c", 101))
        source.send("DELETED", obj("a", 102))
        wait_for(lambda: informer.resource_version == "102", "events applied")
        assert store.names == {"b", "c", "p0", "p1", "p2", "p3"}
    finally:
        informer.stop()


@pytest.mark.parametrize(
    "use",
    [
        pytest.param(lambda informer: informer.get("default", "a"), id="get"),
        pytest.param(lambda informer: informer.stored_keys(), id="stored_keys"),
        pytest.param(lambda informer: informer.add_handlers(Handlers()), id="add_handlers"),
    ],
)
def test_a_custom_store_is_read_directly(source: FakeListWatch, use: Any) -> None:
    informer = informer_for(source, store=NamesStore(source))
    with pytest.raises(TypeError, match="custom store"):
        use(informer)


def test_a_custom_store_takes_no_transform(source: FakeListWatch) -> None:
    with pytest.raises(ValueError, match="no transform"):
        informer_for(source, store=NamesStore(source), transform=lambda o: o)


def test_relist_lists_again_after_the_event_being_applied(
    running: Informer, source: FakeListWatch, restarts: list[str]
) -> None:
    source.objects[("default", "d")] = obj("d", 190)
    source.list_rv = "200"
    running.relist()
    source.send("ADDED", obj("c", 130))
    wait_for(lambda: source.lists == 2 and running.resource_version == "200", "listed again")
    assert {name for _, name in running.stored_keys()} == {"a", "b", "d"}
    wait_for(lambda: source.watches[-1] == "200", "watch from the new list")
    assert restarts == [], "asked for, not a failure"
    assert running.current
