"""Rendering: the Job and Secret of an event, checked against what the seed documentation says."""

from __future__ import annotations

import base64
import copy
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from jobsink.event import CloudEvent, json_data
from jobsink.names import job_name
from jobsink.render import PLACEHOLDER_UID, dry_run_job, render, secret_owned_by
from tests.jobsink.sinks import pod_of, sink

EXAMPLES = Path(__file__).parents[2] / "examples"
SEED_FILE = (
    b'{"specversion":"1.0","id":"123","source":"my/curl/command","type":"my.demo.event",'
    b'"datacontenttype":"application/json","data":{"details":"JobSinkDemo"}}'
)
BATCH = {"name": "K_EXECUTION_MODE", "value": "batch"}
EVENT_MOUNT = {"name": "jobsink-event", "mountPath": "/etc/jobsink-event", "readOnly": True}


def curl_event() -> CloudEvent:
    """The event of the seed's curl example."""
    attributes = {
        "specversion": "1.0",
        "id": "123",
        "source": "my/curl/command",
        "type": "my.demo.event",
        "datacontenttype": "application/json",
    }
    return CloudEvent.from_attributes(attributes, data=json_data({"details": "JobSinkDemo"}))


def example(name: str) -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((EXAMPLES / f"{name}.yaml").read_text())
    obj["metadata"] |= {"namespace": "default", "uid": "sink-uid"}
    return obj


def test_seed_logger_job_is_exactly_the_documented_one() -> None:
    rendered = render(example("job-sink-logger"), curl_event())
    name = job_name("job-sink-logger", "my/curl/command", "123")
    assert rendered.name == name
    assert rendered.job == {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": "default",
            "labels": {
                "sinks.knative.dev/job-sink-name": "job-sink-logger",
                "sinks.knative.dev/job-sink-id": name,
            },
            "annotations": {
                "sinks.knative.dev/event-source": "my/curl/command",
                "sinks.knative.dev/event-id": "123",
            },
            "ownerReferences": [
                {
                    "apiVersion": "sinks.knative.dev/v1alpha1",
                    "kind": "JobSink",
                    "name": "job-sink-logger",
                    "uid": "sink-uid",
                    "controller": True,
                    "blockOwnerDeletion": False,
                }
            ],
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
                            "env": [BATCH, {"name": "K_EVENT_PATH", "value": "/etc/jobsink-event"}],
                            "volumeMounts": [EVENT_MOUNT],
                        }
                    ],
                    "volumes": [{"name": "jobsink-event", "secret": {"secretName": name}}],
                }
            },
        },
    }


def test_seed_logger_secret_holds_the_documented_file() -> None:
    rendered = render(example("job-sink-logger"), curl_event())
    secret = rendered.secret
    assert base64.b64decode(secret["data"]["event"]) == SEED_FILE
    assert secret["immutable"] is True
    assert secret["type"] == "Opaque"
    assert secret["metadata"]["name"] == rendered.name
    assert secret["metadata"]["labels"] == rendered.job["metadata"]["labels"]
    assert secret["metadata"]["annotations"] == rendered.job["metadata"]["annotations"]
    assert "ownerReferences" not in secret["metadata"]


def test_custom_mount_path_wins_and_is_the_event_path() -> None:
    container = pod_of(render(example("job-sink-custom-mount-path"), curl_event()).job)[
        "containers"
    ][0]
    assert container["volumeMounts"] == [
        {"name": "jobsink-event", "mountPath": "/etc/custom-path", "readOnly": True}
    ]
    assert container["env"] == [BATCH, {"name": "K_EVENT_PATH", "value": "/etc/custom-path"}]


@pytest.mark.parametrize("name", ["job-sink-success", "job-sink-failure"])
def test_seed_examples_pass_their_job_spec_through(name: str) -> None:
    sink_obj = example(name)
    job = render(sink_obj, curl_event()).job
    assert job["metadata"]["labels"]["my-label"] == "my-value"
    original = sink_obj["spec"]["job"]["spec"]
    for field in ("completions", "parallelism", "backoffLimit", "podFailurePolicy"):
        assert job["spec"][field] == original[field]


def test_everything_else_passes_through() -> None:
    obj = sink(suspend=True, ttlSecondsAfterFinished=600, completionMode="Indexed", completions=3)
    obj["spec"]["job"]["metadata"] = {
        "labels": {"kueue.x-k8s.io/queue-name": "q"},
        "annotations": {"a": "b"},
    }
    job = render(obj, curl_event()).job
    assert job["spec"]["suspend"] is True
    assert job["spec"]["ttlSecondsAfterFinished"] == 600
    assert job["spec"]["completionMode"] == "Indexed"
    assert job["metadata"]["labels"]["kueue.x-k8s.io/queue-name"] == "q"
    assert job["metadata"]["annotations"]["a"] == "b"


def test_user_event_path_is_not_duplicated_and_init_containers_get_the_event() -> None:
    pod = {
        "initContainers": [{"name": "prepare", "image": "i"}],
        "containers": [
            {"name": "main", "image": "i", "env": [{"name": "K_EVENT_PATH", "value": "/x"}]}
        ],
    }
    rendered_pod = pod_of(render(sink(pod=pod), curl_event()).job)
    main = rendered_pod["containers"][0]
    assert [v for v in main["env"] if v["name"] == "K_EVENT_PATH"] == [
        {"name": "K_EVENT_PATH", "value": "/x"}
    ]
    assert rendered_pod["initContainers"][0]["volumeMounts"] == [EVENT_MOUNT]


def test_a_stored_user_volume_of_the_event_name_is_replaced_in_place() -> None:
    pod = {
        "containers": [{"name": "main", "image": "i"}],
        "volumes": [{"name": "jobsink-event", "emptyDir": {}}, {"name": "data", "emptyDir": {}}],
    }
    volumes = pod_of(render(sink(pod=pod), curl_event()).job)["volumes"]
    assert [v["name"] for v in volumes] == ["jobsink-event", "data"]
    assert "secret" in volumes[0]


def test_render_is_pure() -> None:
    obj = example("job-sink-logger")
    before = copy.deepcopy(obj)
    first = render(obj, curl_event())
    assert obj == before
    assert render(obj, curl_event()) == first


def test_secret_owned_by_the_job() -> None:
    secret = render(example("job-sink-logger"), curl_event()).secret
    owned = secret_owned_by(secret, "the-job", "job-uid")
    assert owned["metadata"]["ownerReferences"] == [
        {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "name": "the-job",
            "uid": "job-uid",
            "controller": True,
            "blockOwnerDeletion": False,
        }
    ]
    assert "ownerReferences" not in secret["metadata"], "the input is not modified"


def test_dry_run_job_before_the_sink_exists() -> None:
    obj = example("job-sink-logger")
    del obj["metadata"]["uid"]
    job = dry_run_job(obj)
    assert job["metadata"]["ownerReferences"][0]["uid"] == PLACEHOLDER_UID
    assert json.dumps(job)  # plain JSON-ready data


def test_a_sink_without_job_template_is_refused_clearly() -> None:
    obj = sink()
    del obj["spec"]["job"]
    with pytest.raises(ValueError, match=r"spec\.job: Required value"):
        render(obj, curl_event())
