"""Lease leader election against an in-memory fake of the Lease API (real apiserver: tests/e2e)."""

from __future__ import annotations

import copy
import threading
import time
from typing import Any, cast

import pytest

from kubeapi.errors import AlreadyExists, Conflict
from kubeapi.leases import Leases
from receiver.controller.lease import LeaderElector, micro_time
from receiver.metrics import Metrics
from tests.receiver.figures import figure


class FakeLeases:
    """Stand-in for ``kubeapi.leases.Leases``: one namespace, resourceVersion checked on writes."""

    def __init__(self) -> None:
        self.stored: dict[str, dict[str, Any]] = {}
        self.version = 0
        self.error: BaseException | None = None
        self.lock = threading.Lock()

    def get(self, name: str) -> dict[str, Any] | None:
        if self.error is not None:
            raise self.error
        with self.lock:
            found = self.stored.get(name)
            return copy.deepcopy(found) if found else None

    def create(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if name in self.stored:
                raise AlreadyExists(409, "AlreadyExists", f'leases "{name}" already exists')
            return self._store(name, spec)

    def replace(self, lease: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
        name = lease["metadata"]["name"]
        with self.lock:
            if (
                self.stored[name]["metadata"]["resourceVersion"]
                != lease["metadata"]["resourceVersion"]
            ):
                raise Conflict(409, "Conflict", f'leases "{name}": the object has been modified')
            return self._store(name, spec)

    def _store(self, name: str, spec: dict[str, Any]) -> dict[str, Any]:
        self.version += 1
        lease = {"metadata": {"name": name, "resourceVersion": str(self.version)}, "spec": spec}
        self.stored[name] = lease
        return copy.deepcopy(lease)

    def holder(self, name: str = "status") -> str | None:
        spec: dict[str, Any] = self.stored[name]["spec"]
        return spec.get("holderIdentity")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def elector(
    leases: FakeLeases, identity: str, clock: FakeClock | None = None, **kwargs: Any
) -> LeaderElector:
    return LeaderElector(
        cast(Leases, leases), "status", identity, clock=clock or time.monotonic, **kwargs
    )


def test_first_candidate_creates_and_leads() -> None:
    leases = FakeLeases()
    one = elector(leases, "one")
    assert one.try_acquire_or_renew()
    spec = leases.stored["status"]["spec"]
    assert spec["holderIdentity"] == "one"
    assert spec["leaseDurationSeconds"] == 15
    assert spec["leaseTransitions"] == 0
    assert spec["acquireTime"] == spec["renewTime"]


def test_holder_renews_and_keeps_acquire_time() -> None:
    leases = FakeLeases()
    one = elector(leases, "one")
    one.try_acquire_or_renew()
    acquired = leases.stored["status"]["spec"]["acquireTime"]
    version = leases.version
    assert one.try_acquire_or_renew()
    assert leases.version == version + 1
    assert leases.stored["status"]["spec"]["acquireTime"] == acquired


@pytest.mark.parametrize(
    ("silence", "renewed_meanwhile", "takes_over"),
    [
        pytest.param(5.0, False, False, id="fresh-holder-kept"),
        pytest.param(14.9, False, False, id="just-before-expiry"),
        pytest.param(15.1, False, True, id="expired-holder-replaced"),
        pytest.param(30.0, True, False, id="renewing-holder-kept-however-long"),
    ],
)
def test_candidate_waits_for_expiry(
    silence: float, renewed_meanwhile: bool, takes_over: bool
) -> None:
    leases, clock = FakeLeases(), FakeClock()
    one, two = elector(leases, "one", clock), elector(leases, "two", clock)
    assert one.try_acquire_or_renew()
    assert not two.try_acquire_or_renew()
    steps = 6 if renewed_meanwhile else 1
    for _ in range(steps):
        clock.now += silence / steps
        if renewed_meanwhile:
            one.try_acquire_or_renew()
        result = two.try_acquire_or_renew()
    assert result is takes_over
    assert leases.holder() == ("two" if takes_over else "one")
    if takes_over:
        assert leases.stored["status"]["spec"]["leaseTransitions"] == 1


@pytest.mark.parametrize(
    ("holder_duration", "silence", "takes_over"),
    [
        pytest.param(30, 20.0, False, id="longer-holder-duration-respected"),
        pytest.param(30, 31.0, True, id="longer-holder-duration-expired"),
        pytest.param(5, 6.0, True, id="shorter-holder-duration"),
    ],
)
def test_holders_lease_duration_counts(
    holder_duration: int, silence: float, takes_over: bool
) -> None:
    leases, clock = FakeLeases(), FakeClock()
    one = elector(leases, "one", clock, duration=holder_duration, renew_every=1)
    two = elector(leases, "two", clock)
    assert one.try_acquire_or_renew()
    assert not two.try_acquire_or_renew()
    clock.now += silence
    assert two.try_acquire_or_renew() is takes_over


def test_released_lease_is_taken_at_once() -> None:
    leases, clock = FakeLeases(), FakeClock()
    one, two = elector(leases, "one", clock), elector(leases, "two", clock)
    one.try_acquire_or_renew()
    one._set_leading(True)
    one.stop()
    assert leases.holder() is None
    assert two.try_acquire_or_renew()
    assert leases.holder() == "two"


def test_lost_race_is_not_leadership() -> None:
    leases = FakeLeases()
    leases.create("status", {"holderIdentity": "", "leaseDurationSeconds": 15})
    one, two = elector(leases, "one"), elector(leases, "two")
    stale = leases.get("status")
    assert one.try_acquire_or_renew()
    assert two._write(stale, {"holderIdentity": "two"}) is False
    assert leases.holder() == "one"


def test_leadership_ends_when_renewals_keep_failing() -> None:
    leases, clock = FakeLeases(), FakeClock()
    one = elector(leases, "one", clock)
    assert one.try_acquire_or_renew()
    one._set_leading(True)
    assert one.is_leader
    leases.error = ConnectionError("apiserver unreachable")
    clock.now += 12.0
    assert one.is_leader, "still inside the renew deadline"
    clock.now += 1.0
    assert not one.is_leader, "past the deadline, before anyone else may take over"


def test_leadership_shows_on_each_electors_own_metrics() -> None:
    leases, one_metrics, two_metrics = FakeLeases(), Metrics(), Metrics()
    one = elector(leases, "one", metrics=one_metrics)
    two = elector(leases, "two", metrics=two_metrics)
    assert one.try_acquire_or_renew()
    one._set_leading(True)
    assert not two.try_acquire_or_renew()
    two._set_leading(False)
    leading = [figure(m, "jobsink_status_leader") for m in (one_metrics, two_metrics)]
    assert leading == [1, 0]
    one.stop()
    assert figure(one_metrics, "jobsink_status_leader") == 0


def test_listeners_hear_changes_once() -> None:
    heard: list[bool] = []
    one = elector(FakeLeases(), "one")
    one.on_change(heard.append)
    for leading in (True, True, False, False, True):
        one._set_leading(leading)
    assert heard == [True, False, True]


@pytest.mark.parametrize(
    ("duration", "renew_every"),
    [
        pytest.param(5, 5, id="equal"),
        pytest.param(5, 10, id="longer"),
        pytest.param(5, 0, id="zero"),
    ],
)
def test_renew_must_be_shorter_than_duration(duration: float, renew_every: float) -> None:
    with pytest.raises(ValueError, match="renew_every"):
        elector(FakeLeases(), "one", duration=duration, renew_every=renew_every)


def test_micro_time_format() -> None:
    assert micro_time(0.25) == "1970-01-01T00:00:00.250000Z"


def wait_for(predicate: Any, what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.01)


def test_two_electors_one_leader_and_handover() -> None:
    leases = FakeLeases()
    one = elector(leases, "one", duration=3.0, renew_every=0.1)
    two = elector(leases, "two", duration=3.0, renew_every=0.1)
    one.start()
    wait_for(lambda: one.is_leader, "first leader")
    two.start()
    try:
        time.sleep(0.3)  # several rounds of campaigning by the second one
        assert one.is_leader
        assert not two.is_leader
        one.stop()
        assert not one.is_leader
        wait_for(lambda: two.is_leader, "handover")
        assert leases.holder() == "two"
    finally:
        one.stop()
        two.stop()
