"""This checkout's receiver beside another checkout's, on one control plane, in alternating
windows: the before/after figures of a change measured in one run, so the shared machine's
drifting load weighs on both alike.

``python bench/receiver_versus.py --against DIR`` where DIR holds the other code (for example
``git archive <commit> | tar -x -C DIR``); it runs on this venv. Each round sends every
contender a window of new events, then, after all rounds, the same events again as duplicates
in windows alternating the same way; which contender goes first swaps every round. Last, each
contender is started afresh over all the Jobs the run made (the start-up list: the watch burst).
Reported per contender: events/s and p50/p99 latency, CPU per unique event and per duplicate
(all threads, the event loop's thread, the kernel's share), RSS at ready and peak, and the ratios
of this checkout's figures to the other's.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_bench  # noqa: E402
from bench.cluster import cluster  # noqa: E402
from bench.receiver_profile import Window, rss_mb, window  # noqa: E402
from controlplane.ports import free_ports  # noqa: E402


@dataclass
class Contender:
    name: str
    code: Path
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    rss_at_ready_mb: float = 0.0
    windows: dict[str, list[Window]] = field(default_factory=lambda: {"unique": [], "dup": []})

    def start(self, kubeconfig: str, max_inflight: int) -> None:
        self.port = free_ports(1)[0]
        argv = [sys.executable, "-c", "import sys; from cli.main import app; sys.argv[0] = "
                "'jobsink'; app()", "receiver", "--host=127.0.0.1", f"--port={self.port}",
                f"--kubeconfig={kubeconfig}", f"--max-inflight={max_inflight}", "--no-status",
                "--log-level=warning"]  # fmt: skip
        if self.code == REPO:
            argv[2] = "from cli.entry import main; main()"
        env = {**os.environ, "PYTHONPATH": str(self.code)}
        self.process = subprocess.Popen(
            argv, cwd=self.code, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        for _ in range(600):
            with contextlib.suppress(httpx.HTTPError):
                url = f"http://127.0.0.1:{self.port}/readyz"
                if httpx.get(url, timeout=1).status_code == 200:
                    self.rss_at_ready_mb = rss_mb(self.process.pid)[0]
                    return
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: the receiver did not become ready")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(30)
            self.process = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def figures(self, kind: str) -> dict[str, Any]:
        windows = self.windows[kind]
        events = sum(w.events for w in windows)
        seconds = sum(w.seconds for w in windows)
        per_event = {
            "cpu_ms_per_event": sum(w.cpu for w in windows),
            "event_loop_cpu_ms_per_event": sum(w.loop_cpu for w in windows),
            "system_cpu_ms_per_event": sum(w.system_cpu for w in windows),
        }
        return {
            "events": events,
            "events_per_s": round(events / seconds, 1),
            **{key: round(value * 1000 / events, 3) for key, value in per_event.items()},
            "p50_ms_median_window": sorted(w.p50_ms for w in windows)[len(windows) // 2],
            "p99_ms_worst_window": max(w.p99_ms for w in windows),
            "statuses": dict(sum((Counter(w.statuses) for w in windows), Counter())),
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, required=True, help="the other checkout")
    parser.add_argument("--events", type=int, default=1000, help="unique events per contender")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    contenders = [Contender("before", args.against.resolve()), Contender("after", REPO)]
    chunk = args.events // args.rounds
    run = uuid.uuid4().hex[:8]
    with cluster(args.kubeconfig) as kubeconfig:
        namespace = receiver_bench.prepare(kubeconfig)
        try:
            for contender in contenders:
                contender.start(kubeconfig, args.max_inflight)
            for kind in ("unique", "dup"):
                for number in range(args.rounds):
                    order = contenders if number % 2 == 0 else contenders[::-1]
                    for contender in order:
                        offset = number * chunk
                        request = receiver_bench.event_request(
                            namespace, f"{run}-{contender.name}", offset
                        )
                        contender.windows[kind].append(
                            window(contender.pid, contender.port, request, chunk, args.concurrency)
                        )
            peaks = {c.name: rss_mb(c.pid)[1] for c in contenders}
        finally:
            for contender in contenders:
                contender.stop()
        bursts = {}
        for contender in contenders:
            contender.start(kubeconfig, args.max_inflight)
            time.sleep(2)
            bursts[contender.name] = rss_mb(contender.pid)[1]
            contender.stop()
    figures: dict[str, Any] = {"events_per_contender": chunk * args.rounds, "rounds": args.rounds}
    for contender in contenders:
        figures[contender.name] = {
            "unique": contender.figures("unique"),
            "duplicate": contender.figures("dup"),
            "rss_at_ready_mb": contender.rss_at_ready_mb,
            "peak_rss_mb": peaks[contender.name],
            "burst_peak_rss_mb": bursts[contender.name],
        }
    before, after = figures["before"], figures["after"]
    figures["after_over_before"] = {
        f"{kind} {key}": round(after[kind][key] / before[kind][key], 2)
        for kind in ("unique", "duplicate")
        for key in ("events_per_s", "cpu_ms_per_event", "event_loop_cpu_ms_per_event")
        if before[kind][key]
    } | {
        key: round(after[key] / before[key], 2)
        for key in ("rss_at_ready_mb", "peak_rss_mb", "burst_peak_rss_mb")
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
