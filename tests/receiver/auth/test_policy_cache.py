"""The EventPolicy cache over a FAKE list/watch (scripted 404s and watch events the real
apiserver does not produce on demand); the real apiserver is in tests/e2e/test_authorization.py."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kubeapi.errors import Forbidden, NotFound
from receiver.auth.policy_cache import PolicyCache
from tests.kubeapi.fake_source import END, FakeListWatch, wait_for
from tests.receiver.auth.policies import policy

NOT_FOUND = NotFound(404, "NotFound", "the server could not find the requested resource")


@pytest.fixture
def source() -> FakeListWatch:
    return FakeListWatch(policy("a"), policy("b", namespace="team-b"))


@pytest.fixture
def cache(source: FakeListWatch) -> Iterator[PolicyCache]:
    found = PolicyCache(source=source, max_backoff=0.05)
    yield found
    found.stop()


def names(cache: PolicyCache, namespace: str) -> list[str]:
    return [p.name for p in cache.in_namespace(namespace)]


def test_lists_then_follows_the_watch_per_namespace(
    source: FakeListWatch, cache: PolicyCache
) -> None:
    told: list[str | None] = []
    cache.subscribe(told.append)
    before = cache.state
    cache.start()
    assert cache.wait_loaded(10)
    assert (before, cache.state) == ("loading", "ready")
    assert names(cache, "team-a") == ["a"]
    assert names(cache, "team-b") == ["b"]
    source.send("ADDED", policy("c"))
    wait_for(lambda: names(cache, "team-a") == ["a", "c"], "policy c added")
    source.send("DELETED", policy("a"))
    wait_for(lambda: names(cache, "team-a") == ["c"], "policy a deleted")
    assert told[0] is None  # the list
    assert told[-2:] == ["team-a", "team-a"]


def test_a_missing_crd_is_absent_until_it_is_installed(
    source: FakeListWatch, cache: PolicyCache
) -> None:
    source.list_failures = [NOT_FOUND, NOT_FOUND]
    cache.start()
    assert cache.wait_loaded(10)
    assert cache.state == "absent"
    assert cache.in_namespace("team-a") == ()
    wait_for(lambda: cache.state == "ready", "the CRD picked up after it appeared")
    assert names(cache, "team-a") == ["a"]


def test_a_crd_deleted_later_is_absent_again(source: FakeListWatch, cache: PolicyCache) -> None:
    cache.start()
    assert cache.wait_loaded(10)
    source.list_failures = [NOT_FOUND] * 1000
    source.watch_failures = [NOT_FOUND]
    source.feed.put(END)
    wait_for(lambda: cache.state == "absent", "the 404 of the watch noticed")
    assert cache.in_namespace("team-a") == ()


def test_other_list_failures_keep_it_loading_with_the_error(
    source: FakeListWatch, cache: PolicyCache
) -> None:
    source.list_failures = [Forbidden(403, "Forbidden", "eventpolicies is forbidden")] * 1000
    cache.start()
    wait_for(lambda: "forbidden" in cache.last_error, "the list error recorded")
    assert cache.state == "loading"
