"""What Kueue costs the receiver's ingest (``make bench-kueue``).

Kueue's mutating and validating webhooks are called on every Job create (their rules match all
Jobs; a Job without a queue name passes through unchanged), and a queued Job also makes Kueue's
controller create a Workload. Three arms, each a batch of unique events through one
``jobsink receiver`` on a local control plane with Kueue's manager:

* **none**: Kueue's webhook configurations removed; the logger JobSink (no queue name);
* **plain**: Kueue's webhooks registered; the same JobSink (no queue name);
* **queued**: Kueue's webhooks registered; the JobSink with ``kueue.x-k8s.io/queue-name``
  (the documentation's manifests, ``docs/examples/kueue``).

The arms rotate in rounds, so load drift on the shared machine and the growing number of Jobs
weigh on each alike. No node runs: Pods stay Pending, and Kueue admits at most two Jobs.

Because the ingest rates move with everything else on a shared machine, the run also reads what
each of Kueue's webhooks cost per call from the apiserver's own histogram
(``apiserver_admission_webhook_admission_duration_seconds``), which no other load inflates as
much: that is the time Kueue adds to every Job create.

Usage: ``python bench/kueue_bench.py [--events 600] [--rounds 3] [--concurrency 20] [--json F]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench import receiver_load as loadgen  # noqa: E402
from bench.receiver_bench import cpu_seconds, start_receiver  # noqa: E402
from controlplane import ControlPlane  # noqa: E402
from controlplane.readiness import wait_for  # noqa: E402

KUEUE_EXAMPLES = REPO / "docs" / "examples" / "kueue"
ARMS = ("none", "plain", "queued")


def _sinks(namespace: str) -> tuple[dict[str, Any], dict[str, Any]]:
    queued: dict[str, Any] = yaml.safe_load((KUEUE_EXAMPLES / "job-sink-queued.yaml").read_text())
    queued["metadata"] = {"name": "bench-queued", "namespace": namespace}
    plain = json.loads(json.dumps(queued))
    plain["metadata"]["name"] = "bench-plain"
    del plain["spec"]["job"]["metadata"]
    return plain, queued


def _request(namespace: str, sink: str, run: str, offset: int) -> loadgen.Request:
    def headers(index: int) -> dict[str, str]:
        return {
            "content-type": "application/json",
            "ce-specversion": "1.0",
            "ce-source": f"bench/{run}",
            "ce-type": "bench.event",
            "ce-id": str(offset + index),
        }

    return loadgen.post(f"/{namespace}/{sink}", headers, b'{"details":"JobSinkDemo"}')


def _job_webhook_answers(plane: ControlPlane, registered: bool) -> bool:
    """True once a dry-run create of a queued Job shows Kueue's webhook (un)registered."""
    probe = {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {"generateName": "probe-", "labels": {"kueue.x-k8s.io/queue-name": "q"}},
        "spec": {
            "template": {
                "spec": {"restartPolicy": "Never", "containers": [{"name": "c", "image": "i"}]}
            }
        },
    }
    result = plane.kubectl(
        "create", "--dry-run=server", "-n", "default", "-o", "json", "-f", "-",
        input=json.dumps(probe), check=False,
    )  # fmt: skip
    return (
        result.returncode == 0
        and bool(json.loads(result.stdout)["spec"].get("suspend")) is registered
    )


def _set_webhooks(plane: ControlPlane, registered: bool) -> None:
    kueue = plane.kueue
    assert kueue is not None
    for document in kueue.configurations:
        if registered:
            plane.kubectl("apply", "-f", "-", input=json.dumps(document))
        else:
            plane.kubectl("delete", document["kind"], document["metadata"]["name"])
    wait_for(
        lambda: _job_webhook_answers(plane, registered),
        what=f"Kueue's webhooks to be {'registered' if registered else 'gone'}",
        timeout=60,
    )


def webhook_call_ms(plane: ControlPlane, names: set[str]) -> dict[str, dict[str, float]]:
    """Calls and mean duration of each named admission webhook, from the apiserver's metrics."""
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    metric = "apiserver_admission_webhook_admission_duration_seconds"
    for line in plane.kubectl("get", "--raw", "/metrics").stdout.splitlines():
        for suffix, into in (("_sum{", sums), ("_count{", counts)):
            if line.startswith(metric + suffix):
                labels, value = line.rsplit(" ", 1)
                name = labels.split('name="', 1)[1].split('"', 1)[0]
                if name in names:
                    into[name] = into.get(name, 0.0) + float(value)
    return {
        name: {"calls": counts[name], "mean_ms": round(sums[name] * 1000 / counts[name], 2)}
        for name in sorted(sums)
        if counts.get(name)
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=600, help="events per arm, all rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    chunk = args.events // args.rounds

    plane = ControlPlane(kueue=True)
    plane.start(progress=lambda message: print(f"[control plane] {message}", file=sys.stderr))
    try:
        plane.kubectl("apply", "-f", str(REPO / "crds"))
        established = '{.status.conditions[?(@.type=="Established")].status}'
        # Not `kubectl wait`: it fails while the CRD has no conditions yet.
        wait_for(
            lambda: plane.kubectl(
                "get", "crd/jobsinks.sinks.knative.dev", "-o", f"jsonpath={established}",
                check=False,
            ).stdout == "True",
            what="the JobSink CRD to be Established",
            timeout=60,
        )  # fmt: skip
        namespace = f"bench-{uuid.uuid4().hex[:6]}"
        plane.kubectl("create", "namespace", namespace)
        plane.kubectl("apply", "-n", namespace, "-f", str(KUEUE_EXAMPLES / "queues.yaml"))
        plain, queued = _sinks(namespace)
        plane.kubectl(
            "apply",
            "-f",
            "-",
            input=json.dumps({"kind": "List", "apiVersion": "v1", "items": [plain, queued]}),
        )
        process, port = start_receiver(str(plane.kubeconfig), 64)
        results = {arm: loadgen.Result() for arm in ARMS}
        cpu = dict.fromkeys(ARMS, 0.0)
        run = uuid.uuid4().hex[:8]
        registered = True
        try:
            for number in range(args.rounds):
                # Rotated so that no arm always follows the same one.
                order = ARMS[number % 3 :] + ARMS[: number % 3]
                for arm in order:
                    if (arm != "none") != registered:
                        registered = arm != "none"
                        _set_webhooks(plane, registered)
                    sink = queued if arm == "queued" else plain
                    before = cpu_seconds(process.pid)
                    part = asyncio.run(
                        loadgen.run(
                            "127.0.0.1", port,
                            _request(namespace, sink["metadata"]["name"], f"{run}-{arm}",
                                     number * chunk),
                            chunk, args.concurrency,
                        )
                    )  # fmt: skip
                    cpu[arm] += cpu_seconds(process.pid) - before
                    results[arm].merge(part)
                    time.sleep(1)  # let Kueue's Workload creation settle between arms
        finally:
            process.terminate()
            process.wait(30)
        kueue = plane.kueue
        assert kueue is not None
        names = {hook["name"] for doc in kueue.configurations for hook in doc["webhooks"]}
        webhooks = webhook_call_ms(plane, names)
        workloads = json.loads(
            plane.kubectl("get", "workloads.kueue.x-k8s.io", "-n", namespace, "-o", "json").stdout
        )["items"]
    finally:
        plane.stop()

    figures: dict[str, Any] = {
        "events_per_arm": chunk * args.rounds,
        "rounds": args.rounds,
        "concurrency": args.concurrency,
        "workloads_created": len(workloads),
        "kueue_webhooks": webhooks,
    }
    for arm, result in results.items():
        figures[arm] = {
            "events_per_s": round(result.rate, 1),
            "p50_ms": round(result.percentile(0.5) * 1000, 1),
            "p99_ms": round(result.percentile(0.99) * 1000, 1),
            "statuses": result.statuses,
            "retries": result.retries,
            "receiver_cpu_ms_per_event": round(cpu[arm] * 1000 / (chunk * args.rounds), 2),
        }
    base = results["none"].rate
    figures["plain_over_none"] = round(results["plain"].rate / base, 2)
    figures["queued_over_none"] = round(results["queued"].rate / base, 2)
    figures["queued_over_plain"] = round(results["queued"].rate / results["plain"].rate, 2)
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
