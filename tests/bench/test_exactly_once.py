"""The exactly-once audit of the side-by-side benchmark, for our naming scheme and Knative's."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from bench.exactly_once import NAMING, audit, knative_job_name
from jobsink.names import job_name

SINK = "bench-sink"


@pytest.mark.parametrize(
    ("sink", "source", "id", "expected"),
    [
        # Knative's own receiver named this Job on the benchmark's control plane.
        ("bench-sink", "bench/x", "1", "bench-sink-0f1f554e0c36943ac254101fea683b54"),
        # The hash input is the bare concatenation: md5("") for an empty source and id.
        ("s", "", "", "s-d41d8cd98f00b204e9800998ecf8427e"),
        # A parent of 31 characters is the longest kept whole (31 + 32 = 63).
        ("a" * 30, "src", "1", "a" * 30 + "-8330c47ad2c1594f58ed3c1493e14a4a"),
        # Longer parents are cut to 31 characters and the suffix is md5(parent + suffix). These
        # and the next are what knative.dev/pkg's kmeta.ChildName (the pinned version) returns.
        ("b" * 40, "src", "1", "b" * 31 + "c2544fdda375b93e11e68242e2e436e7"),
        ("abcdefghijklmnopqrstuvwxyz-abcd", "s", "2",
         "abcdefghijklmnopqrstuvwxyz-abcd8443244a26b2555cc4d9a399931a0fda"),
        # One character shorter, the parent (with its '-') is kept whole again.
        ("abcdefghijklmnopqrstuvwxyz-abc", "s", "2",
         "abcdefghijklmnopqrstuvwxyz-abc-fac989447cad2edbc89fbcba70003b36"),
    ],
)  # fmt: skip
def test_knative_job_name_is_kmeta_child_name_of_the_md5(
    sink: str, source: str, id: str, expected: str
) -> None:
    assert knative_job_name(sink, source, id) == expected


def _event(source: str, id: str) -> str:
    return base64.b64encode(json.dumps({"source": source, "id": id}).encode()).decode()


def _namespace(
    naming: str, events: list[tuple[str, str]], *, skip_secret: str | None = None
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Jobs and Secrets as the receiver of ``naming`` writes them for ``events``."""
    jobs, secrets = [], []
    for source, id in events:
        name = NAMING[naming](SINK, source, id)
        uid = f"uid-{name}"
        jobs.append({"metadata": {"name": name, "uid": uid}})
        if name == skip_secret:
            continue
        owner = {"kind": "Job", "name": name, "uid": uid, "controller": True}
        secrets.append(
            {
                "metadata": {"name": name, "ownerReferences": [owner]},
                "data": {"event": _event(source, id)},
            }
        )
    return jobs, secrets


EVENTS = [("bench/r", str(i)) for i in range(5)]


@pytest.mark.parametrize("naming", ["ours", "knative"])
@pytest.mark.parametrize(
    ("case", "sent", "written", "exactly_once", "differs"),
    [
        ("all there", EVENTS, EVENTS, True, {}),
        ("duplicates sent twice, written once", EVENTS + EVENTS, EVENTS, True, {}),
        ("one lost", EVENTS, EVENTS[:4], False, {"jobs": 4, "secrets": 4, "missing_jobs": 1}),
        (
            "one nobody sent",
            EVENTS[:4],
            EVENTS,
            False,
            {"distinct_events": 4, "unexpected_jobs": 1},
        ),
    ],
)
def test_audit_counts_what_is_missing_or_extra(
    naming: str,
    case: str,
    sent: list[tuple[str, str]],
    written: list[tuple[str, str]],
    exactly_once: bool,
    differs: dict[str, int],
) -> None:
    jobs, secrets = _namespace(naming, written)
    result = audit(SINK, NAMING[naming], sent, jobs, secrets)
    clean = {
        "distinct_events": 5, "jobs": 5, "secrets": 5, "missing_jobs": 0, "unexpected_jobs": 0,
        "jobs_without_secret": 0, "secrets_not_owned_by_their_job": 0,
        "secrets_with_a_foreign_event": 0,
    }  # fmt: skip
    assert result.as_dict() == {**clean, **differs, "exactly_once": exactly_once}, case


@pytest.mark.parametrize("naming", ["ours", "knative"])
def test_audit_refuses_a_job_without_its_secret(naming: str) -> None:
    lonely = NAMING[naming](SINK, *EVENTS[2])
    jobs, secrets = _namespace(naming, EVENTS, skip_secret=lonely)
    result = audit(SINK, NAMING[naming], EVENTS, jobs, secrets)
    assert (result.jobs_without_secret, result.secrets, result.exactly_once) == (1, 4, False)


@pytest.mark.parametrize("naming", ["ours", "knative"])
def test_audit_refuses_secrets_owned_by_another_job_or_holding_another_event(naming: str) -> None:
    jobs, secrets = _namespace(naming, EVENTS)
    secrets[0]["metadata"]["ownerReferences"][0]["uid"] = "someone-else"
    secrets[1]["data"]["event"] = _event(*EVENTS[2])
    result = audit(SINK, NAMING[naming], EVENTS, jobs, secrets)
    assert result.secrets_not_owned_by_their_job == 1
    assert result.jobs_without_secret == 1
    assert result.secrets_with_a_foreign_event == 1
    assert not result.exactly_once


def test_the_schemes_are_not_interchangeable() -> None:
    """Auditing one receiver's namespace with the other's names finds nothing expected."""
    jobs, secrets = _namespace("knative", EVENTS)
    result = audit(SINK, NAMING["ours"], EVENTS, jobs, secrets)
    assert (result.missing_jobs, result.unexpected_jobs) == (5, 5)
    assert job_name(SINK, *EVENTS[0]) != knative_job_name(SINK, *EVENTS[0])
