"""JobSink status benchmark against the real local apiserver.

Measures, with the receiver's own cache and status reconciler running in this process:

* create -> Ready: the time from a JobSink's create call returning to the watch delivering its
  Ready status, first for ``--one-by-one`` JobSinks created one at a time (what a user applying
  one sees), then for a burst of ``--sinks`` created ``--concurrency`` at a time (p50/p99);
* status writes per JobSink (1.0 means no write was wasted);
* JobSink lookups per second on the hot path (``SinkCache.cached``, one thread).

Usage: ``python bench/status_bench.py [--sinks 300] [--concurrency 16] [--one-by-one 20]
[--kubeconfig F]``.
Without ``--kubeconfig`` it starts its own control plane and stops it at the end.
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from kubernetes import client  # noqa: E402

from controlplane import ControlPlane  # noqa: E402
from jobsink.types import API_VERSION, GROUP, KIND, PLURAL, VERSION  # noqa: E402
from kubeapi.config import load_api_client  # noqa: E402
from receiver.controller.sinks import Key, SinkCache  # noqa: E402
from receiver.controller.status import StatusReconciler  # noqa: E402
from receiver.metrics import Metrics  # noqa: E402
from receiver.settings import LeaseSettings, StatusSettings  # noqa: E402

NAMESPACE = "status-bench"


def jobsink(name: str) -> dict[str, Any]:
    container = {"name": "main", "image": "docker.io/library/bash:5", "command": ["cat"]}
    template = {"spec": {"restartPolicy": "Never", "containers": [container]}}
    return {
        "apiVersion": API_VERSION,
        "kind": KIND,
        "metadata": {"name": name},
        "spec": {"job": {"spec": {"template": template}}},
    }


@contextlib.contextmanager
def cluster(kubeconfig: str | None) -> Iterator[client.ApiClient]:
    if kubeconfig:
        yield load_api_client(kubeconfig)
        return
    plane = ControlPlane()
    plane.start()
    try:
        plane.kubectl("apply", "-f", str(REPO / "crds"))
        # kubectl wait fails outright while the new CRD has no conditions at all yet.
        crd = f"crd/{PLURAL}.{GROUP}"
        while plane.kubectl("wait", "--for=condition=Established", crd, check=False).returncode:
            time.sleep(0.1)
        yield plane.api_client()
    finally:
        plane.stop()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sinks", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--one-by-one", type=int, default=20)
    parser.add_argument("--kubeconfig")
    args = parser.parse_args()

    with cluster(args.kubeconfig) as api:
        client.CoreV1Api(api).create_namespace({"metadata": {"name": NAMESPACE}})
        objects = client.CustomObjectsApi(api)
        metrics = Metrics()
        cache = SinkCache(api, namespace=NAMESPACE, metrics=metrics)
        config = StatusSettings(lease=LeaseSettings(namespace=NAMESPACE))
        reconciler = StatusReconciler(api, cache, config, metrics=metrics)

        def writes_so_far() -> float:
            found = metrics.registry.get_sample_value(
                "jobsink_status_reconciles_total", {"result": "updated"}
            )
            return found or 0.0

        created: dict[Key, float] = {}
        ready: dict[Key, float] = {}
        lock = threading.Lock()

        def seen(key: Key) -> None:
            status = (cache.watched(*key) or {}).get("status") or {}
            if any(c.get("type") == "Ready" for c in status.get("conditions") or []):
                with lock:
                    ready.setdefault(key, time.perf_counter())

        cache.subscribe(seen)
        cache.start()
        reconciler.start()
        cache.wait_synced(30)
        while not reconciler.elector.is_leader:
            time.sleep(0.05)
        writes_before = writes_so_far()

        def create(index: int) -> None:
            name = f"sink-{index:05d}"
            objects.create_namespaced_custom_object(
                GROUP, VERSION, NAMESPACE, PLURAL, jobsink(name)
            )
            with lock:
                created[(NAMESPACE, name)] = time.perf_counter()

        # One at a time first: what a user applying a JobSink sees.
        for index in range(args.one_by_one):
            create(index)
            while (NAMESPACE, f"sink-{index:05d}") not in ready:
                time.sleep(0.001)
        single = [(ready[key] - created[key]) * 1000 for key in created]

        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            list(pool.map(create, range(args.one_by_one, args.one_by_one + args.sinks)))
        creating = time.perf_counter() - started
        while len(ready) < args.one_by_one + args.sinks:
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        time.sleep(1.0)  # let any late, wasted write show up in the count
        writes = writes_so_far() - writes_before
        total = args.one_by_one + args.sinks

        burst = [key for key in created if int(key[1].split("-")[1]) >= args.one_by_one]
        latencies = [max(0.0, ready[key] - created[key]) * 1000 for key in burst]
        key = next(iter(created))
        lookups = 1_000_000
        begin = time.perf_counter()
        for _ in range(lookups):
            cache.cached(*key)
        lookup_rate = lookups / (time.perf_counter() - begin)
        reconciler.stop()
        cache.stop()

    print(
        f"one at a time ({args.one_by_one}): create -> Ready "
        f"p50 {statistics.median(single):.1f} ms, max {max(single):.1f} ms"
    )
    print(
        f"burst of {args.sinks} at concurrency {args.concurrency}: created in {creating:.2f} s, "
        f"all Ready after {elapsed:.2f} s ({args.sinks / elapsed:.0f} JobSinks/s)"
    )
    print(
        f"burst create -> Ready: p50 {statistics.median(latencies):.1f} ms, "
        f"p99 {percentile(latencies, 0.99):.1f} ms"
    )
    print(f"status writes per JobSink: {writes / total:.2f}")
    print(f"hot-path lookups: {lookup_rate / 1e6:.2f} M/s (one thread)")


if __name__ == "__main__":
    main()
