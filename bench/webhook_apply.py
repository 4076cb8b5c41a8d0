"""``kubectl apply`` of the documentation's JobSink, end to end, under our webhook and Knative's.

One local control plane with a node that routes Services, and Knative Eventing v0.50.0 on it
(``controlplane.knative``: its webhook is called by the apiserver through its Service). The same
``kubectl apply`` of ``examples/job-sink-logger.yaml`` is timed, from the start of the kubectl
process to its exit, under four contenders:

* **none**: no JobSink webhook registered (the floor: kubectl, the apiserver, etcd);
* **ours, dry-run on**: ``jobsink webhook`` as it ships (it also dry-run creates the rendered Job);
* **ours, dry-run off**: ``jobsink webhook --no-dry-run`` (local validation only);
* **knative**: Knative's ``cmd/webhook`` (defaulting, then validation by a dry-run Job create),
  twice: as shipped, with its Deployment's CPU limit of 200m (the kubelet enforces it, so under
  a burst the webhook is throttled to a fifth of a core), and with that limit lifted, like ours,
  which runs on the host without one.

Each contender applies in a namespace of its own (Knative's defaulting adds fields ours refuses,
``spec.job.status: {}``, so the objects are never shared); its first apply there creates the
JobSink and is not timed. Every timed apply changes the Job template (an annotation counter in
``spec.job.metadata.annotations``), so it is an UPDATE both webhooks judge in full: ours lets an
UPDATE that leaves ``spec`` alone through untouched.

The contenders take turns in windows, in ``--rounds`` rounds, so load drift on the shared machine
weighs on each alike; each window begins with ``WARMUP_APPLIES`` untimed applies. Switching:
ours is registered by URL on 127.0.0.1 (a process per setting, both running throughout, the
configurations pointed at one of them); Knative's is taken out by
deleting its two configurations (saved first) and scaling its Deployment to 0, since its
reconciler would rewrite configurations while it runs but never creates them, and put back by
re-creating them and scaling it to 1. A switch is done when a dry-run create probe is answered by
the contender's webhooks and by no other (the apiserver's own call counters, and for ours the
process's). The apiserver's histogram ``apiserver_admission_webhook_admission_duration_seconds``
gives what each webhook call took as the apiserver saw it, free of kubectl's own time.

Only one run per machine may route Services: ``JOBSINK_NODE_SERVICES_WAIT`` (1800 s unless set)
makes this one wait in line for them.

Usage: ``python bench/webhook_apply.py [--applies 200] [--rounds 4] [--json F]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from cli.stack import jobsink_executable  # noqa: E402
from controlplane import ControlPlane, ManagedProcess  # noqa: E402
from controlplane.knative import KNATIVE_NAMESPACE, KNATIVE_VERSION, start_knative  # noqa: E402
from controlplane.ports import LOOPBACK, free_ports  # noqa: E402
from controlplane.readiness import wait_for  # noqa: E402
from webhook import configurations  # noqa: E402

EXAMPLE = REPO / "examples" / "job-sink-logger.yaml"
KNATIVE_SHIPPED = "knative, shipped (CPU limit 200m)"
KNATIVE_UNLIMITED = "knative, no CPU limit"
CONTENDERS = ("none", "ours, dry-run on", "ours, dry-run off", KNATIVE_SHIPPED, KNATIVE_UNLIMITED)
#: Where the webhook container's CPU limit is in Knative's Deployment.
CPU_LIMIT_PATH = "/spec/template/spec/containers/0/resources/limits/cpu"
OURS = (configurations.MUTATING_NAME, configurations.VALIDATING_NAME)
KNATIVE = ("webhook.eventing.knative.dev", "validation.webhook.eventing.knative.dev")
KNATIVE_KINDS = ("MutatingWebhookConfiguration", "ValidatingWebhookConfiguration")
KNATIVE_DEPLOYMENT = "eventing-webhook"
COUNTER = "bench.jobsink.dev/apply"
HISTOGRAM = "apiserver_admission_webhook_admission_duration_seconds"
SWITCH_TIMEOUT = 180.0
#: Applies at the start of every window that are not timed.
WARMUP_APPLIES = 5


# --- arithmetic (tests/bench) ------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0-100) of ``values``."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-len(ordered) * q // 100))  # ceil(n * q / 100), at least 1
    return ordered[int(rank) - 1]


def latency_summary(seconds: Sequence[float]) -> dict[str, float]:
    return {
        "applies": len(seconds),
        "p50_ms": 1000 * percentile(seconds, 50),
        "p99_ms": 1000 * percentile(seconds, 99),
        "mean_ms": 1000 * sum(seconds) / len(seconds) if seconds else float("nan"),
    }


def _label(labels: str, name: str) -> str:
    marker = f'{name}="'
    return labels.split(marker, 1)[1].split('"', 1)[0] if marker in labels else ""


def webhook_totals(metrics: str, names: Iterable[str]) -> dict[str, tuple[float, float]]:
    """Per webhook name: (seconds, calls) of the apiserver's UPDATE calls to it, so far."""
    wanted = set(names)
    totals: dict[str, list[float]] = {}
    for line in metrics.splitlines():
        for suffix, slot in (("_sum{", 0), ("_count{", 1)):
            if not line.startswith(HISTOGRAM + suffix):
                continue
            labels, value = line.rsplit(" ", 1)
            name = _label(labels, "name")
            if name in wanted and _label(labels, "operation") == "UPDATE":
                totals.setdefault(name, [0.0, 0.0])[slot] += float(value)
    return {name: (seconds, calls) for name, (seconds, calls) in totals.items()}


def call_counts(metrics: str, names: Iterable[str]) -> dict[str, float]:
    """Per webhook name: how often the apiserver called it, any operation."""
    wanted = set(names)
    counts = dict.fromkeys(wanted, 0.0)
    for line in metrics.splitlines():
        if line.startswith("apiserver_admission_webhook_request_total{"):
            labels, value = line.rsplit(" ", 1)
            name = _label(labels, "name")
            if name in wanted:
                counts[name] += float(value)
    return counts


def per_call_ms(
    windows: Sequence[tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]],
) -> dict[str, dict[str, float]]:
    """Mean milliseconds per call of each webhook over the (before, after) totals of windows."""
    seconds: dict[str, float] = {}
    calls: dict[str, float] = {}
    for before, after in windows:
        for name, (total, count) in after.items():
            seconds[name] = seconds.get(name, 0.0) + total - before.get(name, (0.0, 0.0))[0]
            calls[name] = calls.get(name, 0.0) + count - before.get(name, (0.0, 0.0))[1]
    return {
        name: {"calls": calls[name], "mean_ms": 1000 * seconds[name] / calls[name]}
        for name in sorted(calls)
        if calls[name] > 0
    }


def ratios(results: dict[str, dict[str, Any]], baseline: str) -> dict[str, dict[str, float]]:
    """p50 and p99 of each contender over ``baseline``'s."""
    base = results[baseline]
    return {
        name: {
            "p50": result["p50_ms"] / base["p50_ms"],
            "p99": result["p99_ms"] / base["p99_ms"],
        }
        for name, result in results.items()
    }


def sink_document(namespace: str, counter: int) -> dict[str, Any]:
    """The documentation's JobSink in ``namespace``, its Job template annotated with ``counter``."""
    sink: dict[str, Any] = yaml.safe_load(EXAMPLE.read_text())
    sink["metadata"]["namespace"] = namespace
    job = sink["spec"]["job"]
    job.setdefault("metadata", {}).setdefault("annotations", {})[COUNTER] = str(counter)
    return sink


# --- the plane ---------------------------------------------------------------------------------


def say(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def apiserver_metrics(plane: ControlPlane) -> str:
    return plane.kubectl("get", "--raw", "/metrics").stdout


@dataclass
class OurWebhook:
    """``jobsink webhook`` on 127.0.0.1:``port``, dry-run on or off."""

    process: ManagedProcess
    port: int
    dry_run: bool
    client: httpx.Client

    def reviews(self) -> float:
        text = self.client.get(f"https://{LOOPBACK}:{self.port}/metrics").text
        return sum(
            float(line.rsplit(" ", 1)[1])
            for line in text.splitlines()
            if line.startswith("jobsink_webhook_reviews_total{")
        )


def start_ours(plane: ControlPlane, dry_run: bool) -> OurWebhook:
    name = f"webhook-{'dry-run' if dry_run else 'no-dry-run'}"
    tls = plane.workdir / name
    tls.mkdir(exist_ok=True)
    pair = plane.authority.issue_server(dns_names=["localhost"], ips=[LOOPBACK])
    (tls / "tls.crt").write_bytes(pair.cert_pem)
    (tls / "tls.key").write_bytes(pair.key_pem)
    port = free_ports(1)[0]
    process = plane.spawn(
        name,
        [
            jobsink_executable(), "webhook", f"--host={LOOPBACK}", f"--port={port}",
            f"--tls-cert={tls / 'tls.crt'}", f"--tls-key={tls / 'tls.key'}",
            f"--kubeconfig={plane.kubeconfig}", "--dry-run" if dry_run else "--no-dry-run",
            "--log-level=warning",
        ],
    )  # fmt: skip
    client = httpx.Client(verify=str(plane.ca_cert), timeout=5)
    webhook = OurWebhook(process, port, dry_run, client)

    def ready() -> bool:
        try:
            return client.get(f"https://{LOOPBACK}:{port}/readyz").status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(ready, what=f"{name} /readyz", timeout=60, watched=[process])
    return webhook


class Switchboard:
    """Which webhooks the apiserver calls for JobSinks."""

    def __init__(self, plane: ControlPlane, probe_namespace: str) -> None:
        self.plane = plane
        self.probe_namespace = probe_namespace
        self.knative_saved: list[dict[str, Any]] = []
        self.knative_on = True
        self.ours: OurWebhook | None = None
        deployment = self._knative_deployment()
        self.shipped_cpu_limit: str = deployment["spec"]["template"]["spec"]["containers"][0][
            "resources"
        ]["limits"]["cpu"]
        self.cpu_limited = True

    def _knative_deployment(self) -> dict[str, Any]:
        text = self.plane.kubectl(
            "get", "-n", KNATIVE_NAMESPACE, f"deployment/{KNATIVE_DEPLOYMENT}", "-o", "json"
        ).stdout
        deployment: dict[str, Any] = json.loads(text)
        return deployment

    def _knative_cpu_limit(self, limited: bool) -> bool:
        """Put Knative's shipped CPU limit on its webhook, or lift it; True if that changed it."""
        if limited == self.cpu_limited:
            return False
        operation: dict[str, Any] = (
            {"op": "add", "path": CPU_LIMIT_PATH, "value": self.shipped_cpu_limit}
            if limited
            else {"op": "remove", "path": CPU_LIMIT_PATH}
        )
        self.plane.kubectl(
            "patch", "-n", KNATIVE_NAMESPACE, f"deployment/{KNATIVE_DEPLOYMENT}",
            "--type=json", "-p", json.dumps([operation]),
        )  # fmt: skip
        self.cpu_limited = limited
        return True

    def _knative_rolled_out(self) -> None:
        self.plane.kubectl(
            "rollout", "status", "-n", KNATIVE_NAMESPACE, f"deployment/{KNATIVE_DEPLOYMENT}",
            "--timeout=180s", timeout=200,
        )  # fmt: skip

    def _probe(self) -> None:
        sink = sink_document(self.probe_namespace, 0)
        sink["metadata"]["name"] = "apply-probe"
        self.plane.kubectl(
            "create", "--dry-run=server", "-f", "-", input=yaml.safe_dump(sink), check=False
        )

    def _answered_by(self, called: Sequence[str], quiet: Sequence[str]) -> bool:
        """One probe: true if every webhook of ``called`` and none of ``quiet`` was called
        (and, with ours registered, our current process saw it)."""
        names = [*called, *quiet]
        before = call_counts(apiserver_metrics(self.plane), names)
        seen = self.ours.reviews() if self.ours else 0.0
        self._probe()
        after = call_counts(apiserver_metrics(self.plane), names)
        if self.ours and self.ours.reviews() <= seen:
            return False
        return all(after[n] > before[n] for n in called) and all(
            after[n] == before[n] for n in quiet
        )

    def _settle(self, called: Sequence[str], quiet: Sequence[str], what: str) -> None:
        # Twice in a row: the apiserver's informers may still hand out the previous
        # configuration for a moment after the first answer that looks right.
        streak = [0]

        def settled() -> bool:
            streak[0] = streak[0] + 1 if self._answered_by(called, quiet) else 0
            return streak[0] >= 2

        wait_for(settled, what=what, timeout=SWITCH_TIMEOUT)

    def knative_off(self) -> None:
        if not self.knative_on:
            return
        kubectl = self.plane.kubectl
        self.knative_saved = []
        for kind, name in zip(KNATIVE_KINDS, KNATIVE, strict=True):
            saved = json.loads(kubectl("get", kind, name, "-o", "json").stdout)
            for key in ("resourceVersion", "uid", "creationTimestamp", "generation"):
                saved["metadata"].pop(key, None)
            saved["metadata"].pop("managedFields", None)
            self.knative_saved.append(saved)
            kubectl("delete", kind, name)
        kubectl(
            "scale", "-n", KNATIVE_NAMESPACE, f"deployment/{KNATIVE_DEPLOYMENT}", "--replicas=0"
        )
        self.knative_on = False

    def knative_back(self, cpu_limited: bool) -> None:
        if self.knative_on:
            if self._knative_cpu_limit(cpu_limited):
                self._knative_rolled_out()
            return
        self._knative_cpu_limit(cpu_limited)
        kubectl = self.plane.kubectl
        kubectl(
            "create",
            "-f",
            "-",
            input=json.dumps({"kind": "List", "apiVersion": "v1", "items": self.knative_saved}),
        )
        kubectl(
            "scale", "-n", KNATIVE_NAMESPACE, f"deployment/{KNATIVE_DEPLOYMENT}", "--replicas=1"
        )
        self._knative_rolled_out()
        self.knative_on = True

    def use(self, contender: str, ours: dict[bool, OurWebhook]) -> None:
        if contender in (KNATIVE_SHIPPED, KNATIVE_UNLIMITED):
            self._unregister_ours()
            self.knative_back(cpu_limited=contender == KNATIVE_SHIPPED)
            self._settle(KNATIVE, OURS, "only Knative's webhooks to be called")
            return
        self.knative_off()
        if contender == "none":
            self._unregister_ours()
            self._settle((), (*OURS, *KNATIVE), "no JobSink webhook to be called")
            return
        webhook = ours[contender == "ours, dry-run on"]
        documents = configurations.local(webhook.port, self.plane.authority.cert_pem, host=LOOPBACK)
        self.plane.kubectl("apply", "-f", "-", input=yaml.safe_dump_all(documents))
        self.ours = webhook
        self._settle(OURS, KNATIVE, f"only our webhook on port {webhook.port} to be called")

    def _unregister_ours(self) -> None:
        self.ours = None
        for kind, name in zip(KNATIVE_KINDS, OURS, strict=True):
            self.plane.kubectl("delete", kind, name, "--ignore-not-found")


@dataclass
class Contender:
    name: str
    namespace: str
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    windows: list[tuple[dict[str, tuple[float, float]], dict[str, tuple[float, float]]]] = field(
        default_factory=list
    )
    created: bool = False


def timed_apply(plane: ControlPlane, document: dict[str, Any]) -> tuple[float, str]:
    """Seconds from kubectl's start to its exit; and its error, "" when it succeeded."""
    argv = [str(plane.binaries.kubectl), f"--kubeconfig={plane.kubeconfig}", "apply", "-f", "-"]
    text = yaml.safe_dump(document)
    started = time.perf_counter()
    result = subprocess.run(argv, input=text, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    return elapsed, (result.stderr.strip() or "kubectl failed") if result.returncode else ""


def run_window(
    plane: ControlPlane, contender: Contender, applies: int, counter: Callable[[], int]
) -> None:
    if not contender.created:
        _, error = timed_apply(plane, sink_document(contender.namespace, counter()))
        if error:
            raise SystemExit(f"bench: creating the JobSink under {contender.name}: {error}")
        contender.created = True
    # Untimed: Knative's webhook Pod may have just started, and the apiserver's connections to
    # a webhook are new after every switch.
    for _ in range(WARMUP_APPLIES):
        timed_apply(plane, sink_document(contender.namespace, counter()))
    names = (*OURS, *KNATIVE)
    before = webhook_totals(apiserver_metrics(plane), names)
    for _ in range(applies):
        elapsed, error = timed_apply(plane, sink_document(contender.namespace, counter()))
        if error:
            contender.failures.append(error)
        else:
            contender.latencies.append(elapsed)
    contender.windows.append((before, webhook_totals(apiserver_metrics(plane), names)))


def report(contenders: list[Contender]) -> dict[str, Any]:
    results: dict[str, dict[str, Any]] = {
        c.name: {
            **latency_summary(c.latencies),
            "failures": len(c.failures),
            "webhook_calls": per_call_ms(c.windows),
        }
        for c in contenders
    }
    return {
        "results": results,
        "vs_none": ratios(results, "none"),
        "vs_knative": ratios(results, KNATIVE_SHIPPED),
    }


def table(figures: dict[str, Any]) -> str:
    lines = [
        "| contender | applies | failures | p50 ms | p99 ms | mean ms | p50 / none "
        "| p50 / Knative shipped | p99 / Knative shipped "
        "| webhook calls, mean ms (apiserver's view) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in figures["results"].items():
        calls = (
            ", ".join(
                f"{webhook.split('.')[0]} {c['mean_ms']:.1f}"
                for webhook, c in r["webhook_calls"].items()
            )
            or "none"
        )
        lines.append(
            f"| {name} | {r['applies']} | {r['failures']} | {r['p50_ms']:.0f} | {r['p99_ms']:.0f} "
            f"| {r['mean_ms']:.0f} | {figures['vs_none'][name]['p50']:.2f} "
            f"| {figures['vs_knative'][name]['p50']:.2f} "
            f"| {figures['vs_knative'][name]['p99']:.2f} "
            f"| {calls} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--applies", type=int, default=200, help="timed applies per contender")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    per_window = max(1, args.applies // args.rounds)
    os.environ.setdefault("JOBSINK_NODE_SERVICES_WAIT", "1800")

    plane = ControlPlane(node=True, services=True)
    plane.start(progress=lambda message: say(f"control plane: {message}"))
    ours: dict[bool, OurWebhook] = {}
    try:
        knative = start_knative(plane, lambda message: say(f"knative: {message}"))
        try:
            contenders = [Contender(name, f"bench-apply-{i}") for i, name in enumerate(CONTENDERS)]
            for contender in contenders:
                plane.kubectl("create", "namespace", contender.namespace)
            ours = {dry_run: start_ours(plane, dry_run) for dry_run in (True, False)}
            board = Switchboard(plane, contenders[0].namespace)
            serial = iter(range(1, 10**9))
            for round_ in range(args.rounds):
                for contender in contenders:
                    say(f"round {round_ + 1}/{args.rounds}: {contender.name}: switching")
                    board.use(contender.name, ours)
                    say(f"round {round_ + 1}/{args.rounds}: {contender.name}: {per_window} applies")
                    run_window(plane, contender, per_window, lambda: next(serial))
            figures = report(contenders)
            figures["knative_version"] = KNATIVE_VERSION
            figures["applies_per_window"] = per_window
            figures["rounds"] = args.rounds
            figures["first_failures"] = {c.name: c.failures[:3] for c in contenders if c.failures}
        finally:
            knative.stop()
    finally:
        for webhook in ours.values():
            webhook.client.close()
        plane.stop()
    load = os.getloadavg()
    print(
        f"\nkubectl apply of {EXAMPLE.relative_to(REPO)} (an UPDATE of spec.job each), "
        f"{per_window} per window, {args.rounds} rounds; Knative Eventing {KNATIVE_VERSION}; "
        f"load average at the end {load[0]:.1f}\n"
    )
    print(table(figures))
    if figures["first_failures"]:
        print("\nfailures:", json.dumps(figures["first_failures"], indent=2))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
