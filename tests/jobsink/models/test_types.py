"""The JobSink type: its wire shape, Knative's status duck shape, and its constants."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from jobsink import types

SINK: dict[str, Any] = {
    "apiVersion": "sinks.knative.dev/v1alpha1",
    "kind": "JobSink",
    "metadata": {"name": "job-sink-logger", "namespace": "default", "generation": 2},
    "spec": {
        "job": {
            "metadata": {
                "labels": {"kueue.x-k8s.io/queue-name": "user-queue"},
                "annotations": {"example.com/team": "a"},
            },
            "spec": {
                "completions": 1,
                "parallelism": 1,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [
                            {
                                "name": "main",
                                "image": "docker.io/library/bash:5",
                                "command": ["cat"],
                                "args": ["/etc/jobsink-event/event"],
                            }
                        ],
                    }
                },
            },
        }
    },
    "status": {
        "observedGeneration": 2,
        "address": {
            "name": "http",
            "url": "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger",
        },
        "addresses": [
            {
                "name": "https",
                "url": "https://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger",
                "CACerts": "-----BEGIN CERTIFICATE-----\n...",
                "audience": "sinks.knative.dev/jobsink/default/job-sink-logger",
            }
        ],
        "job": {"selector": "sinks.knative.dev/job-sink-name=job-sink-logger"},
        "conditions": [
            {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": "2026-01-02T15:04:05Z",
            },
            {
                "type": "Addressable",
                "status": "False",
                "severity": "Info",
                "reason": "NotAddressable",
                "message": "no listener",
                "lastTransitionTime": "2026-01-02T15:04:05Z",
            },
        ],
        "annotations": {"example.com/note": "x"},
        "policies": [{"apiVersion": "eventing.knative.dev/v1alpha1", "name": "allow-all"}],
    },
}


def test_round_trip() -> None:
    sink = types.JobSink.model_validate(SINK)
    assert sink.model_dump(mode="json", exclude_unset=True) == SINK


def test_spec_job_may_be_absent_for_validation_to_report() -> None:
    sink = types.JobSink.model_validate({**SINK, "spec": {}})
    assert sink.spec is not None
    assert sink.spec.job is None


INVALID: dict[str, tuple[dict[str, Any], tuple[str | int, ...]]] = {
    "wrong kind": ({**SINK, "kind": "Job"}, ("kind",)),
    "wrong apiVersion": ({**SINK, "apiVersion": "sinks.knative.dev/v1"}, ("apiVersion",)),
    "missing kind": ({k: v for k, v in SINK.items() if k != "kind"}, ("kind",)),
    "template name": (
        {**SINK, "spec": {"job": {"metadata": {"name": "x"}, "spec": {"template": {}}}}},
        ("spec", "job", "metadata", "name"),
    ),
    "template without spec": ({**SINK, "spec": {"job": {}}}, ("spec", "job", "spec")),
    "full Job instead of template": (
        {**SINK, "spec": {"job": {"kind": "Job", "spec": {"template": {}}}}},
        ("spec", "job", "kind"),
    ),
    "unknown spec field": ({**SINK, "spec": {"jobs": {}}}, ("spec", "jobs")),
    "condition without status": (
        {**SINK, "status": {"conditions": [{"type": "Ready"}]}},
        ("status", "conditions", 0, "status"),
    ),
    "bad transition time": (
        {
            **SINK,
            "status": {
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "now"}]
            },
        },
        ("status", "conditions", 0, "lastTransitionTime"),
    ),
}


@pytest.mark.parametrize(("sink", "loc"), INVALID.values(), ids=INVALID.keys())
def test_invalid_jobsink_reports_the_path(sink: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        types.JobSink.model_validate(sink)
    assert [error["loc"] for error in caught.value.errors()] == [loc]


def test_constants() -> None:
    assert types.API_VERSION == "sinks.knative.dev/v1alpha1"
    assert (types.GROUP, types.VERSION, types.KIND) == ("sinks.knative.dev", "v1alpha1", "JobSink")
    assert (types.PLURAL, types.SINGULAR, types.LIST_KIND) == ("jobsinks", "jobsink", "JobSinkList")
    assert types.CRD_NAME == "jobsinks.sinks.knative.dev"
    assert types.CATEGORIES == ("all", "knative", "eventing", "sink")
