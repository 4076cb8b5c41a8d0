"""Storms through faults: crashes and outages lose and duplicate nothing.

Each case runs on a control plane of its own: ``EVENTS`` unique events go from a retrying sender
(round-robin over two receivers) while one fault is injected mid-storm, and then the full audit
must be clean: every accepted event has exactly one Job and one Secret holding exactly what was
sent, and nothing is left over once the sweeper and the garbage collector have had their turn.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from tests.e2e.faults.audit import audit_until_clean
from tests.e2e.faults.cluster import SWEEP_GRACE_SECONDS, SWEEP_INTERVAL_SECONDS, FaultCluster
from tests.e2e.faults.events import make_events
from tests.e2e.faults.injectors import Fault, FreezeEtcd, KillReceiver, RestartApiserver
from tests.e2e.faults.scenario import storm_through

EVENTS = 300
CONCURRENCY = 8
FAULT_AFTER_ACCEPTED = 100
#: The sweeper's grace and two of its rounds, plus time for the garbage collector.
AUDIT_TIMEOUT = SWEEP_GRACE_SECONDS + 2 * SWEEP_INTERVAL_SECONDS + 45

FAULTS: list[tuple[str, Callable[[FaultCluster], Fault]]] = [
    ("receiver-kill-9", lambda cluster: KillReceiver(cluster.receivers[0], down_seconds=1.0)),
    ("apiserver-restart", lambda cluster: RestartApiserver(cluster.plane, down_seconds=25.0)),
    ("etcd-frozen", lambda cluster: FreezeEtcd(cluster.plane, frozen_seconds=18.0)),
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize("make_fault", [make for _, make in FAULTS], ids=[n for n, _ in FAULTS])
def test_every_accepted_event_has_one_job_and_one_secret_after_a_fault(
    fault_cluster: FaultCluster, make_fault: Callable[[FaultCluster], Fault]
) -> None:
    fault = make_fault(fault_cluster)
    events = make_events(uuid.uuid4().hex[:8], EVENTS)

    result = storm_through(
        fault_cluster.receiver_urls,
        fault_cluster.path,
        events,
        concurrency=CONCURRENCY,
        fault=fault,
        after_accepted=FAULT_AFTER_ACCEPTED,
    )
    story = result.describe(fault, EVENTS)
    print(story)  # shown with -rP, and in the report of a failure
    assert result.accepted_at_fault <= EVENTS - CONCURRENCY, f"not mid-storm: {story}"
    assert len(result.tally.accepted) == EVENTS, f"not every event accepted: {story}"

    report = audit_until_clean(
        fault_cluster.api,
        fault_cluster.namespace,
        fault_cluster.sink,
        sent={event.key: event for event in events},
        accepted=result.tally.accepted,
        timeout=AUDIT_TIMEOUT,
    )
    print(report.summary())
    assert report.clean, f"{report.summary()}\n{story}"
    assert (report.jobs, report.secrets) == (EVENTS, EVENTS), f"{report.summary()}\n{story}"
