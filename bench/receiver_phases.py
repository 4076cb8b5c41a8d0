"""The phases of ``make bench-receiver`` that measure our receiver alone: **B** (direct writes),
the load generator's floor, **R** and **D** (unique events and duplicates), the 10x overload, the
authentication phase, and the check of the namespace they all wrote to (see
``bench/receiver_bench.py`` for what each measures)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import yaml

from bench import receiver_auth
from bench import receiver_load as loadgen
from bench.cluster import kubectl
from bench.receiver_process import cpu_seconds, memory, start_receiver
from bench.receiver_sink import SINK, event_request
from jobsink.names import LABEL_SINK_NAME
from kubeapi import object_client
from kubeapi.calls import Caller
from kubeapi.config import load_api_client, size_connection_pool

REPO = Path(__file__).resolve().parents[1]


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


def classic(kubeconfig: str, namespace: str, args: argparse.Namespace) -> dict[str, Any]:
    """B, the load generator's floor, R, D, the overload, then (unless ``--no-auth``) the
    authentication phase, and the check of the namespace they all wrote to."""
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
        # JSON asked for: the answers then say "duplicate" (a plain 202 has an empty body).
        asks_json = event_request(namespace, run, extra={"accept": "application/json"})
        duplicate = asyncio.run(
            loadgen.run(
                "127.0.0.1", port, asks_json, chunk * args.rounds, args.concurrency, True,
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
    return figures
