"""Validation: the corpus verdicts, the wording of errors, structural errors, and warnings."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from jobsink.defaults import default
from jobsink.validation import FieldError, validate, warnings
from jobsink.validation.policies import count_indexes
from jobsink.validation.structure import path_of
from jobsink.validation.syntax import is_env_var_name
from tests.jobsink.corpus import CASES, Case, container, pod, with_job_metadata
from tests.jobsink.sinks import sink


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_corpus(case: Case) -> None:
    assert [e.path for e in validate(default(case.obj))] == list(case.errors)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(
            {**sink(), "metadata": {"name": "a" * 64}},
            FieldError(
                "metadata.name",
                f'Invalid value: "{"a" * 64}": must be no more than 63 characters: a JobSink\'s '
                "name is the value of the label sinks.knative.dev/job-sink-name on every Job and "
                "Secret it creates",
            ),
            id="sink-name-too-long",
        ),
        pytest.param(
            sink(pod={"containers": [{"name": "main"}]}),
            FieldError("spec.job.spec.template.spec.containers[0].image", "Required value"),
            id="image-required",
        ),
        pytest.param(
            sink(pod=pod(restartPolicy="Always")),
            FieldError(
                "spec.job.spec.template.spec.restartPolicy",
                'Required value: valid values: "OnFailure", "Never"',
            ),
            id="restart-policy-always",
        ),
        pytest.param(
            sink(completionMode="Sometimes"),
            FieldError(
                "spec.job.spec.completionMode",
                'Unsupported value: "Sometimes": supported values: "Indexed", "NonIndexed"',
            ),
            id="completion-mode",
        ),
        pytest.param(
            sink(pod=pod(container(resources={"requests": {"cpu": "2"}, "limits": {"cpu": "1"}}))),
            FieldError(
                "spec.job.spec.template.spec.containers[0].resources.requests[cpu]",
                'Invalid value: "2": must be less than or equal to cpu limit of 1',
            ),
            id="requests-above-limits",
        ),
        pytest.param(
            sink(pod=pod(container(imagePolicy="Always"))),
            FieldError(
                "spec.job.spec.template.spec.containers[0].imagePolicy", "Forbidden: unknown field"
            ),
            id="unknown-field",
        ),
        pytest.param(
            sink(pod=pod(container(livenessProbe={"httpGet": {"port": [1]}}))),
            FieldError(
                "spec.job.spec.template.spec.containers[0].livenessProbe.httpGet.port",
                "Invalid value: list: must be an integer or a string",
            ),
            id="int-or-string-union-folded",
        ),
        pytest.param(
            {**sink(), "metadata": {"name": "x", "labels": {"a": 1}}},
            FieldError("metadata.labels[a]", "Invalid value: 1: must be a string"),
            id="map-key-path",
        ),
        pytest.param(
            {**sink(), "spec": {}},
            FieldError("spec.job", "Required value: the Job template to run for each event"),
            id="spec-job-required",
        ),
    ],
)
def test_messages(obj: dict[str, Any], expected: FieldError) -> None:
    assert validate(default(obj)) == [expected]


def test_generate_name_is_checked_with_room_for_the_suffix() -> None:
    obj = sink()
    obj["metadata"] = {"generateName": "a" * 59}
    assert [e.path for e in validate(default(obj))] == ["metadata.generateName"]


def test_validate_on_raw_object_matches_defaulted() -> None:
    obj = sink(pod=pod(container(env=[{"name": "X", "value": "1"}])))
    assert validate(obj) == validate(default(obj)) == []


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_validate_leaves_its_input_alone(case: Case) -> None:
    """``validate`` renders the Job from its own defaulted copy, never from the caller's object."""
    raw, defaulted = copy.deepcopy(case.obj), default(case.obj)
    kept = copy.deepcopy(defaulted)
    assert validate(raw) == validate(defaulted)
    assert raw == case.obj
    assert defaulted == kept


@pytest.mark.parametrize(
    ("text", "completions", "expected"),
    [
        pytest.param("", 3, 0, id="empty"),
        pytest.param("0,2", 3, 2, id="list"),
        pytest.param("0-2,4", 5, 4, id="range"),
    ],
)
def test_count_indexes(text: str, completions: int, expected: int) -> None:
    assert count_indexes(text, completions) == expected


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param("3", "too large index", id="too-large"),
        pytest.param("2-1", "non-increasing", id="decreasing"),
        pytest.param("0-2,1", "overlapping", id="overlap"),
        pytest.param("a", "cannot convert", id="not-a-number"),
    ],
)
def test_count_indexes_errors(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        count_indexes(text, 3)


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        pytest.param(sink(ttlSecondsAfterFinished=600), [], id="tidy"),
        pytest.param(sink(), ["spec.job.spec.ttlSecondsAfterFinished is not set"], id="no-ttl"),
        pytest.param(
            sink(ttlSecondsAfterFinished=1, pod=pod(container(image="bash"))),
            ["spec.job.spec.template.spec.containers[0].image: 'bash' has no fixed tag"],
            id="untagged-image",
        ),
        pytest.param(
            sink(ttlSecondsAfterFinished=1, pod=pod(container(image="reg:5000/bash:latest"))),
            ["spec.job.spec.template.spec.containers[0].image: 'reg:5000/bash:latest'"],
            id="latest-with-registry-port",
        ),
        pytest.param(
            sink(ttlSecondsAfterFinished=1, pod=pod(container(image="reg:5000/bash@sha256:ab"))),
            [],
            id="digest",
        ),
        pytest.param(
            sink(ttlSecondsAfterFinished=1, suspend=True), ["spec.job.spec.suspend"], id="suspend"
        ),
        pytest.param(
            sink(
                ttlSecondsAfterFinished=1,
                pod=pod(container(env=[{"name": "K_EVENT_PATH", "value": "/x"}])),
            ),
            ["spec.job.spec.template.spec.containers[0].env: K_EVENT_PATH"],
            id="user-event-path",
        ),
        pytest.param(
            with_job_metadata(
                labels={"sinks.knative.dev/job-sink-name": "x"},
                annotations={"sinks.knative.dev/event-id": "y"},
            ),
            [
                "spec.job.spec.ttlSecondsAfterFinished",
                "spec.job.metadata.labels[sinks.knative.dev/job-sink-name] is set by JobSink",
                "spec.job.metadata.annotations[sinks.knative.dev/event-id] is set by JobSink",
            ],
            id="reserved-metadata",
        ),
    ],
)
def test_warnings(obj: dict[str, Any], expected: list[str]) -> None:
    found = warnings(default(obj))
    assert len(found) == len(expected)
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start)


def test_a_stored_object_with_server_metadata_and_status_is_valid() -> None:
    """UPDATEs carry what the apiserver added: uid, managedFields, status..."""
    obj = sink()
    obj["metadata"] |= {
        "resourceVersion": "123",
        "generation": 2,
        "creationTimestamp": "2026-11-28T22:00:00Z",
        "finalizers": ["example.com/f"],
        "managedFields": [
            {
                "manager": "kubectl",
                "operation": "Update",
                "apiVersion": "sinks.knative.dev/v1alpha1",
                "time": "2026-11-28T22:00:00Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {"f:job": {}}},
            }
        ],
    }
    obj["status"] = {
        "observedGeneration": 2,
        "conditions": [
            {"type": "Ready", "status": "True", "lastTransitionTime": "2026-11-28T22:00:00Z"}
        ],
        "address": {"name": "http", "url": "http://receiver/default/logger"},
        "job": {"selector": "sinks.knative.dev/job-sink-name=logger"},
    }
    assert validate(default(obj)) == []


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        pytest.param(
            ("spec", "job", "spec", "completions"), "spec.job.spec.completions", id="fields"
        ),
        pytest.param(
            ("spec", "containers", 0, "ports", 1, "name"),
            "spec.containers[0].ports[1].name",
            id="indexes",
        ),
        pytest.param(
            ("resources", "limits", "cpu", "float"),
            "resources.limits[cpu]",
            id="map-key-and-union-tag",
        ),
        pytest.param(
            ("metadata", "labels", "labels"), "metadata.labels[labels]", id="key-named-like-a-map"
        ),
        pytest.param(("port", "function-after[check(), str]"), "port", id="validator-tag"),
    ],
)
def test_pydantic_locations_become_kubernetes_paths(
    loc: tuple[int | str, ...], expected: str
) -> None:
    assert path_of(loc) == expected


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        pytest.param("K_EVENT_PATH", True, id="usual"),
        pytest.param("my.var-1", True, id="dots-and-dashes"),
        pytest.param(" ~!<>?", True, id="printable-ascii-ends"),
        pytest.param("", False, id="empty"),
        pytest.param("A=B", False, id="equals-sign"),
        pytest.param("=", False, id="only-equals-sign"),
        pytest.param("TAB\tX", False, id="control-character"),
        pytest.param("X\n", False, id="trailing-newline"),
        pytest.param("\x7f", False, id="delete"),
        pytest.param("größe", False, id="non-ascii"),
    ],
)
def test_env_var_names(name: str, valid: bool) -> None:
    assert (is_env_var_name(name) == []) is valid
