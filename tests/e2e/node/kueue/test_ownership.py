"""Our defaulting and Kueue's never fight: a JobSink written for Kueue is accepted and applies
twice without a diff; the Job Kueue mutated (suspended on creation, resumed on admission) stays
as Kueue left it, with Kueue owning ``spec.suspend`` in the Job's managedFields, also when the
same event is delivered again."""

from __future__ import annotations

import json
from typing import Any

import yaml

from controlplane import ControlPlane
from tests.e2e.node.kueue.scenario import queued_sink
from tests.e2e.node.runs import NodeStack, get_json, post, wait_jobs_finished

KUEUE_METADATA = {
    "labels": {"kueue.x-k8s.io/max-exec-time-seconds": "300"},
    "annotations": {"kueue.x-k8s.io/job-completions-equal-parallelism": "false"},
}


def _sink_for_kueue() -> dict[str, Any]:
    sink = queued_sink()
    sink["metadata"]["name"] = "job-sink-kueue-owned"
    job = sink["spec"]["job"]
    job["spec"]["suspend"] = True  # Kueue's own advice for Jobs it manages
    job["metadata"]["labels"].update(KUEUE_METADATA["labels"])
    job["metadata"]["annotations"] = dict(KUEUE_METADATA["annotations"])
    return sink


def _with_managed_fields(plane: ControlPlane, namespace: str, job: dict[str, Any]) -> Any:
    name = job["metadata"]["name"]
    return get_json(plane, "job", name, "-n", namespace, "--show-managed-fields")


def _owners_of_suspend(job: dict[str, Any]) -> list[str]:
    return [
        entry["manager"]
        for entry in job["metadata"]["managedFields"]
        if "f:suspend" in ((entry.get("fieldsV1") or {}).get("f:spec") or {})
    ]


def test_a_sink_written_for_kueue_is_accepted_and_kueue_keeps_what_it_set(
    node_stack: NodeStack, kueue_namespace: str
) -> None:
    plane, namespace = node_stack.plane, kueue_namespace
    manifest = yaml.safe_dump(_sink_for_kueue())
    ssa = ("--server-side", "--field-manager=kueue-e2e", "-n", namespace, "-f", "-")

    applied = plane.kubectl("apply", *ssa, input=manifest)
    assert "serverside-applied" in applied.stdout
    # Accepted, with the advice the webhook gives for a suspended template.
    assert "suspend is true" in applied.stderr
    name = "job-sink-kueue-owned"
    plane.kubectl(
        "wait", "--for=condition=Ready", "--timeout=60s", f"jobsinks.sinks.knative.dev/{name}",
        "-n", namespace,
    )  # fmt: skip
    before = get_json(plane, "jobsinks.sinks.knative.dev", name, "-n", namespace)

    diff = plane.kubectl("diff", *ssa, input=manifest, check=False)
    assert (diff.returncode, diff.stdout) == (0, ""), diff.stdout + diff.stderr
    plane.kubectl("apply", *ssa, input=manifest)
    after = get_json(plane, "jobsinks.sinks.knative.dev", name, "-n", namespace)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"] == before["spec"]

    first = post(node_stack, namespace, name, event_id="owned-1")
    (finished,) = wait_jobs_finished(plane, namespace, name, 1)
    job = _with_managed_fields(plane, namespace, finished)
    # Resumed by Kueue at admission, though the template said suspend: true.
    assert job["spec"]["suspend"] is False
    owners = _owners_of_suspend(job)
    assert owners, job["metadata"]["managedFields"]
    assert all(owner.startswith("kueue") for owner in owners), owners
    for kind, values in KUEUE_METADATA.items():
        assert values.items() <= job["metadata"][kind].items()

    again = post(node_stack, namespace, name, event_id="owned-1")
    assert again.json()["outcome"] == "duplicate"
    assert again.json()["job"] == first.json()["job"]
    unchanged = _with_managed_fields(plane, namespace, finished)
    assert unchanged["spec"] == job["spec"]
    assert unchanged["metadata"]["generation"] == job["metadata"]["generation"]
    assert _owners_of_suspend(unchanged) == owners, json.dumps(unchanged["metadata"])
