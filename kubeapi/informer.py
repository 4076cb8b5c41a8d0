"""An informer: a local copy of one resource's objects, kept current by list-then-watch.

On a daemon thread it lists (in pages of ``page_size``), replaces its store with the result, and
watches from the list's resourceVersion with bookmarks, applying each event to the store and
telling the handlers. How it meets trouble:

- the server ends the watch (its ``timeoutSeconds``): watch again from the last resourceVersion;
- ``Gone`` (410: the resourceVersion or a continue token expired): list again, at once the first
  time, after a backoff when it keeps happening;
- any other failure of a watch: back off, then watch again from the last resourceVersion seen
  (bookmarks included). The apiserver replays everything since that version or answers 410, so
  nothing is missed and no list is needed, which matters when a list is large;
- a failed list: back off, then list again.

Backoff is exponential, capped at ``max_backoff``, with jitter so that replicas that failed
together do not retry together; any progress (a list, an event) resets it.

Two flags tell readers how far to trust the store. ``synced`` turns true with the first list and
stays true: a store that lags while the apiserver is unreachable is still the best answer there
is, and readiness must not flap with the apiserver. ``current`` is true only while nothing is
known to be missing: from a list or a successfully opened watch until the next failure. A reader
that must never act on a missed deletion (the receiver's Job index) uses ``current``.

Every watch of ours runs on this one loop, so they all meet trouble the same way. Two choices
are deliberate. A watch failure resumes the watch rather than re-listing: a re-list would give
nothing the resumed watch does not (the apiserver replays from the version or answers 410) and
would cost a full list on every network hiccup. And "may have missed something" is its own flag,
``current``, rather than folded into ``synced``: a cache that answers requests keeps answering
while the apiserver is away, and only a reader that must never act on a missed deletion steps
aside.

Reads (``get``, ``stored_keys``, ``len``) take no lock: the informer's thread is the only
writer, a list replaces the store in one assignment, and single dict operations are atomic in
CPython.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kubeapi.daemon import Daemon
from kubeapi.errors import Gone
from kubeapi.listwatch import Page
from kubeapi.messages import one_line
from kubeapi.watch import WatchEvent

log = logging.getLogger(__name__)

Key = tuple[str, str]
"""(namespace, name); the namespace is "" for a cluster-scoped object."""
Object = dict[str, Any]
Transform = Callable[[Object], Object]
RestartObserver = Callable[[str], None]
"""Called with "gone", "list_error" or "watch_error" each time the loop starts over."""

QUICK_END = 1.0
"""A watch that the server ends this soon with nothing in it counts as a failure: something in
between is closing connections, and watching again at once would be a busy loop."""


class Stream(Protocol):
    def __iter__(self) -> Iterator[WatchEvent]: ...
    def close(self) -> None: ...


class Source(Protocol):
    """What an informer reads: ``kubeapi.listwatch.ListWatch``, or a fake in tests."""

    def list_page(self, limit: int, continue_token: str = "") -> Page: ...
    def watch(self, resource_version: str, *, timeout_seconds: int) -> Stream: ...


@dataclass(frozen=True)
class Handlers:
    """Called on the informer's thread, after the store changed; they must be quick. After each
    (re)list: ``on_listed`` first, then ``on_added`` or ``on_modified`` (old, new) for every
    listed object and ``on_deleted`` for every object the list no longer has. An exception is
    logged and does not stop the informer."""

    on_added: Callable[[Object], None] | None = None
    on_modified: Callable[[Object, Object], None] | None = None
    on_deleted: Callable[[Object], None] | None = None
    on_listed: Callable[[], None] | None = None


def key_of(obj: Object) -> Key:
    metadata = obj.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


class Informer:
    def __init__(
        self,
        source: Source,
        *,
        name: str,
        transform: Transform | None = None,
        page_size: int = 500,
        watch_timeout: int = 300,
        base_backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_restart: RestartObserver | None = None,
    ) -> None:
        """``name`` names the thread and the log lines. ``transform`` is applied to every object
        before it is stored (to keep only what the reader needs)."""
        self.name = name
        self._source = source
        self._transform = transform
        self.page_size = page_size
        self._watch_timeout = watch_timeout
        self._base_backoff = base_backoff
        self._max_backoff = max_backoff
        self._on_restart = on_restart
        self._store: dict[Key, Object] = {}
        self._handlers: list[Handlers] = []
        self._synced = threading.Event()
        self._current = False
        self._lock = threading.Lock()
        self._stream: Stream | None = None
        self._progress = False
        """An event arrived in the current round of the loop: a failure after it starts the
        backoff over."""
        self._daemon = Daemon(name, self._run, interrupt=self._close_stream)
        self.stopping = self._daemon.stopping
        self.resource_version = ""
        """Of the last list, event or bookmark: where the next watch starts."""

    # -- reading ------------------------------------------------------------------------------

    def get(self, namespace: str, name: str) -> Object | None:
        return self._store.get((namespace, name))

    def stored_keys(self) -> list[Key]:
        """A snapshot of the stored keys."""
        return list(self._store)

    def __len__(self) -> int:
        return len(self._store)

    @property
    def synced(self) -> bool:
        """True once the first list has landed; it stays true (see the module doc)."""
        return self._synced.is_set()

    def wait_synced(self, timeout: float | None = None) -> bool:
        return self._synced.wait(timeout)

    @property
    def current(self) -> bool:
        """True while the store is known to miss nothing (see the module doc)."""
        return self._current and self.synced

    def add_handlers(self, handlers: Handlers) -> None:
        """Register before ``start``: handlers added later miss what happened before."""
        self._handlers.append(handlers)

    # -- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._daemon.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._daemon.stop(timeout)

    def _close_stream(self) -> None:
        with self._lock:
            stream = self._stream
        if stream is not None:
            stream.close()

    # -- changing the store (the loop calls these; tests may drive them directly) -------------

    def replace(self, objects: Iterable[Object], resource_version: str) -> None:
        """Start over from a complete list."""
        fresh = {key_of(obj): self._kept(obj) for obj in objects}
        previous, self._store = self._store, fresh
        self.resource_version = resource_version
        self._current = True
        self._synced.set()
        self._tell("on_listed")
        for key, obj in fresh.items():
            old = previous.get(key)
            if old is None:
                self._tell("on_added", obj)
            else:
                self._tell("on_modified", old, obj)
        for key, old in previous.items():
            if key not in fresh:
                self._tell("on_deleted", old)

    def apply(self, event: WatchEvent) -> None:
        """One watch event, bookmarks included."""
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.type == "BOOKMARK":
            return
        key = key_of(event.object)
        obj = self._kept(event.object)
        if event.type == "DELETED":
            self._store.pop(key, None)
            self._tell("on_deleted", obj)
            return
        old = self._store.get(key)
        self._store[key] = obj
        if old is None:
            self._tell("on_added", obj)
        else:
            self._tell("on_modified", old, obj)

    def _kept(self, obj: Object) -> Object:
        return self._transform(obj) if self._transform is not None else obj

    def _tell(self, which: str, *objects: Object) -> None:
        for handlers in self._handlers:
            handler: Callable[..., None] | None = getattr(handlers, which)
            if handler is None:
                continue
            try:
                handler(*objects)
            except Exception:
                log.exception("%s: the %s handler failed", self.name, which)

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        failures = 0
        listed = False
        while not self.stopping.is_set():
            self._progress = False
            try:
                if not listed:
                    self._list()
                    listed, failures = True, 0
                if self._watch():
                    failures = 0
                    continue
                failures += 1
                self._restarted("watch_error", "the watch ended at once, empty", failures)
            except Gone as error:
                listed = False
                failures = 1 if self._progress else failures + 1
                # The first 410 after progress is routine (a long outage, a compacted history).
                self._restarted("gone", one_line(error), failures, pause=failures > 1)
            except Exception as error:
                if self.stopping.is_set():
                    break
                failures = 1 if self._progress else failures + 1
                reason = "watch_error" if listed else "list_error"
                self._restarted(reason, one_line(error), failures)

    def _restarted(self, reason: str, why: str, failures: int, *, pause: bool = True) -> None:
        self._current = False
        if self._on_restart is not None:
            self._on_restart(reason)
        delay = self._backoff(failures) if pause else 0.0
        level = logging.INFO if reason == "gone" and not pause else logging.WARNING
        log.log(level, "%s: %s (%s); starting over in %.1fs", self.name, reason, why, delay)
        if delay:
            self.stopping.wait(delay)

    def _backoff(self, failures: int) -> float:
        ceiling = min(self._max_backoff, self._base_backoff * 2 ** (failures - 1))
        return random.uniform(ceiling / 2, ceiling)

    def _list(self) -> None:
        items: list[Object] = []
        token = ""
        while True:
            page = self._source.list_page(self.page_size, token)
            items.extend(page.items)
            token = page.continue_token
            if not token:
                break
        self.replace(items, page.resource_version)
        log.info(
            "%s: listed %d at resourceVersion %s", self.name, len(items), page.resource_version
        )

    def _watch(self) -> bool:
        """Watch until the server ends it; False when it ended at once with nothing in it."""
        opened = time.monotonic()
        stream = self._source.watch(self.resource_version, timeout_seconds=self._watch_timeout)
        with self._lock:
            # stop() may have run while the watch was opening, and found nothing to close.
            if self.stopping.is_set():
                stream.close()
                return True
            self._stream = stream
        self._current = True
        seen = False
        try:
            for event in stream:
                self.apply(event)
                seen = self._progress = True
                if self.stopping.is_set():
                    break
        finally:
            with self._lock:
                self._stream = None
        return seen or self.stopping.is_set() or time.monotonic() - opened >= QUICK_END
