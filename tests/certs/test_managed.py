"""Self-managed certificates against an in-memory Secret store that injects write races.

``RacingSecretStore`` is a test double of ``kubeapi.secrets.SecretStore`` (same methods, same
AlreadyExists/Conflict semantics, resourceVersion preconditions). Before a chosen write it lets a
"rival replica" write first, so the races the apiserver would produce happen deterministically.
The same scenarios run against a real apiserver in tests/e2e/test_admission.py.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
import time
from collections.abc import Callable

import pytest

from certs.live import LiveContext
from certs.managed import SelfManaged
from certs.rotation import Lifetimes, Material, fresh, renewed
from kubeapi.errors import AlreadyExists, Conflict
from kubeapi.secrets import Stored

NAMES = ["jobsink-webhook.knative-eventing.svc"]


class RacingSecretStore:
    def __init__(self) -> None:
        self.stored: Stored | None = None
        self.version = 0
        self.lock = threading.Lock()
        self.writes = 0
        #: Called once before the next write, to let a rival write first.
        self.before_next_write: Callable[[], object] | None = None

    def _rival(self) -> None:
        hook, self.before_next_write = self.before_next_write, None
        if hook is not None:
            hook()

    def get(self) -> Stored | None:
        with self.lock:
            return self.stored

    def create(self, data: dict[str, str]) -> Stored:
        self._rival()
        with self.lock:
            if self.stored is not None:
                raise AlreadyExists(409, "AlreadyExists", "secrets already exists")
            return self._put(data)

    def replace(self, data: dict[str, str], resource_version: str) -> Stored:
        self._rival()
        with self.lock:
            if self.stored is None or self.stored.resource_version != resource_version:
                raise Conflict(409, "Conflict", "the object has been modified")
            return self._put(data)

    def _put(self, data: dict[str, str]) -> Stored:
        self.version += 1
        self.writes += 1
        self.stored = Stored(dict(data), str(self.version))
        return self.stored


def _manager(store: RacingSecretStore, published: list[bytes] | None = None) -> SelfManaged:
    sink = published if published is not None else []

    def publish(bundle: bytes) -> bool:
        sink.append(bundle)
        return True

    return SelfManaged(store, publish, LiveContext(), dns_names=NAMES, grace_seconds=0)


def test_first_start_creates_the_secret_and_serves_it() -> None:
    store = RacingSecretStore()
    published: list[bytes] = []
    manager = _manager(store, published)
    asyncio.run(manager.step())
    assert store.stored is not None
    material = Material.from_data(store.stored.data)
    assert manager.live.pair == material.serving
    assert published == [material.bundle]


def test_losing_the_create_race_adopts_the_winners_ca() -> None:
    store = RacingSecretStore()
    winner = fresh(NAMES)
    store.before_next_write = lambda: store._put(winner.to_data())
    material = _manager(store).reconcile()
    assert material == winner
    assert store.writes == 1


def test_losing_the_update_race_adopts_the_winners_renewal() -> None:
    store = RacingSecretStore()
    expiring = fresh(NAMES, Lifetimes(serving=dt.timedelta(seconds=3)))
    store._put(expiring.to_data())
    time.sleep(2.1)  # past 2/3 of the serving certificate's life
    rival = renewed(expiring, dns_names=NAMES)
    assert rival is not None
    store.before_next_write = lambda: store._put(rival.to_data())
    ours = _manager(store).reconcile()
    assert ours == rival
    assert ours.ca == expiring.ca


def test_two_replicas_starting_together_share_one_ca() -> None:
    store = RacingSecretStore()
    results: list[Material] = []
    barrier = threading.Barrier(4)

    def start() -> None:
        barrier.wait()
        results.append(_manager(store).reconcile())

    threads = [threading.Thread(target=start) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len({m.ca.cert_pem for m in results}) == 1
    assert store.writes == 1


def test_unusable_secret_is_replaced() -> None:
    store = RacingSecretStore()
    store._put({"tls.crt": "bm90IHBlbQ=="})
    material = _manager(store).reconcile()
    assert store.stored is not None
    assert Material.from_data(store.stored.data) == material


def test_contention_that_never_ends_is_an_error() -> None:
    class AlwaysConflicting(RacingSecretStore):
        def create(self, data: dict[str, str]) -> Stored:
            raise AlreadyExists(409, "AlreadyExists", "always")

    with pytest.raises(RuntimeError, match="still contended"):
        _manager(AlwaysConflicting()).reconcile()


def test_rotation_installs_the_new_pair_without_restart() -> None:
    store = RacingSecretStore()
    short = Lifetimes(serving=dt.timedelta(seconds=3))
    published: list[bytes] = []

    def publish(bundle: bytes) -> bool:
        published.append(bundle)
        return True

    manager = SelfManaged(
        store, publish, LiveContext(), dns_names=NAMES, lifetimes=short, grace_seconds=0
    )

    async def scenario() -> tuple[object, object, float]:
        delay = await manager.step()
        first = manager.live.pair
        await asyncio.sleep(2.1)
        await manager.step()
        return first, manager.live.pair, delay

    first, second, delay = asyncio.run(scenario())
    assert first != second
    assert delay <= 3.0  # the next round is scheduled for the renewal point, not the resync
    assert len(set(published)) == 1  # same CA: the bundle did not change


def test_a_new_ca_is_published_again_after_the_grace_period() -> None:
    store = RacingSecretStore()
    published: list[bytes] = []

    def publish(bundle: bytes) -> bool:
        published.append(bundle)
        return True

    manager = SelfManaged(store, publish, LiveContext(), dns_names=NAMES, grace_seconds=0)
    asyncio.run(manager.step())
    assert store.stored is not None
    old = Material.from_data(store.stored.data)
    # Another replica replaced the CA (e.g. the Secret was damaged and re-created).
    store._put(fresh(NAMES).to_data())
    asyncio.run(manager.step())
    new = Material.from_data(store.stored.data)
    assert published == [old.bundle, new.bundle, new.bundle]
    assert manager.live.pair == new.serving
