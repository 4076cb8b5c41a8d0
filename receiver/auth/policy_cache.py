"""Every EventPolicy the receiver serves, kept current by one watch and parsed once per change.

One :class:`kubeapi.informer.Informer` lists and watches ``eventpolicies`` (in the receiver's
namespace, or all); its store here parses each object into an ``EventPolicy`` and keeps, per
namespace, a tuple of them, swapped whole on every change. Authorizing an event reads that tuple
(one dict lookup, no lock, no API call); the status reconciler reads it too, and is told which
namespace changed so that it can recompute the status of that namespace's JobSinks.

The CRD may be missing (a cluster without Knative Eventing, before ``jobsink manifests
--event-policy-crd``): the list then answers 404, the cache says ``absent``, everyone falls back
to the default authorization mode, and the informer lists again with its backoff (at most
``max_backoff``) until the CRD appears. If it is deleted later, the watch fails, the next list
answers 404, and the cache is ``absent`` again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Literal, Protocol

from kubeapi.calls import Caller
from kubeapi.errors import Gone, NotFound
from kubeapi.informer import Informer, Object, Source, Stream, key_of
from kubeapi.listwatch import ListWatch, Page
from kubeapi.messages import one_line
from kubeapi.resources import EVENT_POLICIES
from kubeapi.transport import Api
from receiver.auth.policy import EventPolicy, parse

log = logging.getLogger(__name__)

State = Literal["loading", "absent", "ready"]
"""``loading``: nothing listed yet; ``absent``: the CRD is not installed; ``ready``: listed."""
NamespaceListener = Callable[[str | None], None]
"""Told the namespace whose policies changed; None: possibly all of them."""


class PolicyView(Protocol):
    """What readers ask of the policies: :class:`PolicyCache`, or :class:`NoPolicies`."""

    @property
    def state(self) -> State: ...

    @property
    def last_error(self) -> str: ...

    def in_namespace(self, namespace: str) -> tuple[EventPolicy, ...]: ...

    def subscribe(self, listener: NamespaceListener) -> None: ...


class NoPolicies:
    """EventPolicies not watched (switched off): none ever applies."""

    state: State = "ready"
    last_error = ""

    def in_namespace(self, namespace: str) -> tuple[EventPolicy, ...]:
        return ()

    def subscribe(self, listener: NamespaceListener) -> None:
        return None


class _Presence:
    """Wraps the informer's source to learn whether the resource exists: a list answering 404
    means the CRD is not installed."""

    def __init__(self, source: Source, changed: Callable[[bool | None, str], None]) -> None:
        self._source = source
        self._changed = changed

    def list_page(self, limit: int, continue_token: str = "") -> Page:
        try:
            page = self._source.list_page(limit, continue_token)
        except NotFound as error:
            self._changed(False, one_line(error))
            raise
        except Exception as error:
            self._changed(None, one_line(error))
            raise
        return page

    def watch(self, resource_version: str, *, timeout_seconds: int) -> Stream:
        try:
            return self._source.watch(resource_version, timeout_seconds=timeout_seconds)
        except NotFound as error:
            # The CRD went away: the informer would resume the watch for ever; a 410 makes it
            # list again, and that list's 404 marks the policies absent.
            why = f"the watch answered 404 ({one_line(error)}): list again"
            raise Gone(410, "Gone", why) from None


class PolicyCache:
    """The Store of the EventPolicy informer, and what readers ask of it."""

    def __init__(
        self,
        api_client: Api | None = None,
        *,
        namespace: str | None = None,
        source: Source | None = None,
        max_backoff: float = 10.0,
        watch_timeout: int = 300,
    ) -> None:
        """``source`` (list and watch) defaults to the apiserver behind ``api_client``."""
        if source is None:
            if api_client is None:
                raise ValueError("give an api_client or a source")
            source = ListWatch(Caller(api_client), EVENT_POLICIES, namespace or None)
        self._policies: dict[tuple[str, str], EventPolicy] = {}
        self._by_namespace: dict[str, tuple[EventPolicy, ...]] = {}
        self._installed: bool | None = None
        self._loaded = threading.Event()
        self.last_error = ""
        """Why the last list failed, while nothing has been listed since."""
        self._listeners: list[NamespaceListener] = []
        self._lock = threading.Lock()
        self.informer = Informer(
            _Presence(source, self._presence),
            name="eventpolicy-cache",
            store=self,
            watch_timeout=watch_timeout,
            max_backoff=max_backoff,
        )

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self.informer.start()

    def stop(self, timeout: float = 5.0) -> None:
        self.informer.stop(timeout)

    def subscribe(self, listener: NamespaceListener) -> None:
        """Call ``listener`` on the watch thread when a namespace's policies change (None: any
        may have, after a list or when the CRD comes or goes). Quick, and must not raise."""
        self._listeners.append(listener)

    # -- reads -------------------------------------------------------------------------------

    @property
    def state(self) -> State:
        # Set only after a list: True once one worked (its policies are stored), False on a 404.
        if self._installed is None:
            return "loading"
        return "ready" if self._installed else "absent"

    def in_namespace(self, namespace: str) -> tuple[EventPolicy, ...]:
        """The policies of ``namespace``; none while the CRD is absent. No I/O, no lock."""
        if self._installed is False:
            return ()
        return self._by_namespace.get(namespace, ())

    def wait_loaded(self, timeout: float | None = None) -> bool:
        """Wait until the cache is ``ready`` or ``absent``."""
        return self._loaded.wait(timeout)

    # -- the informer's Store (its thread only) ----------------------------------------------

    def replace(self, objects: Iterable[Object]) -> None:
        fresh = {key_of(obj): parse(obj) for obj in objects}
        with self._lock:
            self._policies = fresh
            self._by_namespace = _grouped(fresh.values())
        self._presence(True, "")

    def put(self, obj: Object) -> None:
        policy = parse(obj)
        self._update(key_of(obj), policy)

    def remove(self, obj: Object) -> None:
        self._update(key_of(obj), None)

    def __len__(self) -> int:
        return len(self._policies)

    def _update(self, key: tuple[str, str], policy: EventPolicy | None) -> None:
        namespace = key[0]
        with self._lock:
            if policy is None:
                self._policies.pop(key, None)
            else:
                self._policies[key] = policy
            same = [p for k, p in self._policies.items() if k[0] == namespace]
            if same:
                self._by_namespace[namespace] = tuple(sorted(same, key=lambda p: p.name))
            else:
                self._by_namespace.pop(namespace, None)
        self._tell(namespace)

    def _presence(self, installed: bool | None, why: str) -> None:
        """After a list: ``installed`` True (it worked), False (404), None (another failure)."""
        self.last_error = why
        if installed is None:
            return
        before, self._installed = self._installed, installed
        self._loaded.set()
        if before is not installed:
            if installed:
                log.info("EventPolicies: listed %d", len(self._policies))
            else:
                log.warning("EventPolicies: the CRD is not installed (%s); default mode only", why)
        self._tell(None)

    def _tell(self, namespace: str | None) -> None:
        for listener in self._listeners:
            try:
                listener(namespace)
            except Exception:
                log.exception("EventPolicy listener failed")


def _grouped(policies: Iterable[EventPolicy]) -> dict[str, tuple[EventPolicy, ...]]:
    grouped: dict[str, list[EventPolicy]] = {}
    for policy in policies:
        grouped.setdefault(policy.namespace, []).append(policy)
    return {ns: tuple(sorted(found, key=lambda p: p.name)) for ns, found in grouped.items()}
