"""FakeListWatch: a FAKE of ``kubeapi.listwatch.ListWatch`` that scripts pages, watch events and
faults (a 410 at a chosen moment, a list that fails, a watch that opens slowly), which the real
apiserver will not produce on demand. The real one is exercised in tests/e2e."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubeapi.listwatch import Page
from kubeapi.watch import EventType, WatchEvent

END = object()
"""Put in the feed: the server ends the watch."""


class Closed:
    """Put in the feed by ``FakeStream.close``: ends that stream only, so that a stream its
    reader closed and left does not end the next one."""


def obj(name: str, rv: int, namespace: str = "default", **extra: Any) -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "resourceVersion": str(rv)},
        **extra,
    }


class FakeStream:
    def __init__(self, feed: queue.Queue[object]) -> None:
        self._feed = feed
        self._closed = Closed()

    def __iter__(self) -> Iterator[WatchEvent]:
        while True:
            item = self._feed.get()
            if item is END or item is self._closed:
                return
            if isinstance(item, Closed):
                continue  # the close of a stream that is gone
            if isinstance(item, BaseException):
                raise item
            assert isinstance(item, WatchEvent)
            yield item

    def close(self) -> None:
        self._feed.put(self._closed)


class FakeListWatch:
    def __init__(self, *objects: dict[str, Any]) -> None:
        self.objects = {(o["metadata"]["namespace"], o["metadata"]["name"]): o for o in objects}
        self.list_rv = "100"
        self.list_failures: list[BaseException] = []
        """Raised, in order, by the next page requests."""
        self.token_failures: dict[str, BaseException] = {}
        """Raised once by the request for the page of that continue token."""
        self.watch_failures: list[BaseException] = []
        """Raised, in order, by the next watch requests."""
        self.lists = 0
        """Lists started (first pages asked for)."""
        self.pages: list[tuple[int, str]] = []
        self.watches: list[str] = []
        self.feed: queue.Queue[object] = queue.Queue()
        self.watch_gate: threading.Event | None = None

    def list_page(self, limit: int, continue_token: str = "") -> Page:
        self.pages.append((limit, continue_token))
        if not continue_token:
            self.lists += 1
        if self.list_failures:
            raise self.list_failures.pop(0)
        if continue_token in self.token_failures:
            raise self.token_failures.pop(continue_token)
        items = list(self.objects.values())
        start = int(continue_token or 0)
        rest = str(start + limit) if start + limit < len(items) else ""
        return Page(items[start : start + limit], self.list_rv, rest)

    def watch(self, resource_version: str, *, timeout_seconds: int) -> FakeStream:
        self.watches.append(resource_version)
        if self.watch_gate is not None:
            self.watch_gate.wait(5)
        if self.watch_failures:
            raise self.watch_failures.pop(0)
        return FakeStream(self.feed)

    def send(self, kind: EventType, item: dict[str, Any]) -> None:
        self.feed.put(WatchEvent(kind, item))


def wait_for(predicate: Callable[[], object], what: str) -> None:
    """Synchronise with a watch thread (a generous bound, not a speed assertion)."""
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.005)
