"""The side-by-side phase of ``make bench-receiver``: our receiver and Knative Eventing's
``cmd/jobsink`` on the same control plane, the same events, the same load generator.

Contenders (``--contenders``):

* ``ours``: ``jobsink receiver`` as the other phases run it (``--max-inflight 64``, status
  reconciler off: Knative's receiver does not keep a status either). It has no client-side rate
  limiter, so it is at least at the raised limits Knative gets;
* ``knative``: Knative's receiver with ``KUBE_API_QPS=1000 KUBE_API_BURST=2000``;
* ``knative-defaults``: Knative's receiver as shipped (client-go's 5 requests/s, bursts of 10),
  in one short window: it is rate limited to a few events per second.

Each contender has a namespace and JobSink of its own, so the exactly-once audits are separate.
``ours`` and ``knative`` both run from the start to the end of their phase and take turns:
``--repeats`` times, each sends the same fresh events (``--events`` unique ones, then the same
again as duplicates), in the order ours, Knative, then Knative, ours, and so on, so that drift in
the shared machine's load and the Jobs piling up in the cluster weigh on both alike. Knative's
ports are fixed, so ``knative-defaults`` runs after ``knative`` has stopped.

Before the first turn each gets 50 events that are not counted (they would charge connection
set-up and first-use work to whoever goes first). Per window: the sender's time and latencies,
and the CPU (utime + stime from /proc) of the receiver and of kube-apiserver over exactly that
time; per contender the peak RSS, sampled every 250 ms from its start and checked against the
kernel's VmHWM. With ``--profile``, one more unique window of ours (fresh events, not counted in
the figures) is recorded by py-spy.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
import tempfile
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import knative_receiver, receiver_pyspy
from bench import receiver_load as loadgen
from bench.cluster import kubectl
from bench.contender_figures import (
    DUPLICATE,
    UNIQUE,
    ContenderFigures,
    Window,
    contender_figures,
    ratios,
    table,
)
from bench.exactly_once import NAMING, audit
from bench.receiver_process import RssSampler, apiserver_pid, cpu_seconds, memory, start_receiver
from bench.receiver_sink import SINK, event_request, event_source, prepare
from jobsink.names import LABEL_SINK_NAME

CONTENDERS = ("ours", "knative", "knative-defaults")
WARM_UP = 50
RAISED = knative_receiver.ClientLimits(qps=1000, burst=2000)
SHIPPED = knative_receiver.ClientLimits()
LABELS = {
    "ours": "JobSink for Python",
    "knative": "Knative, QPS 1000 / burst 2000",
    "knative-defaults": "Knative, shipped defaults",
}


@dataclass
class Contender:
    name: str
    implementation: str
    namespace: str
    port: int
    pid: int
    ready_rss_mb: float
    sent: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Settings:
    contenders: Sequence[str]
    events: int
    concurrency: int
    repeats: int
    defaults_events: int
    max_inflight: int
    profile: bool


def parse_contenders(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in CONTENDERS]
    if unknown:
        raise SystemExit(f"--contenders: unknown {unknown}; choose from {', '.join(CONTENDERS)}")
    return names


def run_window(
    target: Contender, kind: str, run: str, count: int, concurrency: int, apiserver: int | None
) -> Window:
    request = event_request(target.namespace, run)
    receiver_before = cpu_seconds(target.pid)
    apiserver_before = cpu_seconds(apiserver) if apiserver else 0.0
    result = asyncio.run(loadgen.run("127.0.0.1", target.port, request, count, concurrency))
    receiver_cpu = cpu_seconds(target.pid) - receiver_before
    apiserver_cpu = cpu_seconds(apiserver) - apiserver_before if apiserver else None
    if kind == UNIQUE:
        target.sent += [(event_source(run), str(index)) for index in range(count)]
    print(
        f"[side by side] {target.name}, {result.sent} {kind}: {result.rate:.1f}/s, receiver CPU "
        f"{receiver_cpu * 1000 / max(result.sent, 1):.2f} ms per event",
        file=sys.stderr,
        flush=True,
    )
    return Window(
        contender=target.name,
        kind=kind,
        events=result.sent,
        seconds=result.seconds,
        latencies=result.latencies,
        receiver_cpu_seconds=receiver_cpu,
        apiserver_cpu_seconds=apiserver_cpu,
        statuses=result.statuses,
        retries=result.retries,
    )


def _both_kinds(
    target: Contender, count: int, concurrency: int, apiserver: int | None
) -> list[Window]:
    run = uuid.uuid4().hex[:8]
    return [
        run_window(target, kind, run, count, concurrency, apiserver) for kind in (UNIQUE, DUPLICATE)
    ]


@contextlib.contextmanager
def _ours(kubeconfig: str, max_inflight: int, sampler: RssSampler) -> Iterator[Contender]:
    namespace = prepare(kubeconfig)
    process, port = start_receiver(kubeconfig, max_inflight)
    try:
        sampler.watch("ours", process.pid)
        ready = memory(process.pid).get("VmRSS", 0.0)
        yield Contender("ours", "ours", namespace, port, process.pid, ready)
    finally:
        process.terminate()
        process.wait(30)


@contextlib.contextmanager
def _knative(
    kubeconfig: str,
    name: str,
    limits: knative_receiver.ClientLimits,
    sampler: RssSampler,
    logs: Path,
) -> Iterator[Contender]:
    namespace = prepare(kubeconfig)
    knative_receiver.publish_address(kubeconfig, namespace, SINK)
    with knative_receiver.knative_receiver(kubeconfig, limits, logs / f"{name}.log") as process:
        sampler.watch(name, process.pid)
        ready = memory(process.pid).get("VmRSS", 0.0)
        yield Contender(name, "knative", namespace, knative_receiver.HTTP_PORT, process.pid, ready)


def _audit(kubeconfig: str, target: Contender) -> dict[str, Any]:
    selector = f"{LABEL_SINK_NAME}={SINK}"
    listed = {
        kind: json.loads(
            kubectl(kubeconfig, "get", kind, "-n", target.namespace, "-l", selector, "-o", "json")
        )["items"]
        for kind in ("jobs", "secrets")
    }
    naming = NAMING[target.implementation]
    return audit(SINK, naming, target.sent, listed["jobs"], listed["secrets"]).as_dict()


def side_by_side(kubeconfig: str, settings: Settings) -> dict[str, Any]:
    """Runs the phase; its figures, the Markdown table and (``profile``) py-spy's top entries."""
    apiserver = apiserver_pid(kubeconfig)
    load_before = os.getloadavg()
    names = settings.contenders
    windows: list[Window] = []
    peaks: dict[str, float] = {}
    finished: list[Contender] = []
    profile: list[str] = []
    if any(name.startswith("knative") for name in names):
        knative_receiver.check_ports()  # before anything is installed or measured
        knative_receiver.install_prerequisites(kubeconfig)
    with (
        tempfile.TemporaryDirectory(prefix="bench-knative-") as logs,
        RssSampler() as sampler,
        _ours(kubeconfig, settings.max_inflight, sampler)
        if "ours" in names
        else contextlib.nullcontext() as ours,
    ):
        with (
            _knative(kubeconfig, "knative", RAISED, sampler, Path(logs))
            if "knative" in names
            else contextlib.nullcontext() as raised
        ):
            turns = [target for target in (ours, raised) if target is not None]
            for target in turns:
                # Not counted: the first requests also pay for connections and lazy imports.
                run_window(
                    target, UNIQUE, uuid.uuid4().hex[:8], WARM_UP, settings.concurrency, None
                )
            for repeat in range(settings.repeats):
                for target in turns if repeat % 2 == 0 else turns[::-1]:
                    windows += _both_kinds(target, settings.events, settings.concurrency, apiserver)
            if settings.profile and ours is not None:
                profile = _profile(ours, settings, Path(logs))
            if raised is not None:
                peaks["knative"] = sampler.peak("knative")
                finished.append(raised)
        if "knative-defaults" in names:
            with _knative(kubeconfig, "knative-defaults", SHIPPED, sampler, Path(logs)) as slow:
                windows += _both_kinds(
                    slow, settings.defaults_events, settings.concurrency, apiserver
                )
                peaks["knative-defaults"] = sampler.peak("knative-defaults")
                finished.append(slow)
        if ours is not None:
            peaks["ours"] = sampler.peak("ours")
            finished.insert(0, ours)
    figures = [
        contender_figures(
            target.name, windows, peaks[target.name], target.ready_rss_mb,
            _audit(kubeconfig, target),
        )
        for target in finished
    ]  # fmt: skip
    return _report(figures, settings, apiserver, load_before, profile)


def _profile(ours: Contender, settings: Settings, directory: Path) -> list[str]:
    output = directory / "ours-unique.txt"
    run = uuid.uuid4().hex[:8]
    with receiver_pyspy.recording(ours.pid, output):
        run_window(ours, UNIQUE, run, settings.events, settings.concurrency, None)
    return receiver_pyspy.top_entries(output.read_text())


def _report(
    figures: list[ContenderFigures],
    settings: Settings,
    apiserver: int | None,
    load_before: tuple[float, float, float],
    profile: list[str],
) -> dict[str, Any]:
    by_name = {f.name: f for f in figures}
    conditions = {
        "events": settings.events,
        "warm_up_events": WARM_UP,
        "repeats": settings.repeats,
        "knative_defaults_events": settings.defaults_events,
        "concurrency": settings.concurrency,
        "cpus": os.cpu_count(),
        "load_average_1m_before_after": [round(load_before[0], 2), round(os.getloadavg()[0], 2)],
        "knative_limits": {"knative": RAISED.describe(), "knative-defaults": SHIPPED.describe()},
        "ours_limits": "no client-side rate limiter",
        "apiserver_cpu_measured": apiserver is not None,
    }
    result: dict[str, Any] = {
        "conditions": conditions,
        "contenders": {f.name: f.as_dict() for f in figures},
        "table": table(figures, LABELS),
    }
    if "ours" in by_name and "knative" in by_name:
        result["ours_over_knative"] = ratios(by_name["ours"], by_name["knative"])
    if profile:
        result["profile_ours_unique"] = profile
    return result
