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
known to be missing: from a list or a successfully opened watch until the next failure or the
next list (one the store asked for with ``relist`` included). A reader that must never act on a
missed deletion (the receiver's Job index) uses ``current``.

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

Where the objects go is the caller's choice. By default the informer keeps a dict of them by
(namespace, name), each through ``transform``, and tells ``Handlers`` what changed. A reader
that needs far less than an object per key (the receiver's Job index keeps a pair of ints per
Job) passes a :class:`Store` instead: the informer hands it every listed object, a page at a
time, and every watch event, and keeps nothing itself. A list never holds more than one page of
whole objects either way.
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
from kubeapi.listwatch import Listing, Page
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


class Store(Protocol):
    """Where an informer puts what it lists and watches, when the caller keeps it its own way.
    Called on the informer's thread only; readers on other threads are the store's business."""

    def replace(self, objects: Iterable[Object]) -> None:
        """Start over from a complete list. ``objects`` arrives a page at a time; when it raises
        (a page failed) the informer is not ``current`` and lists again later."""

    def put(self, obj: Object) -> None:
        """An object was added or modified."""

    def remove(self, obj: Object) -> None:
        """An object was deleted; ``obj`` is its last state."""

    def __len__(self) -> int: ...


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
        store: Store | None = None,
        page_size: int = 500,
        watch_timeout: int = 300,
        base_backoff: float = 0.5,
        max_backoff: float = 30.0,
        on_restart: RestartObserver | None = None,
    ) -> None:
        """``name`` names the thread and the log lines. ``transform`` is applied to every object
        before it is stored (to keep only what the reader needs). ``store`` replaces the
        informer's own dict of objects (see the module doc); it goes without ``transform``,
        ``get``, ``stored_keys`` and handlers, which all belong to that dict."""
        if store is not None and transform is not None:
            raise ValueError("a custom store keeps what it wants: give it no transform")
        self.name = name
        self._custom = store
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
        self._relist = False
        """Asked for by ``relist``: list again once the current event is applied."""
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
        return self._objects().get((namespace, name))

    def stored_keys(self) -> list[Key]:
        """A snapshot of the stored keys."""
        return list(self._objects())

    def __len__(self) -> int:
        return len(self._custom if self._custom is not None else self._store)

    def _objects(self) -> dict[Key, Object]:
        if self._custom is not None:
            raise TypeError(f"{self.name} keeps its objects in a custom store: read that instead")
        return self._store

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
        self._objects()  # a custom store tells its own readers
        self._handlers.append(handlers)

    def relist(self) -> None:
        """List again from scratch once the event being applied is done (or the next one
        arrives): for a store that knows it has fallen out of step with what it could hold."""
        self._relist = True

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
        """Start over from a complete list (consumed as it arrives: see ``Listing``)."""
        if self._custom is not None:
            self._custom.replace(objects)
            self._listed(resource_version)
            return
        fresh = {key_of(obj): self._kept(obj) for obj in objects}
        previous, self._store = self._store, fresh
        self._listed(resource_version)
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

    def _listed(self, resource_version: str) -> None:
        self.resource_version = resource_version
        self._current = True
        self._synced.set()

    def apply(self, event: WatchEvent) -> None:
        """One watch event, bookmarks included."""
        if event.resource_version:
            self.resource_version = event.resource_version
        if event.type == "BOOKMARK":
            return
        if self._custom is not None:
            if event.type == "DELETED":
                self._custom.remove(event.object)
            else:
                self._custom.put(event.object)
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
                    if self._relist:
                        self._relist, listed = False, False
                        log.info("%s: listing again, as its store asked", self.name)
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
        # Not current while a list is on its way in: a custom store may be half filled.
        self._current = False
        started = time.monotonic()
        listing = Listing(self._source, self.page_size)
        self.replace(listing, listing.resource_version)
        log.info(
            "%s: listed %d in %d pages in %.1fs at resourceVersion %s",
            self.name,
            listing.count,
            listing.pages,
            time.monotonic() - started,
            listing.resource_version,
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
                if self._relist:
                    stream.close()
                    break
        finally:
            with self._lock:
                self._stream = None
        return seen or self.stopping.is_set() or time.monotonic() - opened >= QUICK_END
