"""Events per second from a Broker through a Trigger to Jobs, next to direct POSTs to the
JobSink's address in the same run, and the start-up time of Knative Eventing's components
(``make bench-knative``).

One run: the control plane with a node that routes Services, Knative Eventing as Pods
(``controlplane.knative``), the chosen data plane behind Knative's ``job-sink`` Service. Per
round, two fresh suspended logger JobSinks (no Pod runs: only ingest is measured), each fed N
unique events by one sender Pod (``bench/cluster_sender.py`` in the project image: Knative-like
retries of 429, 5xx and connection errors):

- **direct**: the sender posts to the JobSink's address (``job-sink.knative-eventing``);
- **broker**: the sender posts to the Broker's ingress; a Trigger (in-memory channel, the
  broker filter) delivers to the JobSink.

Events/s to Jobs is N over the time from the sender's container start to the last Job's
creation (both stamped by this machine's clock, to the second: about 1 s of N/rate). The
sender's own 202s per second are printed beside it (a Broker over an in-memory channel answers
once the Trigger's delivery ended, so the JobSink's pace reaches the sender).

Usage: ``python bench/knative_bench.py [--events 500] [--concurrency 16] [--rounds 1]
[--data-plane jobsink-python|knative]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

import controlplane.knative
from controlplane import ControlPlane
from controlplane.image import ensure_project_image
from controlplane.knative import KNATIVE_NAMESPACE, RunningKnative, start_knative

REPO = Path(__file__).resolve().parents[1]
SENDER = REPO / "bench" / "cluster_sender.py"
NAMESPACE = "bench"
EVENT_TYPE = "cluster.sender.event"  # what bench/cluster_sender.py sends
SINK_LABEL = "sinks.knative.dev/job-sink-name"
DATA_PLANES = ("jobsink-python", "knative")


def _poll(condition: Callable[[], bool], what: str, timeout: float) -> None:
    """Once a second: every check is a kubectl process on the node's two shared cores."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(1.0)


def _say(message: str) -> None:
    print(f"  {message}", file=sys.stderr, flush=True)


def _apply(plane: ControlPlane, *documents: dict[str, Any]) -> None:
    plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))


def _ready(plane: ControlPlane, kind: str, name: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def is_ready() -> bool:
        got = plane.kubectl("get", kind, name, "-n", NAMESPACE, "-o", "json", check=False)
        if got.returncode:
            return False
        seen.update(json.loads(got.stdout))
        conditions = seen.get("status", {}).get("conditions", [])
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    _poll(is_ready, f"{kind} {name} Ready", 180)
    return seen


def _sink(plane: ControlPlane, name: str) -> str:
    sink: dict[str, Any] = yaml.safe_load((REPO / "examples" / "job-sink-logger.yaml").read_text())
    sink["metadata"] = {"name": name, "namespace": NAMESPACE}
    sink["spec"]["job"]["spec"]["suspend"] = True
    _apply(plane, sink)
    url: str = _ready(plane, "jobsink", name)["status"]["address"]["url"]
    return url


def _broker_to(plane: ControlPlane, sink: str) -> str:
    """A Broker (once) and a Trigger for the sender's events to ``sink``; the Broker's URL."""
    broker = {
        "apiVersion": "eventing.knative.dev/v1",
        "kind": "Broker",
        "metadata": {"name": "default", "namespace": NAMESPACE},
    }
    trigger = {"apiVersion": "eventing.knative.dev/v1", "kind": "Trigger",
               "metadata": {"name": f"to-{sink}", "namespace": NAMESPACE},
               "spec": {"broker": "default", "filter": {"attributes": {"type": EVENT_TYPE}},
                        "subscriber": {"ref": {"apiVersion": "sinks.knative.dev/v1alpha1",
                                               "kind": "JobSink", "name": sink}},
                        "delivery": {"retry": 10, "backoffPolicy": "exponential",
                                     "backoffDelay": "PT0.2S"}}}  # fmt: skip
    _apply(plane, broker, trigger)
    _ready(plane, "trigger", f"to-{sink}")
    url: str = _ready(plane, "broker", "default")["status"]["address"]["url"]
    return url


def _stamp(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass
class Window:
    path: str
    events: int
    jobs: int
    seconds_to_jobs: float
    events_per_second: float
    sender_accepted_per_second: float
    sender_tally: dict[str, int]


def _send(plane: ControlPlane, image: str, pod: str, url: str, args: argparse.Namespace) -> Any:
    env = {"TARGET": url, "COUNT": str(args.events), "CONCURRENCY": str(args.concurrency),
           "ID_PREFIX": pod}  # fmt: skip
    _apply(plane, {
        "apiVersion": "v1", "kind": "Pod", "metadata": {"name": pod, "namespace": NAMESPACE},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": image, "imagePullPolicy": "IfNotPresent",
            "command": ["python", "/app/script.py"],
            "env": [{"name": k, "value": v} for k, v in env.items()],
            "volumeMounts": [{"name": "app", "mountPath": "/app"}]}],
            "volumes": [{"name": "app", "configMap": {"name": "sender"}}]}})  # fmt: skip
    seen: dict[str, Any] = {}

    def ended() -> bool:
        seen.update(
            json.loads(plane.kubectl("get", "pod", pod, "-n", NAMESPACE, "-o", "json").stdout)
        )
        return seen["status"].get("phase") in ("Succeeded", "Failed")

    _poll(ended, f"the sender Pod {pod} to end", 900)
    terminated = seen["status"]["containerStatuses"][0]["state"]["terminated"]
    report = json.loads(plane.kubectl("logs", pod, "-n", NAMESPACE).stdout.splitlines()[-1])
    return _stamp(terminated["startedAt"]), report


def _jobs_created(plane: ControlPlane, sink: str) -> list[datetime]:
    stamps = plane.kubectl(
        "get", "jobs", "-n", NAMESPACE, "-l", f"{SINK_LABEL}={sink}",
        "-o", "jsonpath={.items[*].metadata.creationTimestamp}",
    ).stdout.split()  # fmt: skip
    return sorted(_stamp(stamp) for stamp in stamps)


def _window(plane: ControlPlane, image: str, path: str, sink: str, url: str,
            args: argparse.Namespace) -> Window:  # fmt: skip
    started, report = _send(plane, image, f"send-{sink}", url, args)
    _poll(lambda: len(_jobs_created(plane, sink)) >= args.events, f"Jobs of {sink}", 900)
    time.sleep(3.0)  # late copies, if any, would show now
    return window_figures(path, args.events, started, _jobs_created(plane, sink), report)


def window_figures(
    path: str, events: int, started: datetime, created: list[datetime], report: dict[str, Any]
) -> Window:
    """One window's figures: ``events`` over the seconds from the sender's start to the last
    Job's creation (at least 1 s: both stamps are whole seconds), beside the sender's report."""
    last = max(created, default=started)
    seconds = max(1.0, (last - started).total_seconds())
    return Window(path, events, len(created), seconds, round(events / seconds, 1),
                  report["accepted_per_second"], dict(report["tally"]))  # fmt: skip


def _serve_with(plane: ControlPlane, knative: RunningKnative, data_plane: str) -> dict[str, float]:
    """Our receiver in place of Knative's job-sink Deployment (the README's "With Knative
    Eventing" install), or Knative's own as its config has it; the install's times."""
    if data_plane == "knative":
        return {}
    install = getattr(controlplane.knative, "install_jobsink_python", None)
    if install is None:
        raise SystemExit(
            "--data-plane jobsink-python: this checkout cannot install JobSink for Python behind "
            "Knative's job-sink (controlplane.knative.install_jobsink_python); use --data-plane "
            "knative"
        )
    ours = install(plane, knative, _say)
    return {"image": round(ours.image_seconds, 1), "rollout": round(ours.rollout_seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--data-plane", choices=DATA_PLANES, default="jobsink-python",
        help="behind Knative's job-sink Service: our receiver, or Knative's cmd/jobsink",
    )  # fmt: skip
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    image = ensure_project_image(_say, import_into=())
    began = time.monotonic()
    plane = ControlPlane(node=True, services=True, extra_images=[(image.archive, image.reference)])
    plane.start(progress=_say)
    figures: dict[str, Any] = {"data_plane": args.data_plane, "events": args.events,
                               "concurrency": args.concurrency}  # fmt: skip
    try:
        figures["plane_seconds"] = round(time.monotonic() - began, 1)
        knative = start_knative(plane, _say)
        times = knative.times
        figures["knative_startup"] = {"images": round(times.images, 1),
                                      "apply": round(times.apply, 1),
                                      "ready": round(times.ready, 1),
                                      "total": round(times.total, 1)}  # fmt: skip
        figures["data_plane_install"] = _serve_with(plane, knative, args.data_plane)
        plane.kubectl("create", "namespace", NAMESPACE)
        _apply(plane, {"apiVersion": "v1", "kind": "ConfigMap",
                       "metadata": {"name": "sender", "namespace": NAMESPACE},
                       "data": {"script.py": SENDER.read_text()}})  # fmt: skip
        windows = []
        for round_ in range(1, args.rounds + 1):
            direct = _sink(plane, f"direct-{round_}")
            windows.append(
                _window(plane, image.reference, "direct", f"direct-{round_}", direct, args)
            )
            _sink(plane, f"broker-{round_}")
            ingress = _broker_to(plane, f"broker-{round_}")
            windows.append(
                _window(plane, image.reference, "broker", f"broker-{round_}", ingress, args)
            )
            for window in windows[-2:]:
                _say(f"round {round_} {window.path}: {window.events_per_second} events/s to Jobs")
        figures["windows"] = [asdict(window) for window in windows]
    finally:
        plane.stop()
    print(json.dumps(figures, indent=2))
    print(table(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


def table(figures: dict[str, Any]) -> str:
    """The figures as the Markdown table of docs/knative.md."""
    rows = ["| path | events | Jobs | s to last Job | events/s to Jobs | sender's 202/s |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for window in figures["windows"]:
        rows.append(f"| {window['path']} | {window['events']} | {window['jobs']} | "
                    f"{window['seconds_to_jobs']:.0f} | {window['events_per_second']} | "
                    f"{window['sender_accepted_per_second']} |")  # fmt: skip
    startup = figures["knative_startup"]
    rows.append("")
    rows.append(f"Knative start-up ({KNATIVE_NAMESPACE}): images {startup['images']} s, apply "
                f"{startup['apply']} s, Deployments and webhook {startup['ready']} s; "
                f"{startup['total']} s in all (control plane and node: "
                f"{figures['plane_seconds']} s)")  # fmt: skip
    return "\n".join(rows)


if __name__ == "__main__":
    main()
