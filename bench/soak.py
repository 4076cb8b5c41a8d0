"""Soak: a steady event load for N minutes with faults on a schedule, then the full audit.

    python bench/soak.py [--minutes 30] [--rate 20] [--fault-every 120] [--workdir DIR]

It starts a dedicated local stack (control plane, registered webhook, a JobSink with suspended
Jobs, receivers ``a`` and ``b``), then for ``--minutes``:

* starts ``--rate`` events a second through a retrying sender, round-robin over both receivers
  (the fault suite's sender: 429/5xx/connection errors retried with backoff, budget 120 s);
* creates a JobSink with server-side dry-run twice a second, so both webhooks keep working;
* every ``--fault-every`` seconds injects the next fault in rotation: ``kill -9`` of receiver a
  (restarted on its port), kube-apiserver down ``--apiserver-down`` s, etcd frozen
  ``--etcd-freeze`` s; receiver b and the webhook are never killed, so their RSS drift is the
  whole run's.

Then it waits for every event to settle, audits (``tests/e2e/faults/audit.py``: one Job and
one Secret per accepted event, no orphans after the sweeper's turn, stored events equal to what
was sent), and prints RSS (start, peak, end) per process, every HTTP outcome's count, answer
and delivery latency, the faults as injected, and the audit. Exit status 0 only if every event
was accepted and the audit is clean. Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from kubernetes import client

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from controlplane.layout import Layout  # noqa: E402
from jobsink.types import GROUP, PLURAL, VERSION  # noqa: E402
from tests.e2e.faults.audit import audit_until_clean  # noqa: E402
from tests.e2e.faults.cluster import (  # noqa: E402
    RECEIVER_REQUEST_TIMEOUT,
    FaultCluster,
    start_fault_cluster,
    suspended_sink,
    sweeping_env,
)
from tests.e2e.faults.events import EventKey, SentEvent, make_event  # noqa: E402
from tests.e2e.faults.injectors import (  # noqa: E402
    Fault,
    FreezeEtcd,
    KillReceiver,
    RestartApiserver,
)
from tests.e2e.faults.memory import MIB, RssTrack  # noqa: E402
from tests.e2e.faults.sender import RetryingSender, percentile  # noqa: E402

MAX_MINUTES = 240.0
MAX_RATE = 500.0
RSS_EVERY = 5.0
PROGRESS_EVERY = 60.0
ADMISSION_EVERY = 0.5


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="load duration (max 240)")
    parser.add_argument("--rate", type=float, default=20.0, help="events started per second")
    parser.add_argument("--fault-every", type=float, default=120.0, help="seconds between faults")
    parser.add_argument("--apiserver-down", type=float, default=20.0, help="seconds")
    parser.add_argument("--etcd-freeze", type=float, default=15.0, help="seconds")
    parser.add_argument("--sweep-interval", type=float, default=10.0, help="receiver sweeper")
    parser.add_argument("--sweep-grace", type=float, default=60.0, help="receiver sweeper")
    parser.add_argument(
        "--workdir", type=Path, help="its logs are kept afterwards (default: a temp dir)"
    )
    args = parser.parse_args()
    if not 0 < args.minutes <= MAX_MINUTES:
        parser.error(f"--minutes: between 0 and {MAX_MINUTES:.0f}")
    if not 0 < args.rate <= MAX_RATE:
        parser.error(f"--rate: between 0 and {MAX_RATE:.0f}")
    if args.fault_every <= 0:
        parser.error("--fault-every: more than 0")
    if args.sweep_grace <= RECEIVER_REQUEST_TIMEOUT:
        parser.error(
            f"--sweep-grace: more than the receiver's {RECEIVER_REQUEST_TIMEOUT:g}s request "
            "deadline, or the sweeper may delete a Job whose Secret is on its way"
        )
    return args


@dataclass
class Memory:
    """RSS of each watched process, one track per incarnation (a restart starts a new one)."""

    tracks: dict[str, list[RssTrack]] = field(default_factory=dict)

    def sample(self, name: str, pid: int) -> None:
        tracks = self.tracks.setdefault(name, [])
        if not tracks or tracks[-1].pid != pid:
            if (track := RssTrack.begin(pid)) is not None:
                tracks.append(track)
            return
        tracks[-1].sample()

    def now(self) -> str:
        return ", ".join(
            f"{name} {tracks[-1].end / MIB:.0f} MiB" for name, tracks in self.tracks.items()
        )


@dataclass
class Soak:
    cluster: FaultCluster
    args: argparse.Namespace
    memory: Memory = field(default_factory=Memory)
    faults_done: list[str] = field(default_factory=list)
    admission: Counter[str] = field(default_factory=Counter)
    sent: dict[EventKey, SentEvent] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def elapsed(self) -> float:
        return time.monotonic() - self.began

    def say(self, message: str) -> None:
        print(f"[soak {self.elapsed():7.1f}s] {message}", flush=True)

    def rotation(self) -> Iterator[Fault]:
        cluster = self.cluster
        return itertools.cycle(
            [
                KillReceiver(cluster.receivers[0], down_seconds=1.0),
                RestartApiserver(cluster.plane, down_seconds=self.args.apiserver_down),
                FreezeEtcd(cluster.plane, frozen_seconds=self.args.etcd_freeze),
            ]
        )

    def events(self, run: str) -> Iterator[SentEvent]:
        for index in itertools.count():
            event = make_event(run, index)
            self.sent[event.key] = event
            yield event

    def sample_memory(self) -> None:
        for receiver in self.cluster.receivers:
            self.memory.sample(receiver.name, receiver.process.pid)
        if self.cluster.webhook is not None:
            self.memory.sample("webhook", self.cluster.webhook.process.pid)

    async def watch_memory(self) -> None:
        while not self.done.is_set():
            self.sample_memory()
            await asyncio.sleep(RSS_EVERY)

    async def inject_faults(self, until: float) -> None:
        """Fault k at ``k * fault_every`` s (or as soon as fault k-1 is repaired, if later)."""
        for number, fault in enumerate(self.rotation(), start=1):
            at = number * self.args.fault_every
            if at >= until:
                return
            await asyncio.sleep(max(0.0, at - self.elapsed()))
            self.say(f"fault: {fault.name}")
            began = time.monotonic()
            await asyncio.to_thread(fault.inject)
            lasted = time.monotonic() - began
            self.faults_done.append(f"t={began - self.began:.0f}s {fault.name} ({lasted:.1f}s)")
            self.say(f"repaired: {fault.name} after {lasted:.1f}s")

    def _dry_run_create(self, api: client.CustomObjectsApi, body: dict[str, object]) -> str:
        try:
            api.create_namespaced_custom_object(
                GROUP, VERSION, self.cluster.namespace, PLURAL, body, dry_run="All",
                _request_timeout=30,
            )  # fmt: skip
        except client.ApiException as error:
            return str(error.status) if error.status else "connection-error"
        except Exception:  # urllib3's connection errors come as several types
            return "connection-error"
        return "201"

    async def exercise_webhook(self) -> None:
        api = client.CustomObjectsApi(self.cluster.api)
        body = suspended_sink("soak-admission-probe", self.cluster.namespace)
        while not self.done.is_set():
            self.admission[await asyncio.to_thread(self._dry_run_create, api, body)] += 1
            await asyncio.sleep(ADMISSION_EVERY)

    async def progress(self, sender: RetryingSender) -> None:
        while not self.done.is_set():
            await asyncio.sleep(PROGRESS_EVERY)
            tally = sender.tally
            self.say(
                f"{len(tally.accepted)} accepted, {tally.outstanding} outstanding, "
                f"outcomes {dict(sorted(tally.codes.items()))}; RSS {self.memory.now()}"
            )

    async def run(self) -> tuple[RetryingSender, int]:
        seconds = self.args.minutes * 60
        async with RetryingSender(
            self.cluster.receiver_urls, self.cluster.path, connections=256
        ) as sender:
            helpers = [
                asyncio.create_task(self.watch_memory()),
                asyncio.create_task(self.exercise_webhook()),
                asyncio.create_task(self.progress(sender)),
            ]
            faults = asyncio.create_task(self.inject_faults(until=seconds))
            skipped = await sender.paced(
                self.events(uuid.uuid4().hex[:8]),
                self.args.rate,
                seconds,
                max_outstanding=int(self.args.rate * 150),
            )
            faults.cancel()
            # A fault in progress is repaired before the audit (its thread cannot be cut).
            await asyncio.gather(faults, return_exceptions=True)
            self.done.set()
            await asyncio.gather(*helpers)
            self.sample_memory()
        return sender, skipped


def report(soak: Soak, sender: RetryingSender, skipped: int, seconds: float) -> bool:
    tally = sender.tally
    cluster = soak.cluster
    args = soak.args
    print("\n== soak report ==")
    print(
        f"load: {args.minutes:g} min at {args.rate:g} events/s started "
        f"({tally.started} events, {skipped} ticks skipped with the queue full), "
        f"{seconds:.0f}s until every event settled"
    )
    print(f"faults ({len(soak.faults_done)}): " + "; ".join(soak.faults_done))
    print("HTTP outcomes of every attempt: " + ", ".join(
        f"{code} x{count}" for code, count in sorted(tally.codes.items())
    ))  # fmt: skip
    print(
        f"events: {len(tally.accepted)} accepted, {len(tally.refused)} refused, "
        f"{len(tally.gave_up)} given up after 120 s of retries"
    )
    print(
        f"answer latency p50 {percentile(tally.answer_seconds, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(tally.answer_seconds, 0.99) * 1000:.0f} ms; delivery (first attempt "
        f"to 202) p50 {percentile(tally.delivery_seconds, 0.5) * 1000:.0f} ms, "
        f"p99 {percentile(tally.delivery_seconds, 0.99) * 1000:.0f} ms"
    )
    print("admission dry-runs: " + ", ".join(
        f"{code} x{count}" for code, count in sorted(soak.admission.items())
    ))  # fmt: skip
    print("RSS (start / peak / end, per process incarnation):")
    for name, tracks in soak.memory.tracks.items():
        for number, track in enumerate(tracks):
            label = name if number == 0 else f"{name} (restart {number})"
            print(f"  {label}: {track.describe()}")
    grace = args.sweep_grace + 3 * args.sweep_interval + 60
    verdict = audit_until_clean(
        cluster.api, cluster.namespace, cluster.sink, soak.sent, tally.accepted, timeout=grace
    )
    print(verdict.summary())
    if tally.refused:
        print(f"refused, e.g.: {list(tally.refused.items())[:3]}")
    return verdict.clean and len(tally.accepted) == tally.started


def main() -> int:
    args = parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="jobsink-soak-"))
    print(f"[soak] work directory {workdir} (logs under logs/)", flush=True)
    cluster = start_fault_cluster(
        workdir,
        receivers=2,
        receiver_env=sweeping_env(args.sweep_interval, args.sweep_grace),
        with_webhook=True,
        say=lambda message: print(f"[control plane] {message}", flush=True),
    )
    try:
        soak = Soak(cluster, args)
        soak.say(
            f"load {args.rate:g}/s for {args.minutes:g} min to {cluster.receiver_urls}, "
            f"a fault every {args.fault_every:g}s"
        )
        sender, skipped = asyncio.run(soak.run())
        return 0 if report(soak, sender, skipped, soak.elapsed()) else 1
    finally:
        cluster.stop()
        # The logs stay for reading; the etcd data (every Job and Secret of the run) does not.
        shutil.rmtree(Layout(workdir).etcd_data, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
