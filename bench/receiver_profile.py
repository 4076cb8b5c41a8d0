"""Where a running receiver's CPU and memory go: py-spy attached to its process, and a driver that
measures CPU per unique event and per duplicate, and RSS at ready, under load and through a
watch burst.

The profiler half is what ``bench/receiver_bench.py --profile`` calls::

    with Recording(pid, Path("out.raw")) as recording:
        ...  # load the receiver
    for line in top_entries(recording.path):
        print(line)

py-spy samples the process from outside (``record --format raw``: one line per distinct stack,
``thread (tid): name;outermost (file);...;innermost (file) count``), so the receiver runs
unchanged, and only stacks that were running are sampled (idle threads are left out), which
makes the sample counts a picture of CPU, not of waiting.

The driver (``python bench/receiver_profile.py``): a control plane (or ``--kubeconfig``), the
documentation's logger JobSink in a fresh namespace, one ``jobsink receiver`` started as
``bench/receiver_bench.py`` starts it, then unique events, the same events again, an optional
profiled window of each, and last a second receiver started over the Jobs the first one made
(it lists them all at start: the watch burst). CPU is the receiver pid's utime + stime from
``/proc`` over a window, divided by the events sent in it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_bench  # noqa: E402
from bench import receiver_load as loadgen  # noqa: E402
from bench.cluster import cluster  # noqa: E402

_THREAD_NUMBER = re.compile(r"[_-]?\d+$")


def py_spy() -> str:
    """The py-spy executable beside this interpreter (the bench extra installs it), else PATH's."""
    beside = Path(sys.executable).parent / "py-spy"
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed: pip install -e '.[bench]'")
    return found


class Recording:
    """py-spy recording ``pid`` into ``path`` (raw format) from ``__enter__`` to ``__exit__``.

    ``rate``: samples per second. ``native``: also C frames (uvloop, ssl, json's C parts), at a
    higher cost to the sampled process. ``gil``: only samples of the thread holding the GIL, which
    is what Python code runs on; py-spy's own idle detection does not see a worker blocked in a
    queue or a TLS read as idle, so without it waiting threads fill the profile. C work that
    releases the GIL (TLS encryption, the kernel's side of a socket) is then not counted.
    """

    def __init__(
        self, pid: int, path: Path, *, rate: int = 200, native: bool = False, gil: bool = True
    ) -> None:
        self.pid = pid
        self.path = path
        self.rate = rate
        self.native = native
        self.gil = gil
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Recording:
        argv = [py_spy(), "record", "--pid", str(self.pid), "--format", "raw", "--threads",
                "--output", str(self.path), "--rate", str(self.rate), "--nolineno"]  # fmt: skip
        if self.native:
            argv.append("--native")
        if self.gil:
            argv.append("--gil")
        self._process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        time.sleep(0.5)  # attached before the window starts
        if self._process.poll() is not None:
            error = self._process.stderr.read().decode() if self._process.stderr else ""
            raise RuntimeError(f"py-spy could not attach to {self.pid}: {error.strip()}")
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        process = self._process
        if process is None:
            return
        # SIGINT is how py-spy is told to stop sampling and write what it has.
        process.send_signal(signal.SIGINT)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass(frozen=True)
class Stack:
    """One distinct stack of a raw recording: its thread's name, its frames outermost first."""

    thread: str
    frames: tuple[str, ...]
    samples: int


def parse_raw(text: str) -> list[Stack]:
    """The stacks of a py-spy raw recording made with ``--threads``."""
    stacks = []
    for line in text.splitlines():
        body, _, count = line.rpartition(" ")
        if not body or not count.isdigit():
            continue
        parts = body.split(";")
        thread = parts[0].split(": ", 1)[1] if parts[0].startswith("thread (") else ""
        frames = tuple(parts[1:]) if parts[0].startswith("thread (") else tuple(parts)
        stacks.append(Stack(thread, frames, int(count)))
    return stacks


def thread_kind(name: str) -> str:
    """A thread's name without its pool number: ``jobsink-kube_12`` -> ``jobsink-kube``."""
    return _THREAD_NUMBER.sub("", name) or "?"


@dataclass
class Profile:
    """Sample counts of a recording: in total, by innermost frame (self), by every frame on the
    stack, counted once per stack (cumulative), and by thread kind."""

    total: int = 0
    own: Counter[str] = field(default_factory=Counter)
    cumulative: Counter[str] = field(default_factory=Counter)
    threads: Counter[str] = field(default_factory=Counter)

    @classmethod
    def of(cls, stacks: Iterable[Stack]) -> Profile:
        profile = cls()
        for stack in stacks:
            profile.total += stack.samples
            profile.threads[thread_kind(stack.thread)] += stack.samples
            if stack.frames:
                profile.own[stack.frames[-1]] += stack.samples
            for frame in set(stack.frames):
                profile.cumulative[frame] += stack.samples
        return profile

    def share(self, count: int) -> float:
        return 100.0 * count / self.total if self.total else 0.0


def top_entries(recording: Path | str, n: int = 20) -> list[str]:
    """Printable lines: the ``n`` frames with most self time, the ``n`` with most cumulative time,
    and the share of each thread kind, as percentages of all samples. ``recording`` is a raw
    file's path, or its text."""
    text = recording.read_text() if isinstance(recording, Path) else recording
    profile = Profile.of(parse_raw(text))
    lines = [f"{profile.total} samples", f"top {n} by self time:"]
    lines += [f"  {profile.share(c):5.1f}%  {frame}" for frame, c in profile.own.most_common(n)]
    lines.append(f"top {n} by cumulative time:")
    lines += [
        f"  {profile.share(c):5.1f}%  {frame}" for frame, c in profile.cumulative.most_common(n)
    ]
    lines.append("by thread:")
    lines += [f"  {profile.share(c):5.1f}%  {kind}" for kind, c in profile.threads.most_common()]
    return lines


# -- the driver ---------------------------------------------------------------------------------


def rss_mb(pid: int) -> tuple[float, float]:
    """(current, peak) resident set of ``pid`` in MB."""
    found = receiver_bench.memory(pid)
    return round(found.get("VmRSS", 0.0), 1), round(found.get("VmHWM", 0.0), 1)


def system_cpu_seconds(pid: int) -> float:
    """System (kernel) CPU time of a process so far: its syscalls, and the context switches of
    threads handing the GIL to each other."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[12]) / os.sysconf("SC_CLK_TCK")


def main_thread_cpu_seconds(pid: int) -> float:
    """User + system CPU time of the process's main thread (the event loop's) so far."""
    fields = Path(f"/proc/{pid}/task/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Window:
    """One load window: events sent, seconds, the receiver's CPU seconds (all threads, and the
    event loop's thread alone), and the latencies."""

    events: int
    seconds: float
    cpu: float
    loop_cpu: float
    system_cpu: float
    p50_ms: float
    p99_ms: float
    statuses: dict[int, int]

    def figures(self) -> dict[str, Any]:
        return {
            "events": self.events,
            "events_per_s": round(self.events / self.seconds, 1),
            "cpu_ms_per_event": round(self.cpu * 1000 / self.events, 3),
            "event_loop_cpu_ms_per_event": round(self.loop_cpu * 1000 / self.events, 3),
            "system_cpu_ms_per_event": round(self.system_cpu * 1000 / self.events, 3),
            "p50_ms": self.p50_ms,
            "p99_ms": self.p99_ms,
            "statuses": self.statuses,
        }


def window(pid: int, port: int, request: loadgen.Request, count: int, concurrency: int) -> Window:
    before, loop_before = receiver_bench.cpu_seconds(pid), main_thread_cpu_seconds(pid)
    system_before = system_cpu_seconds(pid)
    result = asyncio.run(loadgen.run("127.0.0.1", port, request, count, concurrency))
    return Window(
        events=result.sent,
        seconds=result.seconds,
        cpu=receiver_bench.cpu_seconds(pid) - before,
        loop_cpu=main_thread_cpu_seconds(pid) - loop_before,
        system_cpu=system_cpu_seconds(pid) - system_before,
        p50_ms=round(result.percentile(0.5) * 1000, 1),
        p99_ms=round(result.percentile(0.99) * 1000, 1),
        statuses=dict(result.statuses),
    )


def profiled(
    pid: int,
    port: int,
    request: loadgen.Request,
    count: int,
    concurrency: int,
    top: int,
    native: bool = False,
) -> list[str]:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "profile.raw"
        with Recording(pid, path, native=native):
            window(pid, port, request, count, concurrency)
        return top_entries(path, top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--profile", action="store_true", help="also profile a window of each")
    parser.add_argument("--top", type=int, default=25, help="entries per profile list")
    parser.add_argument(
        "--native", action="store_true", help="profile C frames too (uvloop, ssl, orjson)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument(
        "--env", action="append", default=[], metavar="NAME=VALUE", help="for the receivers"
    )
    args = parser.parse_args()
    env = dict(item.split("=", 1) for item in args.env)
    figures: dict[str, Any] = {}
    profiles: dict[str, list[str]] = {}
    with cluster(args.kubeconfig) as kubeconfig:
        namespace = receiver_bench.prepare(kubeconfig)
        process, port = receiver_bench.start_receiver(kubeconfig, args.max_inflight, env)
        run = uuid.uuid4().hex[:8]
        try:
            figures["rss_at_ready_mb"] = rss_mb(process.pid)[0]
            unique = receiver_bench.event_request(namespace, run)
            figures["unique"] = window(
                process.pid, port, unique, args.events, args.concurrency
            ).figures()
            figures["duplicate"] = window(
                process.pid, port, unique, args.events, args.concurrency
            ).figures()
            if args.profile:
                more = receiver_bench.event_request(namespace, run, args.events)
                profiles["unique"] = profiled(
                    process.pid, port, more, args.events, args.concurrency, args.top, args.native
                )
                profiles["duplicate"] = profiled(
                    process.pid, port, more, args.events, args.concurrency, args.top, args.native
                )
            figures["rss_after_load_mb"], figures["peak_rss_mb"] = rss_mb(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        # A second receiver lists every Job the first one made: the start-up watch burst.
        burst, _ = receiver_bench.start_receiver(kubeconfig, args.max_inflight, env)
        try:
            time.sleep(2)  # the Job index's list has been applied and released
            now, peak = rss_mb(burst.pid)
            figures["burst"] = {"jobs_listed": 2 * args.events if args.profile else args.events,
                                "rss_mb": now, "peak_rss_mb": peak}  # fmt: skip
        finally:
            burst.terminate()
            burst.wait(30)
    for name, lines in profiles.items():
        print(f"== profile: {name} ==")
        print("\n".join(lines))
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps({**figures, "profiles": profiles}, indent=2) + "\n")


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
