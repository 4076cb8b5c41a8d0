"""The profile summary ``bench/receiver_bench.py --profile`` prints: self and cumulative shares
and the share of each thread kind, from a py-spy raw recording."""

from __future__ import annotations

from bench.receiver_profile import Profile, parse_raw, thread_kind, top_entries

RAW = """\
thread (11): MainThread;run (asyncio/runners.py);handle (receiver/dataplane/handler.py) 6
thread (11): MainThread;run (asyncio/runners.py) 2
thread (12): jobsink-kube_0;_worker (concurrent/futures/thread.py);send (kubeapi/raw.py) 1
thread (13): jobsink-kube_17;_worker (concurrent/futures/thread.py);send (kubeapi/raw.py) 1
not a stack line
"""


def test_a_recording_is_read_stack_by_stack() -> None:
    stacks = parse_raw(RAW)
    assert [(s.thread, s.frames[-1], s.samples) for s in stacks] == [
        ("MainThread", "handle (receiver/dataplane/handler.py)", 6),
        ("MainThread", "run (asyncio/runners.py)", 2),
        ("jobsink-kube_0", "send (kubeapi/raw.py)", 1),
        ("jobsink-kube_17", "send (kubeapi/raw.py)", 1),
    ]


def test_self_cumulative_and_thread_shares() -> None:
    profile = Profile.of(parse_raw(RAW))
    assert profile.total == 10
    assert profile.own["run (asyncio/runners.py)"] == 2
    assert profile.cumulative["run (asyncio/runners.py)"] == 8
    assert dict(profile.threads) == {"MainThread": 8, "jobsink-kube": 2}


def test_the_printed_entries() -> None:
    lines = top_entries(RAW, 1)
    assert lines == [
        "10 samples",
        "top 1 by self time:",
        "   60.0%  handle (receiver/dataplane/handler.py)",
        "top 1 by cumulative time:",
        "   80.0%  run (asyncio/runners.py)",
        "by thread:",
        "   80.0%  MainThread",
        "   20.0%  jobsink-kube",
    ]


def test_thread_kinds_drop_the_pool_number() -> None:
    assert [thread_kind(n) for n in ("jobsink-kube_12", "MainThread", "")] == [
        "jobsink-kube",
        "MainThread",
        "?",
    ]
