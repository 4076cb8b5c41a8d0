"""In-cluster ingest next to the loopback figure (``make bench-cluster``).

The README's install on the local node (``jobsink dev --in-cluster``'s, image built and
published, bundle applied), then a sender Pod (``bench/cluster_sender.py`` in the project
image) posts N unique events at concurrency C to a logger JobSink through the receiver's
Service; its Jobs are created suspended, so Pods are not awaited and only ingest is measured
(202/s). The node is then stopped and ``bench/receiver_bench.py`` measures the same N and C on
loopback (one receiver process, its own control plane), so both figures come from one run.

Usage: ``python bench/cluster_ingest.py [--events 1000] [--concurrency 16]``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from cli.in_cluster import SYSTEM_NAMESPACE, install
from controlplane import ControlPlane
from controlplane.readiness import wait_for

REPO = Path(__file__).resolve().parents[1]
NAMESPACE, SINK = "bench", "ingest"


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _suspended_logger(plane: ControlPlane) -> str:
    sink: dict[str, Any] = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
    sink["metadata"] = {"name": SINK, "namespace": NAMESPACE}
    sink["spec"]["job"]["spec"]["suspend"] = True
    plane.kubectl("create", "namespace", NAMESPACE)
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump(sink))

    def ready() -> bool:
        got = json.loads(
            plane.kubectl("get", "jobsink", SINK, "-n", NAMESPACE, "-o", "json").stdout
        )
        conditions = got.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_for(ready, what="the bench JobSink ready", timeout=120)
    return f"http://job-sink.{SYSTEM_NAMESPACE}.svc.cluster.local/{NAMESPACE}/{SINK}"


def _sender(plane: ControlPlane, image: str, url: str, events: int, concurrency: int) -> Any:
    env = {"TARGET": url, "COUNT": str(events), "CONCURRENCY": str(concurrency)}
    meta = {"name": "sender", "namespace": NAMESPACE}
    objects = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": meta,
         "data": {"script.py": (REPO / "bench" / "cluster_sender.py").read_text()}},
        {"apiVersion": "v1", "kind": "Pod", "metadata": meta,
         "spec": {"restartPolicy": "Never", "containers": [{
             "name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
             "command": ["python", "/app/script.py"],
             "env": [{"name": k, "value": v} for k, v in env.items()],
             "volumeMounts": [{"name": "app", "mountPath": "/app"}]}],
             "volumes": [{"name": "app", "configMap": {"name": "sender"}}]}},
    ]  # fmt: skip
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(objects))

    def ended() -> bool:
        pod = json.loads(
            plane.kubectl("get", "pod", "sender", "-n", NAMESPACE, "-o", "json").stdout
        )
        return pod["status"].get("phase") in ("Succeeded", "Failed")

    wait_for(ended, what="the sender Pod to end", timeout=900)
    log = plane.kubectl("logs", "sender", "-n", NAMESPACE).stdout
    return json.loads(log.splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    figures: dict[str, Any] = {"events": args.events, "concurrency": args.concurrency}
    with tempfile.TemporaryDirectory(prefix="jobsink-bench-cluster-") as scratch:
        began = time.monotonic()
        running = install(REPO, Path(scratch), say=_say, step=_say)
        try:
            figures["install_seconds"] = round(time.monotonic() - began, 1)
            figures["apply_to_available_seconds"] = round(running.rollout_seconds, 1)
            url = _suspended_logger(running.plane)
            figures["in_cluster"] = _sender(running.plane, running.image, url, args.events,
                                            args.concurrency)  # fmt: skip
        finally:
            running.plane.stop()
    subprocess.run(
        [sys.executable, str(REPO / "bench" / "receiver_bench.py"), "--events", str(args.events),
         "--concurrency", str(args.concurrency), "--rounds", "1", "--no-auth",
         "--json", f"{scratch}.loopback.json"],
        check=True, timeout=1800,
    )  # fmt: skip
    figures["loopback"] = json.loads(Path(f"{scratch}.loopback.json").read_text())
    Path(f"{scratch}.loopback.json").unlink()
    print(json.dumps(figures, indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
