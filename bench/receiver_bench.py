"""Receiver ingest benchmark against the real local apiserver (``make bench-receiver``).

One run measures, in this order:

* **B** — Secret + Job pairs created per second directly with the receiver's own client code
  (``kubeapi.calls``), at the same concurrency, nothing in between: the ceiling for R;
* the load generator's own capacity (GET /healthz), to show it is not the bottleneck;
* **R** — unique events per second through ``jobsink receiver`` (HTTP, parse, render, create);
* **D** — the same events again: duplicates per second;
* p50/p99 ingest latency, receiver RSS (current and peak), then a full check of the namespace:
  exactly one Job and one Secret per event, every Secret owned by its Job, nothing else.

Usage: ``python bench/receiver_bench.py [--events 1000] [--concurrency 50] [--kubeconfig F]``.
Without ``--kubeconfig`` it starts its own control plane (etcd + kube-apiserver +
kube-controller-manager) and stops it at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_load as loadgen  # noqa: E402
from controlplane import ControlPlane  # noqa: E402
from controlplane.ports import free_ports  # noqa: E402
from jobsink.names import LABEL_SINK_NAME  # noqa: E402
from kubeapi import events  # noqa: E402
from kubeapi.calls import Caller  # noqa: E402
from kubeapi.config import load_api_client  # noqa: E402

SINK = "bench-sink"


@contextlib.contextmanager
def cluster(kubeconfig: str | None) -> Iterator[str]:
    if kubeconfig:
        yield kubeconfig
        return
    plane = ControlPlane()
    plane.start(progress=lambda message: print(f"[control plane] {message}", file=sys.stderr))
    try:
        yield str(plane.kubeconfig)
    finally:
        plane.stop()


def kubectl(kubeconfig: str, *args: str, input: str | None = None) -> str:
    argv = [str(Path(sys.executable).parent / "kubectl"), f"--kubeconfig={kubeconfig}", *args]
    return subprocess.run(argv, input=input, capture_output=True, text=True, check=True).stdout


def prepare(kubeconfig: str) -> str:
    kubectl(kubeconfig, "apply", "-f", str(REPO / "crds"))
    kubectl(kubeconfig, "wait", "--for=condition=Established", "crd/jobsinks.sinks.knative.dev")
    namespace = f"bench-{uuid.uuid4().hex[:6]}"
    kubectl(kubeconfig, "create", "namespace", namespace)
    sink = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
    sink["metadata"] = {"name": SINK, "namespace": namespace}
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(sink))
    return namespace


def direct_pairs(
    kubeconfig: str,
    namespace: str,
    count: int,
    concurrency: int,
    prefix: str = "direct",
    latencies: dict[str, list[float]] | None = None,
) -> float:
    """B: Job then Secret owned by it, as the receiver writes them, with no HTTP in front."""
    api = load_api_client(kubeconfig)
    api.configuration.connection_pool_maxsize = concurrency + 8
    from kubernetes.client import rest

    api.rest_client = rest.RESTClientObject(api.configuration)
    seen = latencies if latencies is not None else {}

    def observe(operation: str, _code: str, seconds: float) -> None:
        seen.setdefault(operation, []).append(seconds)

    caller = Caller(api, observe=observe)
    jobs, secrets = events.jobs(caller), events.secrets(caller)
    template = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
    job_spec = template["spec"]["job"]["spec"]
    event = base64.b64encode(b'{"specversion":"1.0","id":"1","source":"b","type":"t"}').decode()

    def pair(index: int) -> None:
        name = f"{prefix}-{index}"
        deadline = time.monotonic() + 60
        labels = {"bench": "direct"}
        spec = json.loads(json.dumps(job_spec))
        spec["template"]["spec"]["volumes"] = [{"name": "e", "secret": {"secretName": name}}]
        job = jobs.create(
            namespace,
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {"name": name, "labels": labels}, "spec": spec},
            deadline=deadline,
        )  # fmt: skip
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name,
                 "uid": job["metadata"]["uid"], "controller": True}  # fmt: skip
        secrets.create(
            namespace,
            {"apiVersion": "v1", "kind": "Secret", "immutable": True,
             "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
             "data": {"event": event}},
            deadline=deadline,
        )  # fmt: skip

    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(pair, range(count)))
    return count / (time.perf_counter() - started)


def start_receiver(kubeconfig: str, max_inflight: int) -> tuple[subprocess.Popen[bytes], int]:
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jobsink"), "receiver", "--host=127.0.0.1",
         f"--port={port}", f"--kubeconfig={kubeconfig}", f"--max-inflight={max_inflight}",
         "--no-status", "--log-level=warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                return process, port
        time.sleep(0.1)
    process.kill()
    raise SystemExit("receiver did not become ready")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kube_call_ms(port: int) -> dict[str, float]:
    """Mean latency of each Kubernetes operation the receiver made, from its own /metrics."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics").text.splitlines():
        for suffix, into in (("_sum{", sums), ("_count{", counts)):
            if line.startswith("jobsink_kube_request_duration_seconds" + suffix):
                labels, value = line.rsplit(" ", 1)
                operation = labels.split('operation="', 1)[1].split('"', 1)[0]
                into[operation] = into.get(operation, 0.0) + float(value)
    return {op: round(sums[op] * 1000 / counts[op], 1) for op in sums if counts.get(op)}


def memory(pid: int) -> dict[str, float]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields


def event_request(namespace: str, run: str) -> loadgen.Request:
    def headers(index: int) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-source": f"bench/{run}",
            "ce-type": "bench.event",
            "ce-id": str(index),
        }

    return loadgen.post(f"/{namespace}/{SINK}", headers, b'{"details":"JobSinkDemo"}')


def verify(kubeconfig: str, namespace: str, expected: int) -> dict[str, int]:
    selector = f"{LABEL_SINK_NAME}={SINK}"
    jobs = json.loads(
        kubectl(kubeconfig, "get", "jobs", "-n", namespace, "-l", selector, "-o", "json")
    )
    secrets = json.loads(
        kubectl(kubeconfig, "get", "secrets", "-n", namespace, "-l", selector, "-o", "json")
    )
    job_uids = {job["metadata"]["uid"] for job in jobs["items"]}
    job_names = {job["metadata"]["name"] for job in jobs["items"]}
    owned = {
        secret["metadata"]["name"]
        for secret in secrets["items"]
        for ref in secret["metadata"].get("ownerReferences") or []
        if ref.get("uid") in job_uids and ref.get("name") == secret["metadata"]["name"]
    }
    return {
        "jobs": len(jobs["items"]),
        "secrets": len(secrets["items"]),
        "jobs_without_secret": len(job_names - owned),
        "secrets_without_job": len(secrets["items"]) - len(owned),
        "missing": max(0, expected - len(job_names & owned)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--overload-events", type=int, default=2000)
    parser.add_argument("--kubeconfig")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with cluster(args.kubeconfig) as kubeconfig:
        namespace = prepare(kubeconfig)
        # B is measured before and after R and D: the cluster slows as Jobs and Pods pile up, and
        # R runs in between, so the mean of the two is the fair ceiling.
        direct_calls: dict[str, list[float]] = {}
        b_before = direct_pairs(
            kubeconfig, namespace, args.events, args.concurrency, "before", direct_calls
        )
        process, port = start_receiver(kubeconfig, args.max_inflight)
        try:
            capacity = asyncio.run(
                loadgen.run("127.0.0.1", port, loadgen.get("/healthz"), 5000, args.concurrency)
            )
            request = event_request(namespace, uuid.uuid4().hex[:8])
            cpu_start, own_start = cpu_seconds(process.pid), time.process_time()
            unique = asyncio.run(
                loadgen.run("127.0.0.1", port, request, args.events, args.concurrency, True)
            )
            cpu_unique, own_unique = cpu_seconds(process.pid), time.process_time()
            calls = kube_call_ms(port)
            duplicate = asyncio.run(
                loadgen.run("127.0.0.1", port, request, args.events, args.concurrency, True)
            )
            cpu_duplicate = cpu_seconds(process.pid)
            rss = memory(process.pid)
            # 10x overload: ten senders per in-flight slot, each retrying its 429s.
            overload = asyncio.run(
                loadgen.run(
                    "127.0.0.1",
                    port,
                    event_request(namespace, uuid.uuid4().hex[:8]),
                    args.overload_events,
                    10 * args.max_inflight,
                )
            )
            rss_overload = memory(process.pid)
        finally:
            process.terminate()
            process.wait(30)
        b_after = direct_pairs(kubeconfig, namespace, args.events, args.concurrency, "after")
        b = (b_before + b_after) / 2
        outcomes = [json.loads(body).get("outcome") for body in duplicate.bodies]
        check = verify(kubeconfig, namespace, args.events + args.overload_events)
    figures: dict[str, Any] = {
        "events": args.events,
        "concurrency": args.concurrency,
        "B_pairs_per_s": round(b, 1),
        "B_before_after": [round(b_before, 1), round(b_after, 1)],
        "healthz_floor_req_per_s": round(capacity.rate, 1),
        "R_events_per_s": round(unique.rate, 1),
        "D_events_per_s": round(duplicate.rate, 1),
        "R_over_B": round(unique.rate / b, 2),
        "D_over_R": round(duplicate.rate / unique.rate, 2),
        "p50_ms": round(unique.percentile(0.5) * 1000, 1),
        "p99_ms": round(unique.percentile(0.99) * 1000, 1),
        "duplicate_p50_ms": round(duplicate.percentile(0.5) * 1000, 1),
        "duplicate_p99_ms": round(duplicate.percentile(0.99) * 1000, 1),
        "receiver_cpu_ms_per_unique_event": round((cpu_unique - cpu_start) * 1000 / args.events, 2),
        "receiver_cpu_ms_per_duplicate": round(
            (cpu_duplicate - cpu_unique) * 1000 / args.events, 2
        ),
        "loadgen_cpu_ms_per_event": round((own_unique - own_start) * 1000 / args.events, 2),
        "receiver_kube_call_mean_ms": calls,
        "direct_kube_call_mean_ms": {
            op: round(sum(values) * 1000 / len(values), 1) for op, values in direct_calls.items()
        },
        "sender_retries": unique.retries + duplicate.retries,
        "statuses_unique": unique.statuses,
        "statuses_duplicate": duplicate.statuses,
        "duplicates_answered_as_duplicate": outcomes.count("duplicate"),
        "rss_mb": round(rss.get("VmRSS", 0), 1),
        "peak_rss_mb": round(rss.get("VmHWM", 0), 1),
        "overload_senders": 10 * args.max_inflight,
        "overload_events_per_s": round(overload.rate, 1),
        "overload_429_retries": overload.retries,
        "overload_statuses": overload.statuses,
        "overload_peak_rss_mb": round(rss_overload.get("VmHWM", 0), 1),
        **check,
    }
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
