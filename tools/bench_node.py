"""Figures of the local node: start time (warm), event-to-Pod latency, memory (``make bench-node``).

One run: start a control plane with a node (binaries and images cached beforehand), serve it
with ``jobsink webhook`` and ``jobsink receiver``, apply the logger example, then send events
one at a time and time, for each, from the receiver's ``202`` to the Pod first seen Running
(or already Succeeded: ``cat`` can finish between two observations) and to ``Succeeded``.
Prints p50 and p90, and the resident memory of the node's processes after the run.

Usage: ``python tools/bench_node.py [--events 20]``.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from pathlib import Path

import httpx
from kubernetes import client, watch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cli import stack  # noqa: E402
from controlplane import ControlPlane  # noqa: E402
from controlplane.node import host  # noqa: E402
from controlplane.node.teardown import NodeRecord  # noqa: E402
from controlplane.ports import free_ports  # noqa: E402
from tests.seed import SEED_BODY, SEED_HEADERS  # noqa: E402

NODE_PROCESSES = ("kubelet", "containerd", "kube-scheduler")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def node_memory(plane: ControlPlane, record: NodeRecord) -> dict[str, float]:
    figures = {p.name: rss_mib(p.pid) for p in plane.processes if p.name in NODE_PROCESSES}
    shims = [pid for pid in host.cgroup_pids(record.cgroup) if pid not in figures]
    figures["shims and pause (cgroup)"] = sum(rss_mib(pid) for pid in shims)
    return figures


class PodClock:
    """Watches Pods and notes when each Job's Pod is first Running-or-later and Succeeded."""

    def __init__(self, api: client.ApiClient, namespace: str) -> None:
        self.running: dict[str, float] = {}
        self.succeeded: dict[str, float] = {}
        self._core = client.CoreV1Api(api)
        self._namespace = namespace
        self._watch = watch.Watch()  # type: ignore[no-untyped-call]
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        # The stream ends with an error when the control plane stops under it: expected.
        with contextlib.suppress(Exception):
            self._observe()

    def _observe(self) -> None:
        for event in self._watch.stream(self._core.list_namespaced_pod, self._namespace):
            pod = event["object"]
            job = (pod.metadata.labels or {}).get("job-name")
            phase = pod.status.phase
            now = time.monotonic()
            if job and phase in ("Running", "Succeeded"):
                self.running.setdefault(job, now)
            if job and phase == "Succeeded":
                self.succeeded.setdefault(job, now)

    def stop(self) -> None:
        self._watch.stop()  # type: ignore[no-untyped-call]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20)
    events = parser.parse_args().events

    began = time.monotonic()
    plane = ControlPlane(node=True).start(progress=lambda m: print(f"  {m}", flush=True))
    total = time.monotonic() - began
    assert plane.node is not None
    assert plane.node.ready_seconds is not None
    try:
        stack._install_crd(plane)
        plane.kubectl("create", "namespace", stack.SYSTEM_NAMESPACE)
        certs = plane.workdir / "webhook"
        certs.mkdir()
        serving = plane.authority.issue_server(dns_names=["localhost"], ips=["127.0.0.1"])
        (certs / "tls.crt").write_bytes(serving.cert_pem)
        (certs / "tls.key").write_bytes(serving.key_pem)
        webhook_port, receiver_port = free_ports(2)
        webhook = stack.start_webhook(plane, webhook_port, certs, plane.ca_cert)
        stack.register_webhook(plane, webhook, webhook_port, plane.authority.cert_pem)
        stack.start_receiver(
            plane,
            receiver_port,
            env={"JOBSINK_RECEIVER_SYSTEM_NAMESPACE": stack.SYSTEM_NAMESPACE},
        )
        plane.kubectl("apply", "-f", str(REPO / "examples" / "job-sink-logger.yaml"))
        plane.kubectl("wait", "--for=condition=Ready", "--timeout=60s", "jobsink/job-sink-logger")
        api = plane.api_client()
        clock = PodClock(api, "default")
        accepted: dict[str, float] = {}
        url = f"http://127.0.0.1:{receiver_port}/default/job-sink-logger"
        for number in range(events):
            response = httpx.post(
                url, content=SEED_BODY, headers={**SEED_HEADERS, "ce-id": f"bench-{number}"},
                trust_env=False, timeout=30,
            )  # fmt: skip
            assert response.status_code == 202, response.text
            job = response.json()["job"]
            accepted[job] = time.monotonic()
            deadline = time.monotonic() + 60
            while job not in clock.succeeded and time.monotonic() < deadline:
                time.sleep(0.02)
        clock.stop()
        to_running = [clock.running[j] - t for j, t in accepted.items() if j in clock.running]
        to_succeeded = [clock.succeeded[j] - t for j, t in accepted.items() if j in clock.succeeded]
        print(f"\ncontrol plane + node start (warm): {total:.1f}s; node alone: "
              f"{plane.node.ready_seconds:.1f}s")  # fmt: skip
        for label, values in (
            ("202 -> Pod Running", to_running),
            ("202 -> Succeeded", to_succeeded),
        ):
            p50, p90 = statistics.median(values), percentile(values, 0.9)
            print(f"{label}: p50 {p50:.2f}s, p90 {p90:.2f}s over {len(values)} events")
        memory = node_memory(plane, plane.node.record)
        listed = ", ".join(f"{name} {mib:.0f} MiB" for name, mib in memory.items())
        print(f"node memory (RSS): {sum(memory.values()):.0f} MiB ({listed})")
    finally:
        plane.stop()


if __name__ == "__main__":
    main()
