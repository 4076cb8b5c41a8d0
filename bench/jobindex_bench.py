"""Job index benchmark against a real local apiserver: RSS and time to ready per indexed Job.

For each count in ``--counts`` (cumulative: 10k, then 90k more for 100k), it creates Jobs as the
receiver does (``jobsink.render``: the same labels, annotations and owner, a real JobSink), but
suspended (``spec.suspend: true``) so that none makes a Pod, from a bounded thread pool over
loopback. Then it starts the receiver's Job index (``receiver.jobindex.JobIndex``, every
namespace, as ``jobsink receiver`` runs it) in a fresh subprocess and prints, from that
process's /proc: RSS before the index starts, RSS once it is synced, the peak, RSS per indexed
Job, and the seconds from start to synced (the paged list).

Usage: ``python bench/jobindex_bench.py [--counts 10000,100000] [--concurrency 16]
[--page-size 1000] [--kubeconfig F]``. Without ``--kubeconfig`` it starts its own control plane
(etcd + kube-apiserver + kube-controller-manager) and stops it at the end. Every address is
loopback.
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.cluster import cluster, kubectl, logger_sink_in_new_namespace  # noqa: E402
from jobsink.event import CloudEvent  # noqa: E402
from jobsink.names import LABEL_SINK_ID  # noqa: E402
from jobsink.render import render  # noqa: E402
from kubeapi import object_client  # noqa: E402
from kubeapi.calls import Caller  # noqa: E402
from kubeapi.config import load_api_client, size_connection_pool  # noqa: E402
from kubeapi.listwatch import Listing, ListWatch, Page  # noqa: E402
from kubeapi.resources import JOBS  # noqa: E402
from receiver.jobindex import PAGE_SIZE, JobDigests, JobIndex  # noqa: E402

SINK = "bench-index"
READY_TIMEOUT = 600.0


def prepare(kubeconfig: str) -> dict[str, Any]:
    """A namespace with one JobSink; the JobSink as stored (its uid owns the Jobs, so the
    garbage collector keeps them)."""
    sink = logger_sink_in_new_namespace(kubeconfig, SINK)
    created = kubectl(kubeconfig, "create", "-o", "json", "-f", "-", input=json.dumps(sink))
    stored: dict[str, Any] = json.loads(created)
    return stored


class Creator:
    """Suspended Jobs exactly as the receiver renders them, from a bounded thread pool."""

    def __init__(self, kubeconfig: str, sink: dict[str, Any], concurrency: int) -> None:
        api = load_api_client(kubeconfig)
        size_connection_pool(api, concurrency + 4)
        self.jobs = object_client.jobs(Caller(api))
        self.sink = sink
        self.namespace = sink["metadata"]["namespace"]
        self.pool = ThreadPoolExecutor(concurrency)
        self.created = 0

    def job(self, index: int) -> dict[str, Any]:
        event = CloudEvent.from_attributes(
            {"specversion": "1.0", "id": str(index), "source": "bench/index", "type": "b"},
            None,
        )
        rendered = render(copy.deepcopy(self.sink), event).job
        rendered["spec"]["suspend"] = True
        return rendered

    def create(self, index: int) -> None:
        self.jobs.create(
            self.namespace, self.job(index), deadline=time.monotonic() + 60, answer=False
        )

    def up_to(self, count: int) -> float:
        """Jobs per second while creating up to ``count`` in all."""
        started = time.perf_counter()
        for _ in self.pool.map(self.create, range(self.created, count)):
            pass
        rate = (count - self.created) / (time.perf_counter() - started)
        self.created = count
        return rate


def memory_mib() -> dict[str, float]:
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def measure(kubeconfig: str, page_size: int) -> dict[str, float]:
    """In the subprocess: start the index, wait until synced, read this process's memory."""

    jobs = object_client.jobs(Caller(load_api_client(kubeconfig)))
    index = JobIndex(jobs, page_size=page_size)
    gc.collect()
    before = memory_mib()["VmRSS"]
    started = time.perf_counter()
    index.start()
    deadline = time.monotonic() + READY_TIMEOUT
    while not index.synced:
        if time.monotonic() > deadline:
            raise SystemExit("the index did not sync")
        time.sleep(0.05)
    ready = time.perf_counter() - started
    gc.collect()
    after = memory_mib()
    entries = len(index)
    index.stop()
    source = index.informer._source
    assert isinstance(source, ListWatch)
    items = source.list_page(page_size).items
    wire = len(json.dumps(items, separators=(",", ":"))) / max(len(items), 1)
    return {
        "entries": entries,
        "ready_s": round(ready, 2),
        "rss_before_mib": round(before, 1),
        "rss_ready_mib": round(after["VmRSS"], 1),
        "rss_peak_mib": round(after["VmHWM"], 1),
        "bytes_per_job": round((after["VmRSS"] - before) * 1024 * 1024 / max(entries, 1)),
        "json_bytes_per_job": round(wire),
    }


class SyntheticPages:
    """Pages of ``total`` Jobs' metadata as JSON text, copies of ``template`` (a real listed
    Job) under other names and uids, decoded as the client decodes a page: the index's list
    path without the apiserver, for counts this machine cannot create."""

    def __init__(self, template: dict[str, Any], total: int) -> None:
        self.text = json.dumps(template, separators=(",", ":"))
        self.name = template["metadata"]["name"]
        self.uid = template["metadata"]["uid"]
        self.total = total

    def list_page(self, limit: int, continue_token: str = "") -> Page:
        start = int(continue_token or 0)
        end = min(start + limit, self.total)
        items = ",".join(
            self.text.replace(self.name, f"bench-index-{i:026d}").replace(
                self.uid, f"{uuid.UUID(int=i)}"
            )
            for i in range(start, end)
        )
        decoded = json.loads(f'{{"items":[{items}]}}')
        return Page(decoded["items"], "1", str(end) if end < self.total else "")


def measure_synthetic(kubeconfig: str, page_size: int, total: int) -> dict[str, float]:
    """In the subprocess: the index's store filled from ``total`` synthetic Jobs."""

    lister = ListWatch(
        Caller(load_api_client(kubeconfig)), JOBS, None,
        label_selector=LABEL_SINK_ID, metadata_only=True,
    )  # fmt: skip
    pages = SyntheticPages(lister.list_page(1).items[0], total)
    store = JobDigests(total, relist=lambda: None)
    gc.collect()
    before = memory_mib()["VmRSS"]
    started = time.perf_counter()
    store.replace(Listing(pages, page_size))
    ready = time.perf_counter() - started
    gc.collect()
    after = memory_mib()
    return {
        "entries": len(store),
        "ready_s": round(ready, 2),
        "rss_before_mib": round(before, 1),
        "rss_ready_mib": round(after["VmRSS"], 1),
        "rss_peak_mib": round(after["VmHWM"], 1),
        "bytes_per_job": round((after["VmRSS"] - before) * 1024 * 1024 / max(len(store), 1)),
    }


def measured(kubeconfig: str, page_size: int, synthetic: int = 0) -> dict[str, float]:
    """``measure`` in a fresh interpreter: nothing the creator allocated counts."""
    argv = [sys.executable, __file__, "--measure", f"--kubeconfig={kubeconfig}",
            f"--page-size={page_size}", f"--synthetic={synthetic}"]  # fmt: skip
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode:
        raise SystemExit(f"measuring failed: {done.stderr.strip()}")
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="10000,100000", help="Job counts, ascending")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--page-size", type=int, default=PAGE_SIZE)
    parser.add_argument(
        "--synthetic",
        type=int,
        default=1_000_000,
        help="then fill the index's store from this many synthetic Jobs (0: skip)",
    )
    parser.add_argument("--kubeconfig")
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        if args.synthetic:
            result = measure_synthetic(args.kubeconfig, args.page_size, args.synthetic)
        else:
            result = measure(args.kubeconfig, args.page_size)
        print(json.dumps(result))
        return
    counts = sorted(int(count) for count in args.counts.split(","))
    with cluster(args.kubeconfig) as kubeconfig:
        sink = prepare(kubeconfig)
        creator = Creator(kubeconfig, sink, args.concurrency)
        print(
            "| Jobs | created/s | ready s | RSS before MiB | RSS ready MiB | peak MiB "
            "| RSS B/Job | JSON B/Job |"
        )
        print("|---:|---:|---:|---:|---:|---:|---:|---:|")
        for count in counts:
            rate = creator.up_to(count)
            row(measured(kubeconfig, args.page_size), f"{rate:.0f}")
        if args.synthetic:
            row(measured(kubeconfig, args.page_size, args.synthetic), "synthetic")


def row(result: dict[str, float], created: str) -> None:
    print(
        f"| {result['entries']:,} | {created} | {result['ready_s']} "
        f"| {result['rss_before_mib']} | {result['rss_ready_mib']} "
        f"| {result['rss_peak_mib']} | {result['bytes_per_job']} "
        f"| {result.get('json_bytes_per_job', '')} |",
        flush=True,
    )


if __name__ == "__main__":
    main()
