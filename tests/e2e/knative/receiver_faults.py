"""Making JobSink for Python's receiver behind Knative's ``job-sink`` Service answer 429 and 503,
with the real apiserver and nothing standing in for it, and reading what it answered.

- 429: the receiver's in-flight limit (``JOBSINK_RECEIVER_MAX_INFLIGHT``) set to 1 on its
  Deployment; a burst through a Broker then finds it full.
- 503: every Secret write in one namespace refused by the apiserver: a validating admission
  webhook for Secrets there, failing closed, whose Service has no endpoints. The apiserver
  answers the receiver's write with 500 ``failed calling webhook``, as it would for any
  cluster's webhook that is down.
- What it answered: its Prometheus counter ``jobsink_events_rejected_total`` by reason, summed
  over its Pods (read inside each Pod: the project image has Python).
"""

from __future__ import annotations

import contextlib
import json
import re
from collections import Counter
from collections.abc import Iterator

from controlplane import ControlPlane
from controlplane.knative.manifests import KNATIVE_NAMESPACE
from tests.e2e.knative.cluster import Document, apply, eventually

DEPLOYMENT = "job-sink"
MAX_INFLIGHT = "JOBSINK_RECEIVER_MAX_INFLIGHT"
NOBODY_HOME = "nobody-home"
METRICS_URL = "http://127.0.0.1:8080/metrics"
_REJECTED = re.compile(r'^jobsink_events_rejected_total\{[^}]*reason="([^"]+)"[^}]*\} ([0-9.e+]+)$')


def _rollout(plane: ControlPlane) -> None:
    plane.kubectl(
        "rollout", "status", "-n", KNATIVE_NAMESPACE, f"deployment/{DEPLOYMENT}",
        "--timeout=180s", timeout=190,
    )  # fmt: skip


@contextlib.contextmanager
def in_flight_limit(plane: ControlPlane, limit: int) -> Iterator[None]:
    """The receiver's Deployment with ``limit`` Kubernetes calls at once, rolled out; its own
    setting back (and rolled out) afterwards."""
    target = ("-n", KNATIVE_NAMESPACE, f"deployment/{DEPLOYMENT}")
    plane.kubectl("set", "env", *target, f"{MAX_INFLIGHT}={limit}")
    _rollout(plane)
    try:
        yield
    finally:
        plane.kubectl("set", "env", *target, f"{MAX_INFLIGHT}-")
        _rollout(plane)


def secret_write_fault(namespace: str) -> list[Document]:
    """A Service without endpoints and a webhook, failing closed, on every Secret created in
    ``namespace``."""
    return [
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": NOBODY_HOME, "namespace": namespace},
            "spec": {"ports": [{"port": 443}]},
        },
        {
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "ValidatingWebhookConfiguration",
            "metadata": {"name": f"refuse-secrets-{namespace}"},
            "webhooks": [
                {
                    "name": "refuse-secrets.jobsink.test",
                    "rules": [
                        {
                            "apiGroups": [""],
                            "apiVersions": ["v1"],
                            "operations": ["CREATE"],
                            "resources": ["secrets"],
                        }
                    ],
                    "namespaceSelector": {
                        "matchLabels": {"kubernetes.io/metadata.name": namespace}
                    },
                    "clientConfig": {"service": {"namespace": namespace, "name": NOBODY_HOME}},
                    "failurePolicy": "Fail",
                    "sideEffects": "None",
                    "admissionReviewVersions": ["v1"],
                    "timeoutSeconds": 2,
                }
            ],
        },
    ]


@contextlib.contextmanager
def secrets_refused(plane: ControlPlane, namespace: str) -> Iterator[None]:
    """Secret writes in ``namespace`` fail (checked with one) until the block ends."""
    fault = secret_write_fault(namespace)
    apply(plane, *fault)
    probe = ("create", "secret", "generic", "fault-probe", "-n", namespace, "--from-literal=a=b")

    def refused() -> bool:
        result = plane.kubectl(*probe, check=False)
        if result.returncode == 0:
            plane.kubectl("delete", "secret", "fault-probe", "-n", namespace)
            return False
        return "failed calling webhook" in str(result.stderr)

    eventually(refused, "the apiserver to refuse Secrets in the namespace")
    try:
        yield
    finally:
        webhook = fault[1]
        plane.kubectl("delete", webhook["kind"], webhook["metadata"]["name"], "--wait=true")


def _receiver_pods(plane: ControlPlane) -> list[str]:
    deployment = json.loads(
        plane.kubectl("get", "deployment", DEPLOYMENT, "-n", KNATIVE_NAMESPACE, "-o", "json").stdout
    )
    labels = deployment["spec"]["selector"]["matchLabels"]
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    pods = json.loads(
        plane.kubectl("get", "pods", "-n", KNATIVE_NAMESPACE, "-l", selector, "-o", "json").stdout
    )
    return [
        pod["metadata"]["name"]
        for pod in pods["items"]
        if pod["status"].get("phase") == "Running" and not pod["metadata"].get("deletionTimestamp")
    ]


def parse_rejections(exposition: str) -> Counter[str]:
    """``jobsink_events_rejected_total`` by reason, from Prometheus' text format."""
    found: Counter[str] = Counter()
    for line in exposition.splitlines():
        match = _REJECTED.match(line.strip())
        if match:
            found[match.group(1)] += int(float(match.group(2)))
    return found


def rejections(plane: ControlPlane) -> Counter[str]:
    """What the receiver's Pods have refused so far, by reason, all Pods together."""
    read = f"import urllib.request; print(urllib.request.urlopen({METRICS_URL!r}).read().decode())"
    total: Counter[str] = Counter()
    for pod in _receiver_pods(plane):
        exposition = plane.kubectl(
            "exec", "-n", KNATIVE_NAMESPACE, pod, "--", "python", "-c", read
        ).stdout
        total.update(parse_rejections(str(exposition)))
    return total
