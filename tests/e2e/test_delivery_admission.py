"""``spec.delivery`` through the real apiserver and webhook: defaulted, denied at its paths, and
kept by the CRD (which Knative's own CRD would prune)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from controlplane import ControlPlane
from tests.e2e.services import RunningWebhook
from tests.e2e.support import EXAMPLES

REF = {"apiVersion": "sinks.knative.dev/v1alpha1", "kind": "JobSink", "name": "dead-letters"}


def failing(delivery: dict[str, Any]) -> str:
    sink: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-failure.yaml").read_text())
    sink["spec"]["delivery"] = delivery
    return yaml.safe_dump(sink)


def test_delivery_is_kept_and_the_ref_namespace_defaulted(
    control_plane: ControlPlane, webhook: RunningWebhook, namespace: str
) -> None:
    delivery = {"deadLetterSink": {"ref": REF}, "retry": 3, "backoffPolicy": "linear",
                "backoffDelay": "PT0.5S", "timeout": "PT10S"}  # fmt: skip
    control_plane.kubectl("apply", "-n", namespace, "-f", "-", input=failing(delivery))
    out = control_plane.kubectl("get", "jobsink", "job-sink-failure", "-n", namespace, "-o", "yaml")
    stored = yaml.safe_load(out.stdout)["spec"]["delivery"]
    assert stored == {**delivery, "deadLetterSink": {"ref": {**REF, "namespace": namespace}}}


@pytest.mark.parametrize(
    ("delivery", "path", "words"),
    [
        ({"deadLetterSink": {"uri": "/dead"}}, "spec.delivery.deadLetterSink.uri",
         "Relative URI is not allowed"),
        ({"deadLetterSink": {"ref": {**REF, "name": ""}}}, "spec.delivery.deadLetterSink.ref.name",
         "Required value"),
        ({"deadLetterSink": {"ref": REF}, "backoffDelay": "1s"}, "spec.delivery.backoffDelay",
         "ISO 8601 duration"),
        ({"deadLetterSink": {"ref": REF}, "retry": -1}, "spec.delivery.retry",
         "greater than or equal to 0"),
        ({"deadLetterSink": {"ref": REF}, "timeout": "PT0S"}, "spec.delivery.timeout",
         "must be greater than 0"),
    ],
)  # fmt: skip
def test_bad_delivery_is_denied_at_its_path(
    control_plane: ControlPlane,
    webhook: RunningWebhook,
    namespace: str,
    delivery: dict[str, Any],
    path: str,
    words: str,
) -> None:
    applied = control_plane.kubectl(
        "apply", "-n", namespace, "-f", "-", input=failing(delivery), check=False
    )
    assert applied.returncode != 0
    assert path in applied.stderr, applied.stderr
    assert words in applied.stderr, applied.stderr
