"""The sweeper deletes Jobs whose Secret never arrived, and nothing else."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from kubeapi import events
from kubeapi.calls import Caller
from receiver.protocol import WriteProtocol
from receiver.sweeper import Sweeper
from tests.receiver.fake_kube import FakeKubeApi
from tests.receiver.test_protocol import EVENT

LATER = datetime.now(UTC) + timedelta(minutes=10)


@pytest.fixture
def sweeper(caller: Caller) -> Sweeper:
    return Sweeper(events.jobs(caller), events.secrets(caller), interval=60, grace=300)


def secretless_job(fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any]) -> str:
    fake.fail("POST", "secrets", status=500, times=1000)
    with pytest.raises(Exception, match="500"):
        protocol.deliver(sink, EVENT, deadline=time.monotonic() + 0.2)
    fake.faults.clear()
    (job,) = fake.of("jobs")
    return str(job["metadata"]["name"])


def test_a_job_without_secret_is_swept_after_the_grace_period(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    name = secretless_job(fake, protocol, sink)
    assert sweeper.sweep() == []  # still within the grace period: a redelivery may complete it
    assert sweeper.sweep(now=LATER) == [("default", name)]
    assert fake.of("jobs") == []


def test_complete_pairs_are_never_swept(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    protocol.deliver(sink, EVENT, deadline=time.monotonic() + 3)
    assert sweeper.sweep(now=LATER) == []
    assert len(fake.of("jobs")) == 1


def test_a_redelivery_before_the_sweep_saves_the_job(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    secretless_job(fake, protocol, sink)
    protocol.deliver(sink, EVENT, deadline=time.monotonic() + 3)
    assert sweeper.sweep(now=LATER) == []
    assert len(fake.of("secrets")) == 1


def test_a_job_whose_secret_belongs_to_an_older_job_is_swept(
    fake: FakeKubeApi, protocol: WriteProtocol, sink: dict[str, Any], sweeper: Sweeper
) -> None:
    protocol.deliver(sink, EVENT, deadline=time.monotonic() + 3)
    (secret,) = fake.of("secrets")
    secret["metadata"]["ownerReferences"][0]["uid"] = "an-older-job"
    (job,) = fake.of("jobs")
    assert sweeper.sweep(now=LATER) == [("default", job["metadata"]["name"])]
