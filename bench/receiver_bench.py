"""Receiver ingest benchmark against the real local apiserver (``make bench-receiver``).

One run measures, in this order:

* **B** — Secret + Job pairs created per second directly with the receiver's own client code
  (``kubeapi.calls``), at the same concurrency, nothing in between: the ceiling for R;
* the load generator's own capacity (GET /healthz), to show it is not the bottleneck;
* **R** — unique events per second through ``jobsink receiver`` (HTTP, parse, render, create);
* **D** — the same events again: duplicates per second;
* p50/p99 ingest latency, receiver RSS (current and peak), then a full check of the namespace:
  exactly one Job and one Secret per event, every Secret owned by its Job, nothing else;
* the authentication and authorization phase (``bench/receiver_auth.py``; ``--no-auth`` skips it,
  ``--auth-only`` runs it alone): R and D with ``authentication-oidc`` on and one EventPolicy
  applying, against a plain receiver, in alternating rounds; the CPU of one token verification
  and of one authorization decision.

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
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_auth  # noqa: E402
from bench import receiver_load as loadgen  # noqa: E402
from bench.cluster import cluster, kubectl, logger_sink_in_new_namespace  # noqa: E402
from controlplane.ports import free_ports  # noqa: E402
from jobsink.names import LABEL_SINK_NAME  # noqa: E402
from kubeapi import object_client  # noqa: E402
from kubeapi.calls import Caller  # noqa: E402
from kubeapi.config import load_api_client, size_connection_pool  # noqa: E402

SINK = "bench-sink"


def prepare(kubeconfig: str) -> str:
    sink = logger_sink_in_new_namespace(kubeconfig, SINK)
    kubectl(kubeconfig, "apply", "-f", "-", input=json.dumps(sink))
    return str(sink["metadata"]["namespace"])


class Direct:
    """B: Job then Secret owned by it, as the receiver writes them, with no HTTP in front, through
    the receiver's own client code (``kubeapi.calls``) and a thread per concurrent writer."""

    def __init__(self, kubeconfig: str, namespace: str, concurrency: int) -> None:
        api = load_api_client(kubeconfig)
        size_connection_pool(api, concurrency + 8)
        self.latencies: dict[str, list[float]] = {}
        caller = Caller(api, observe=self._observe)
        self.jobs, self.secrets = object_client.jobs(caller), object_client.secrets(caller)
        self.namespace = namespace
        self.pool = ThreadPoolExecutor(concurrency)
        template = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
        self.job_spec = template["spec"]["job"]["spec"]
        event = b'{"specversion":"1.0","id":"1","source":"b","type":"t"}'
        self.event = base64.b64encode(event).decode()

    def _observe(self, operation: str, _code: str, seconds: float) -> None:
        self.latencies.setdefault(operation, []).append(seconds)

    def pair(self, name: str) -> None:
        deadline = time.monotonic() + 60
        labels = {"bench": "direct"}
        spec = json.loads(json.dumps(self.job_spec))
        spec["template"]["spec"]["volumes"] = [{"name": "e", "secret": {"secretName": name}}]
        job = self.jobs.create(
            self.namespace,
            {"apiVersion": "batch/v1", "kind": "Job",
             "metadata": {"name": name, "labels": labels}, "spec": spec},
            deadline=deadline,
        )  # fmt: skip
        owner = {"apiVersion": "batch/v1", "kind": "Job", "name": name,
                 "uid": job["metadata"]["uid"], "controller": True}  # fmt: skip
        self.secrets.create(
            self.namespace,
            {"apiVersion": "v1", "kind": "Secret", "immutable": True,
             "metadata": {"name": name, "labels": labels, "ownerReferences": [owner]},
             "data": {"event": self.event}},
            deadline=deadline,
        )  # fmt: skip

    def run(self, count: int, prefix: str) -> float:
        """Seconds to create ``count`` pairs."""
        started = time.perf_counter()
        list(self.pool.map(self.pair, (f"{prefix}-{i}" for i in range(count))))
        return time.perf_counter() - started


def start_receiver(
    kubeconfig: str, max_inflight: int, env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], int]:
    port = free_ports(1)[0]
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "jobsink"), "receiver", "--host=127.0.0.1",
         f"--port={port}", f"--kubeconfig={kubeconfig}", f"--max-inflight={max_inflight}",
         "--no-status", "--log-level=warning"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
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


def event_request(
    namespace: str, run: str, offset: int = 0, extra: dict[str, str] | None = None
) -> loadgen.Request:
    def headers(index: int) -> dict[str, str]:
        return {
            **(extra or {}),
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-source": f"bench/{run}",
            "ce-type": f"{receiver_auth.EVENT_TYPE_PREFIX}event",
            "ce-id": str(offset + index),
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


def authentication(kubeconfig: str, namespace: str, args: argparse.Namespace) -> dict[str, Any]:
    """The authentication and authorization phase: two fresh receivers, one plain, one with
    ``authentication-oidc`` on and (unless ``--no-event-policy``) one EventPolicy applying."""
    audience = receiver_auth.publish_audience(kubeconfig, namespace, SINK)
    policy = None
    if not args.no_event_policy:
        policy = receiver_auth.install_event_policy(kubeconfig, namespace, SINK)
    token = receiver_auth.sender_token(kubeconfig, namespace, audience)
    plain, plain_port = start_receiver(kubeconfig, args.max_inflight)
    # --control: the second receiver is plain too, which measures the method's own spread.
    secured_env = {} if args.control else receiver_auth.AUTH_ENV
    secured, port = start_receiver(kubeconfig, args.max_inflight, secured_env)
    probe: dict[str, Any] = {}
    try:
        if policy is not None and not args.control:
            probe = receiver_auth.refused_probe(port, f"/{namespace}/{SINK}", token)
            if probe["probe_status"] != 403:
                raise SystemExit(f"the EventPolicy's filter did not refuse the probe: {probe}")
        figures = receiver_auth.phase(
            receiver_auth.Receiver(plain_port, lambda: cpu_seconds(plain.pid)),
            receiver_auth.Receiver(port, lambda: cpu_seconds(secured.pid)),
            lambda run, offset, extra: event_request(namespace, run, offset, extra),
            token,
            events=args.events,
            rounds=args.rounds,
            concurrency=args.concurrency,
            run=uuid.uuid4().hex[:8],
        )
    finally:
        for process in (plain, secured):
            process.terminate()
            process.wait(30)
    figures = {"auth_event_policy": policy is not None, "auth_control": args.control, **probe,
               **figures}  # fmt: skip
    figures |= receiver_auth.verification_cpu(kubeconfig, token, audience)
    if policy is not None:
        sink = kubectl(kubeconfig, "get", "jobsink", SINK, "-n", namespace, "-o", "json")
        figures |= receiver_auth.authorization_cpu(policy, json.loads(sink))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--max-inflight", type=int, default=64)
    parser.add_argument("--overload-events", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5, help="B and R alternate this many times")
    parser.add_argument("--kubeconfig")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--no-auth", action="store_true", help="skip the authentication phase")
    parser.add_argument(
        "--no-event-policy",
        action="store_true",
        help="authentication phase without the EventPolicy (authentication alone)",
    )
    parser.add_argument(
        "--control",
        action="store_true",
        help="authentication phase with two plain receivers (the same token sent to both): "
        "how far apart the method puts two identical receivers",
    )
    parser.add_argument(
        "--auth-only",
        action="store_true",
        help="run the authentication phase alone (no B, R, D, overload and namespace check)",
    )
    args = parser.parse_args()
    if args.auth_only:
        with cluster(args.kubeconfig) as kubeconfig:
            report(authentication(kubeconfig, prepare(kubeconfig), args), args.json)
        return
    with cluster(args.kubeconfig) as kubeconfig:
        namespace = prepare(kubeconfig)
        process, port = start_receiver(kubeconfig, args.max_inflight)
        direct = Direct(kubeconfig, namespace, args.concurrency)
        run = uuid.uuid4().hex[:8]
        chunk = args.events // args.rounds
        try:
            floor = asyncio.run(
                loadgen.run("127.0.0.1", port, loadgen.get("/healthz"), 5000, args.concurrency)
            )
            # B and R alternate in rounds: the shared machine's load drifts by minutes, and the
            # cluster slows as Jobs and Pods pile up, so each gets the same share of both.
            direct_seconds = 0.0
            unique = loadgen.Result()
            cpu_start, own_start = cpu_seconds(process.pid), time.process_time()
            cpu_receiver = 0.0
            for number in range(args.rounds):
                direct_seconds += direct.run(chunk, f"direct-{number}")
                before = cpu_seconds(process.pid)
                part = asyncio.run(
                    loadgen.run(
                        "127.0.0.1", port, event_request(namespace, run, number * chunk),
                        chunk, args.concurrency, True,
                    )
                )  # fmt: skip
                cpu_receiver += cpu_seconds(process.pid) - before
                unique.merge(part)
            own_unique = time.process_time()
            calls = kube_call_ms(port)
            cpu_unique = cpu_seconds(process.pid)
            duplicate = asyncio.run(
                loadgen.run(
                    "127.0.0.1", port, event_request(namespace, run), chunk * args.rounds,
                    args.concurrency, True,
                )
            )  # fmt: skip
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
            direct.pool.shutdown()
        # After the first receiver has stopped: the phase's two receivers share nothing else.
        auth = {} if args.no_auth else authentication(kubeconfig, namespace, args)
        events_sent = chunk * args.rounds
        b = events_sent / direct_seconds
        outcomes = [json.loads(body).get("outcome") for body in duplicate.bodies]
        # The authentication phase sends its own unique events twice over (with and without).
        auth_sent = 2 * int(auth.get("auth_events", 0))
        check = verify(kubeconfig, namespace, events_sent + args.overload_events + auth_sent)
    figures: dict[str, Any] = {
        "events": events_sent,
        "concurrency": args.concurrency,
        "rounds": args.rounds,
        "B_pairs_per_s": round(b, 1),
        "healthz_floor_req_per_s": round(floor.rate, 1),
        "R_events_per_s": round(unique.rate, 1),
        "D_events_per_s": round(duplicate.rate, 1),
        "R_over_B": round(unique.rate / b, 2),
        "D_over_R": round(duplicate.rate / unique.rate, 2),
        "p50_ms": round(unique.percentile(0.5) * 1000, 1),
        "p99_ms": round(unique.percentile(0.99) * 1000, 1),
        "duplicate_p50_ms": round(duplicate.percentile(0.5) * 1000, 1),
        "duplicate_p99_ms": round(duplicate.percentile(0.99) * 1000, 1),
        "receiver_cpu_ms_per_unique_event": round(cpu_receiver * 1000 / events_sent, 2),
        "receiver_cpu_ms_per_duplicate": round(
            (cpu_duplicate - cpu_unique) * 1000 / events_sent, 2
        ),
        # The receiver's background work (watches) while B ran, per event.
        "receiver_idle_cpu_ms_per_event": round(
            (cpu_unique - cpu_start - cpu_receiver) * 1000 / events_sent, 2
        ),
        "bench_process_cpu_ms_per_event": round((own_unique - own_start) * 1000 / events_sent, 2),
        "receiver_kube_call_mean_ms": calls,
        "direct_kube_call_mean_ms": {
            op: round(sum(values) * 1000 / len(values), 1)
            for op, values in direct.latencies.items()
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
        **auth,
    }
    report(figures, args.json)


def report(figures: dict[str, Any], path: Path | None) -> None:
    print(json.dumps(figures, indent=2))
    if path:
        path.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
