"""The webhook's server-side dry-run against the real apiserver: each of the apiserver's causes
is reported at its own field of the JobSink (``spec.job.<field of the Job>``), one error per
cause, and only a refusal that names no field lands on ``spec.job`` itself."""

from __future__ import annotations

import asyncio
from typing import Any

import yaml
from kubernetes import client

from controlplane import ControlPlane
from jobsink.validation import validate
from tests.e2e.services import RunningWebhook
from tests.e2e.support import EXAMPLES
from webhook.dryrun import REFUSED, DryRun

POD = "spec.job.spec.template.spec"


def example() -> dict[str, Any]:
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-success.yaml").read_text())
    return sink


def pod(sink: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sink["spec"]["job"]["spec"]["template"]["spec"]
    return spec


def too_many_search_domains(sink: dict[str, Any]) -> None:
    """A rule of the apiserver's (at most 32 DNS search domains) that local validation does not
    check: only the dry-run can refuse it."""
    pod(sink)["dnsConfig"] = {"searches": [f"d{i}.example" for i in range(33)]}


def test_each_cause_is_reported_at_its_field(api_client: client.ApiClient, namespace: str) -> None:
    """Called directly, so local validation does not catch these first: two causes, two errors."""
    sink = example()
    sink["metadata"]["namespace"] = namespace
    sink["spec"]["job"]["spec"]["completions"] = -1
    pod(sink)["restartPolicy"] = "Always"
    verdict = asyncio.run(DryRun(api_client, timeout=10).check(sink, namespace))
    assert verdict.warnings == []
    assert sorted(e.path for e in verdict.errors) == [
        "spec.job.spec.completions",
        f"{POD}.restartPolicy",
    ]
    by_path = {e.path: e.message for e in verdict.errors}
    assert by_path["spec.job.spec.completions"] == (
        f"{REFUSED}: Invalid value: -1: must be greater than or equal to 0"
    )
    assert by_path[f"{POD}.restartPolicy"].startswith(f"{REFUSED}: Required value")


def test_a_rule_only_the_apiserver_knows_is_denied_at_its_field(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    sink = example()
    too_many_search_domains(sink)
    assert validate(sink) == [], "local validation checks this now: pick another apiserver rule"
    applied = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(sink), check=False
    )
    assert applied.returncode != 0
    assert f"{POD}.dnsConfig.searches: {REFUSED}: Invalid value" in applied.stderr
    assert f"spec.job: {REFUSED}" not in applied.stderr
