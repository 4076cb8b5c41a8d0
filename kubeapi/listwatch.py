"""What an informer lists and watches: one resource type, in one namespace or all, optionally
narrowed by a label selector, as whole objects or as their metadata only.

Metadata only (``PartialObjectMetadata``) is for a watcher that needs names, uids, labels and
owners but not specs: the apiserver strips the rest before sending, so a Job the receiver made
costs about 2 KiB of JSON (most of it ``managedFields``, which the apiserver always sends) instead
of its whole pod template. What a reader keeps of that is its own business (see
``kubeapi.informer.Store``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from kubeapi.calls import Caller
from kubeapi.raw import JSON, METADATA
from kubeapi.resources import ResourceType, path
from kubeapi.watch import WatchStream, open_watch

METADATA_LIST = f"{JSON};as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
METADATA_WATCH = METADATA


@dataclass(frozen=True)
class Page:
    """One page of a list. ``continue_token`` is "" on the last page; ``resource_version`` is the
    list's, from which a watch continues."""

    items: list[dict[str, Any]]
    resource_version: str
    continue_token: str


class Pager(Protocol):
    """What lists in pages: :class:`ListWatch`, or a fake in tests."""

    def list_page(self, limit: int, continue_token: str = "") -> Page: ...


class Listing:
    """A complete list, read one page at a time as it is iterated, so that a reader that keeps
    a little of each object never holds more than one page of whole objects.

    The first page is read at once, because it fixes the list's ``resource_version`` (every
    continued page is served at the first one's version). Each page has a timeout of its own
    (``ListWatch.list_timeout``), so a big list is never cut by a deadline for the whole of it.
    Iterate it once. ``Gone`` from a later page: the continue token expired; list again."""

    def __init__(self, pager: Pager, page_size: int) -> None:
        self._pager = pager
        self._page_size = page_size
        self._first: Page | None = pager.list_page(page_size)
        self.resource_version = self._first.resource_version
        self.count = 0
        """Objects yielded so far."""
        self.pages = 1
        """Pages read so far."""

    def __iter__(self) -> Iterator[dict[str, Any]]:
        page, self._first = self._first, None
        if page is None:
            raise RuntimeError("a Listing is iterated once")
        while True:
            self.count += len(page.items)
            yield from page.items
            if not page.continue_token:
                return
            page = self._pager.list_page(self._page_size, page.continue_token)
            self.pages += 1


@dataclass(frozen=True)
class ListWatch:
    caller: Caller
    resource: ResourceType
    namespace: str | None = None
    """None: every namespace."""
    label_selector: str = ""
    metadata_only: bool = False
    list_timeout: float = 60.0
    """Seconds for one page, retries of 429/5xx included."""

    def list_page(self, limit: int, continue_token: str = "") -> Page:
        """One page of at most ``limit`` objects, as of now rather than from the apiserver's
        possibly stale cache (``resourceVersion=0``): a re-list after a 410 must not take the
        store back to before changes it has already shown. ``Gone`` when ``continue_token`` has
        expired: start the list over."""
        query = [("limit", str(limit))]
        if continue_token:
            query.append(("continue", continue_token))
        page = self.caller.call(
            self._operation("list"),
            "GET",
            path(self.resource, self.namespace),
            query=self._selected(query),
            accept=METADATA_LIST if self.metadata_only else JSON,
            deadline=time.monotonic() + self.list_timeout,
        )
        metadata = page.get("metadata") or {}
        return Page(
            items=list(page.get("items") or []),
            resource_version=str(metadata.get("resourceVersion") or ""),
            continue_token=str(metadata.get("continue") or ""),
        )

    def watch(self, resource_version: str, *, timeout_seconds: int) -> WatchStream:
        """Every change after ``resource_version``, bookmarks included, until the server ends
        the watch after ``timeout_seconds``. ``Gone`` when the version is too old."""
        return open_watch(
            self.caller,
            path(self.resource, self.namespace),
            self._selected([("resourceVersion", resource_version)]),
            timeout_seconds=timeout_seconds,
            accept=METADATA_WATCH if self.metadata_only else JSON,
        )

    def _selected(self, query: list[tuple[str, str]]) -> list[tuple[str, str]]:
        return [("labelSelector", self.label_selector), *query] if self.label_selector else query

    def _operation(self, verb: str) -> str:
        suffix = "_metadata" if self.metadata_only else ""
        return f"{verb}_{self.resource.kind.lower()}{suffix}"
