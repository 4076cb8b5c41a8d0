"""The audit itself: each kind of damage a fault could leave is reported, and only that.

No cluster needed: the audit's verdict (``judge``) is a pure function of Jobs and Secrets as the
apiserver lists them; here they are written by hand.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any

import pytest

from jobsink.names import ANNOTATION_EVENT_ID, ANNOTATION_EVENT_SOURCE
from tests.e2e.faults.audit import judge, stored
from tests.e2e.faults.events import SentEvent, make_events

EVENTS = make_events("audit", 3)
FIRST = EVENTS[0]


def _meta(name: str, uid: str, event: SentEvent | None, owner: str | None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name, "uid": uid}
    if event is not None:
        meta["annotations"] = {
            ANNOTATION_EVENT_SOURCE: event.source,
            ANNOTATION_EVENT_ID: event.id,
        }
    if owner is not None:
        meta["ownerReferences"] = [{"kind": "Job", "name": name, "uid": owner}]
    return meta


def job(event: SentEvent | None, uid: str, *, deleting: bool = False) -> dict[str, Any]:
    item = {"metadata": _meta(f"job-{uid}", uid, event, None)}
    if deleting:
        item["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    return item


def secret(event: SentEvent, owner: str, file: Any = None) -> dict[str, Any]:
    content = json.dumps(event.stored if file is None else file).encode()
    return {
        "metadata": _meta(f"secret-of-{owner}", f"s-{owner}", event, owner),
        "data": {"event": base64.b64encode(content).decode()},
    }


def pair(event: SentEvent, uid: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return job(event, uid), secret(event, uid)


Objects = list[dict[str, Any]]
#: () -> (Jobs, Secrets, the problems expected). Only ``FIRST`` is accepted, unless every event
#: has a Job (then all are).
Case = Callable[[], tuple[Objects, Objects, dict[str, int]]]

CASES: dict[str, Case] = {
    "every event complete": lambda: (
        [pair(e, str(i))[0] for i, e in enumerate(EVENTS)],
        [pair(e, str(i))[1] for i, e in enumerate(EVENTS)],
        {},
    ),
    "a Job without its Secret": lambda: (
        [job(FIRST, "1")],
        [],
        {"Jobs without their Secret": 1},
    ),
    "a Secret whose Job is gone": lambda: (
        [job(FIRST, "1")],
        [secret(FIRST, "1"), secret(FIRST, "gone")],
        {"Secrets without their Job": 1},
    ),
    "an accepted event with no Job": lambda: ([], [], {"accepted events without a Job": 1}),
    "two Jobs for one event": lambda: (
        [job(FIRST, "1"), job(FIRST, "2")],
        [secret(FIRST, "1"), secret(FIRST, "2")],
        {"events with 2+ Jobs": 1},
    ),
    "a Job of an event never sent": lambda: (
        [job(FIRST, "1"), job(None, "stray")],
        [secret(FIRST, "1"), secret(FIRST, "stray")],
        {"Jobs of events never sent": 1},
    ),
    "a stored event whose data changed": lambda: (
        [job(FIRST, "1")],
        [secret(FIRST, "1", {**FIRST.stored, "data": {"index": -1}})],
        {"stored events differing from what was sent": 1},
    ),
    "an accepted event whose Job is being deleted": lambda: (
        [job(FIRST, "1", deleting=True)],
        [secret(FIRST, "1")],
        {"accepted events whose Job is being deleted": 1},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_the_audit_reports_exactly_the_damage_present(case: Case) -> None:
    jobs, secrets, expected = case()
    sent = {e.key: e for e in EVENTS}
    accepted = sent if len(jobs) == len(EVENTS) else {FIRST.key: FIRST}
    report = judge([stored(j) for j in jobs], [stored(s) for s in secrets], sent, accepted)
    assert report.problems == expected, report.summary()
    assert report.clean == (not expected)
