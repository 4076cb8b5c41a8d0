"""Every defaulting and validation rule, through the AdmissionReview path (no HTTP).

Each case goes in as the review kube-apiserver sends and comes out as the review it reads back:
uid/apiVersion/kind echoed, a base64 JSONPatch for defaults, a 422 listing every field path for
invalid JobSinks, 400 for objects that are not JobSinks.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable, Mapping
from typing import Any

import jsonpatch
import pytest

from jobsink import admission
from jobsink.defaults import default
from tests.webhook.reviews import example, pod_spec, review

Mutation = Callable[[dict[str, Any]], object]


def _patch(answer: Mapping[str, Any]) -> list[dict[str, Any]]:
    response = answer["response"]
    if "patch" not in response:
        return []
    assert response["patchType"] == "JSONPatch"
    ops: list[dict[str, Any]] = json.loads(base64.b64decode(response["patch"]))
    return ops


def _defaulted_via_review(sink: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    answer = admission.defaulting_review(admission.parse_review(review(sink, **kwargs)))
    assert answer["response"]["allowed"] is True
    patched: dict[str, Any] = jsonpatch.apply_patch(sink, _patch(answer))
    return patched


# --- envelope ----------------------------------------------------------------------------------


@pytest.mark.parametrize("judge", [admission.defaulting_review, admission.validation_review])
def test_response_echoes_uid_api_version_and_kind(judge: Callable[..., Any]) -> None:
    request = review(example(), uid="705ab4f5-6393-11e8-b7cc-42010a800002")
    answer = judge(admission.parse_review(request))
    assert answer["apiVersion"] == "admission.k8s.io/v1"
    assert answer["kind"] == "AdmissionReview"
    assert answer["response"]["uid"] == "705ab4f5-6393-11e8-b7cc-42010a800002"


def _without(key: str) -> dict[str, Any]:
    body = review(example())
    del body["request"][key]
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param([1, 2], "body: expected a JSON object", id="array"),
        pytest.param("review", "body: expected a JSON object", id="string"),
        pytest.param(
            {**review(example()), "apiVersion": "admission.k8s.io/v1beta1"},
            "apiVersion/kind",
            id="v1beta1",
        ),
        pytest.param({**review(example()), "kind": "Pod"}, "apiVersion/kind", id="wrong-kind"),
        pytest.param(
            {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview"},
            "request: missing",
            id="no-request",
        ),
        pytest.param(_without("uid"), "request.uid", id="no-uid"),
        pytest.param(
            {**review(example()), "request": {**review(example())["request"], "uid": 7}},
            "request.uid",
            id="uid-not-string",
        ),
        pytest.param(
            {
                **review(example()),
                "request": {**review(example())["request"], "operation": "PATCH"},
            },
            "request.operation",
            id="unknown-operation",
        ),
    ],
)
def test_malformed_envelope_is_a_review_error(body: Any, message: str) -> None:
    with pytest.raises(admission.ReviewError, match=message):
        admission.parse_review(body)


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        pytest.param(None, "expected a JobSink object", id="missing"),
        pytest.param("spec: {}", "expected a JobSink object", id="string"),
        pytest.param({"apiVersion": "v1", "kind": "Pod"}, "kind JobSink", id="a-pod"),
        pytest.param({"kind": "JobSink"}, "kind JobSink", id="no-api-version"),
    ],
)
@pytest.mark.parametrize("judge", [admission.defaulting_review, admission.validation_review])
def test_undecodable_object_is_denied_with_400(
    obj: Any, message: str, judge: Callable[..., Any]
) -> None:
    response = judge(admission.parse_review(review(obj)))["response"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    assert message in response["status"]["message"]


@pytest.mark.parametrize("operation", ["DELETE", "CONNECT"])
@pytest.mark.parametrize("judge", [admission.defaulting_review, admission.validation_review])
def test_delete_and_connect_pass_untouched(operation: str, judge: Callable[..., Any]) -> None:
    broken = example()
    del broken["spec"]["job"]
    response = judge(admission.parse_review(review(None, operation=operation, old=broken)))[
        "response"
    ]
    assert response == {"uid": response["uid"], "allowed": True}


# --- defaulting --------------------------------------------------------------------------------

EXECUTION_MODE = {"name": "K_EXECUTION_MODE", "value": "batch"}


def _init_container(sink: dict[str, Any]) -> object:
    pod_spec(sink)["initContainers"] = [{"name": "init", "image": "docker.io/library/bash:5"}]
    return None


def _own_mode(sink: dict[str, Any]) -> object:
    pod_spec(sink)["containers"][0]["env"] = [{"name": "K_EXECUTION_MODE", "value": "custom"}]
    return None


def _other_env(sink: dict[str, Any]) -> object:
    pod_spec(sink)["containers"][0]["env"] = [{"name": "A", "value": "1"}]
    return None


@pytest.mark.parametrize(
    ("mutate", "check"),
    [
        pytest.param(
            lambda s: None,
            lambda s: pod_spec(s)["containers"][0]["env"] == [EXECUTION_MODE],
            id="execution-mode-added",
        ),
        pytest.param(
            _init_container,
            lambda s: pod_spec(s)["initContainers"][0]["env"] == [EXECUTION_MODE],
            id="execution-mode-on-init-containers",
        ),
        pytest.param(
            _own_mode,
            lambda s: (
                pod_spec(s)["containers"][0]["env"]
                == [{"name": "K_EXECUTION_MODE", "value": "custom"}]
            ),
            id="user-execution-mode-kept",
        ),
        pytest.param(
            _other_env,
            lambda s: (
                pod_spec(s)["containers"][0]["env"] == [{"name": "A", "value": "1"}, EXECUTION_MODE]
            ),
            id="appended-after-user-env",
        ),
        pytest.param(
            lambda s: pod_spec(s).pop("restartPolicy"),
            lambda s: pod_spec(s)["restartPolicy"] == "Never",
            id="restart-policy-never",
        ),
        pytest.param(
            lambda s: pod_spec(s).update(restartPolicy="OnFailure"),
            lambda s: pod_spec(s)["restartPolicy"] == "OnFailure",
            id="restart-policy-kept",
        ),
    ],
)
def test_defaulting_rule(mutate: Mutation, check: Callable[[dict[str, Any]], bool]) -> None:
    sink = example()
    mutate(sink)
    patched = _defaulted_via_review(sink)
    assert check(patched)
    assert patched == default(sink)


def test_patch_is_minimal_adds_only() -> None:
    sink = example()
    ops = _patch(admission.defaulting_review(admission.parse_review(review(sink))))
    assert ops == [
        {
            "op": "add",
            "path": "/spec/job/spec/template/spec/containers/0/env",
            "value": [EXECUTION_MODE],
        }
    ]


@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_defaulted_object_gets_no_patch(operation: str) -> None:
    stored = default(example())
    answer = admission.defaulting_review(
        admission.parse_review(review(stored, operation=operation, old=stored))
    )
    assert answer["response"] == {"uid": answer["response"]["uid"], "allowed": True}


POD_SPEC = "/spec/job/spec/template/spec"


def _env_op(container: str) -> dict[str, Any]:
    return {"op": "add", "path": f"{POD_SPEC}/{container}/env", "value": [EXECUTION_MODE]}


@pytest.mark.parametrize(
    ("mutate", "expected_ops"),
    [
        pytest.param(
            lambda s: pod_spec(s).update(containers="main"),
            [],
            id="containers-string-nothing-else-to-do",
        ),
        pytest.param(
            lambda s: (pod_spec(s).update(containers="main"), pod_spec(s).pop("restartPolicy")),
            [{"op": "add", "path": f"{POD_SPEC}/restartPolicy", "value": "Never"}],
            id="containers-string-restart-policy-still-defaulted",
        ),
        pytest.param(
            lambda s: pod_spec(s).update(containers=["main", {"name": "b", "image": "x"}]),
            [_env_op("containers/1")],
            id="string-item-skipped-next-container-defaulted",
        ),
        pytest.param(
            lambda s: pod_spec(s)["containers"][0].update(env="K_EXECUTION_MODE=batch"),
            [],
            id="env-string",
        ),
        pytest.param(
            lambda s: pod_spec(s)["containers"][0].update(resources={"limits": "cpu=1"}),
            [_env_op("containers/0")],
            id="limits-string-env-still-defaulted",
        ),
    ],
)
def test_defaulting_leaves_malformed_parts_to_validation(
    mutate: Mutation, expected_ops: list[dict[str, Any]]
) -> None:
    """A malformed part is neither repaired nor refused here; the well-formed rest is defaulted."""
    sink = example()
    mutate(sink)
    answer = admission.defaulting_review(admission.parse_review(review(sink)))
    assert answer["response"]["allowed"] is True
    # No patch at all when there is nothing to add: an empty JSONPatch is not sent either.
    assert ("patch" in answer["response"]) == bool(expected_ops)
    assert _patch(answer) == expected_ops
    # The exact operations above touch no malformed part; applied, they give the pure defaulting.
    assert _defaulted_via_review(sink) == default(sink)


# --- validation --------------------------------------------------------------------------------


def _job_spec(sink: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = sink["spec"]["job"]["spec"]
    return spec


def _container(sink: dict[str, Any]) -> dict[str, Any]:
    container: dict[str, Any] = pod_spec(sink)["containers"][0]
    return container


def _duplicate_container(sink: dict[str, Any]) -> object:
    pod_spec(sink)["containers"].append(copy.deepcopy(_container(sink)))
    return None


#: (mutation of the seed's job-sink-success, a field path the denial must name)
INVALID: list[Any] = [
    pytest.param(lambda s: s["spec"].pop("job"), "spec.job", id="spec-job-missing"),
    pytest.param(lambda s: s["spec"].update(job="hello"), "spec.job", id="spec-job-not-object"),
    pytest.param(
        lambda s: s["metadata"].update(name="x" * 70), "metadata.name", id="name-too-long"
    ),
    pytest.param(
        lambda s: pod_spec(s).update(restartPolicy="Always"),
        "spec.job.spec.template.spec.restartPolicy",
        id="restart-policy-always",
    ),
    pytest.param(
        lambda s: pod_spec(s).update(containers=[]),
        "spec.job.spec.template.spec.containers",
        id="no-containers",
    ),
    pytest.param(
        lambda s: _container(s).pop("image"),
        "spec.job.spec.template.spec.containers[0].image",
        id="image-missing",
    ),
    pytest.param(
        lambda s: _container(s).update(name="Main_1"),
        "spec.job.spec.template.spec.containers[0].name",
        id="container-name-not-dns-label",
    ),
    pytest.param(
        _duplicate_container,
        "spec.job.spec.template.spec.containers[1].name",
        id="duplicate-container-name",
    ),
    pytest.param(
        lambda s: _container(s).update(imagePullPolicyy="Always"),
        "spec.job.spec.template.spec.containers[0].imagePullPolicyy",
        id="unknown-field",
    ),
    pytest.param(
        lambda s: _container(s).update(imagePullPolicy="Sometimes"),
        "spec.job.spec.template.spec.containers[0].imagePullPolicy",
        id="image-pull-policy",
    ),
    pytest.param(
        lambda s: _container(s).update(resources={"limits": {"cpu": "lots"}}),
        "spec.job.spec.template.spec.containers[0].resources.limits[cpu]",
        id="quantity",
    ),
    pytest.param(
        lambda s: _container(s).update(ports=[{"containerPort": 70000}]),
        "spec.job.spec.template.spec.containers[0].ports[0].containerPort",
        id="port-range",
    ),
    pytest.param(
        lambda s: _container(s).update(volumeMounts=[{"name": "nope", "mountPath": "/x"}]),
        "spec.job.spec.template.spec.containers[0].volumeMounts[0].name",
        id="mount-of-unknown-volume",
    ),
    pytest.param(
        lambda s: pod_spec(s).update(volumes=[{"name": "jobsink-event", "emptyDir": {}}]),
        "spec.job.spec.template.spec.volumes[0].name",
        id="reserved-event-volume",
    ),
    pytest.param(
        lambda s: _job_spec(s).update(parallelism=-1),
        "spec.job.spec.parallelism",
        id="negative-parallelism",
    ),
    pytest.param(
        lambda s: _job_spec(s).update(backoffLimit="six"),
        "spec.job.spec.backoffLimit",
        id="integer-type",
    ),
    pytest.param(
        lambda s: _job_spec(s).update(ttlSecondsAfterFinished=-5),
        "spec.job.spec.ttlSecondsAfterFinished",
        id="negative-ttl",
    ),
    pytest.param(
        lambda s: _job_spec(s).update(completionMode="Sometimes"),
        "spec.job.spec.completionMode",
        id="completion-mode",
    ),
    pytest.param(
        lambda s: _job_spec(s).update(selector={"matchLabels": {"a": "b"}}),
        "spec.job.spec.selector",
        id="selector-without-manual-selector",
    ),
    pytest.param(
        lambda s: _job_spec(s)["podFailurePolicy"]["rules"][0]["onExitCodes"].update(
            operator="Maybe"
        ),
        "spec.job.spec.podFailurePolicy.rules[0].onExitCodes.operator",
        id="pod-failure-policy-operator",
    ),
    pytest.param(
        lambda s: _job_spec(s)["podFailurePolicy"]["rules"][1].update(action="Explode"),
        "spec.job.spec.podFailurePolicy.rules[1].action",
        id="pod-failure-policy-action",
    ),
    pytest.param(
        lambda s: s["spec"]["job"]["metadata"]["labels"].update({"bad key!": "v"}),
        "spec.job.metadata.labels",
        id="template-label-key",
    ),
]


@pytest.mark.parametrize(("mutate", "path"), INVALID)
@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_invalid_jobsink_is_denied_naming_the_field(
    mutate: Mutation, path: str, operation: str
) -> None:
    sink = example()
    mutate(sink)
    old = None
    if operation == "UPDATE":  # a spec change, so the object is judged (not grandfathered)
        old = example()
        _job_spec(old)["parallelism"] = 1
    response = admission.validation_review(
        admission.parse_review(review(sink, operation=operation, old=old))
    )["response"]
    assert response["allowed"] is False
    status = response["status"]
    assert status["code"] == 422
    assert status["reason"] == "Invalid"
    assert f"{path}: " in status["message"]
    assert status["message"].startswith('JobSink "')
    assert path in [cause["field"] for cause in status["details"]["causes"]]


def test_every_field_error_is_listed() -> None:
    sink = example()
    pod_spec(sink)["restartPolicy"] = "Always"
    _container(sink).pop("image")
    _job_spec(sink)["parallelism"] = -1
    status = admission.validation_review(admission.parse_review(review(sink)))["response"]["status"]
    for path in (
        "spec.job.spec.template.spec.restartPolicy",
        "spec.job.spec.template.spec.containers[0].image",
        "spec.job.spec.parallelism",
    ):
        assert f"{path}: " in status["message"]
    assert len(status["details"]["causes"]) >= 3
    assert status["message"].count("[") >= 1  # several errors: the apiserver's bracketed list


@pytest.mark.parametrize(
    "name",
    ["job-sink-success", "job-sink-failure", "job-sink-logger", "job-sink-custom-mount-path"],
)
def test_documented_examples_are_allowed_raw_and_defaulted(name: str) -> None:
    sink = example(name)
    for obj in (sink, _defaulted_via_review(sink)):
        response = admission.validation_review(admission.parse_review(review(obj)))["response"]
        assert response["allowed"] is True, response


@pytest.mark.parametrize(
    ("mutate", "fragment"),
    [
        pytest.param(lambda s: None, "ttlSecondsAfterFinished is not set", id="no-ttl"),
        pytest.param(
            lambda s: _container(s).update(image="docker.io/library/bash"),
            "containers[0].image",
            id="floating-tag",
        ),
        pytest.param(lambda s: _job_spec(s).update(suspend=True), "suspend", id="suspended"),
    ],
)
def test_legal_but_suspect_specs_get_warnings(mutate: Mutation, fragment: str) -> None:
    sink = example()
    mutate(sink)
    response = admission.validation_review(admission.parse_review(review(sink)))["response"]
    assert response["allowed"] is True
    assert any(fragment in warning for warning in response.get("warnings", []))


def test_no_warnings_key_when_nothing_is_suspect() -> None:
    sink = example()
    _job_spec(sink)["ttlSecondsAfterFinished"] = 600
    response = admission.validation_review(admission.parse_review(review(sink)))["response"]
    assert response == {"uid": response["uid"], "allowed": True}


# --- UPDATE never breaks stored JobSinks --------------------------------------------------------


def _stored_invalid() -> dict[str, Any]:
    """A JobSink admitted under older rules that today's rules refuse."""
    sink = default(example())
    _container(sink)["imagePullPolicy"] = "Sometimes"
    return sink


def test_metadata_only_update_of_a_grandfathered_object_is_allowed() -> None:
    old = _stored_invalid()
    new = copy.deepcopy(old)
    new["metadata"]["labels"] = {"team": "a"}
    response = admission.validation_review(
        admission.parse_review(review(new, operation="UPDATE", old=old))
    )["response"]
    assert response["allowed"] is True


def test_finalizer_removal_during_deletion_is_allowed() -> None:
    old = _stored_invalid()
    new = copy.deepcopy(old)
    new["metadata"]["deletionTimestamp"] = "2026-11-28T22:00:00Z"
    new["spec"]["job"]["spec"]["parallelism"] = 1
    response = admission.validation_review(
        admission.parse_review(review(new, operation="UPDATE", old=old))
    )["response"]
    assert response["allowed"] is True


def test_spec_change_of_a_grandfathered_object_is_judged() -> None:
    old = _stored_invalid()
    new = copy.deepcopy(old)
    new["spec"]["job"]["spec"]["parallelism"] = 1
    response = admission.validation_review(
        admission.parse_review(review(new, operation="UPDATE", old=old))
    )["response"]
    assert response["allowed"] is False
    assert "imagePullPolicy" in response["status"]["message"]


def test_update_of_an_undefaulted_stored_object_is_defaulted_and_valid() -> None:
    old = example()  # stored before the webhook existed: no K_EXECUTION_MODE
    new = copy.deepcopy(old)
    _job_spec(new)["parallelism"] = 2
    patched = _defaulted_via_review(new, operation="UPDATE", old=old)
    assert pod_spec(patched)["containers"][0]["env"] == [EXECUTION_MODE]
    response = admission.validation_review(
        admission.parse_review(review(patched, operation="UPDATE", old=old))
    )["response"]
    assert response["allowed"] is True


@pytest.mark.parametrize(
    ("operation", "obj", "old", "expected"),
    [
        pytest.param("CREATE", example(), None, True, id="create"),
        pytest.param("UPDATE", example(), example(), False, id="update-same-spec"),
        pytest.param("UPDATE", example(), example("job-sink-logger"), True, id="update-new-spec"),
        pytest.param("DELETE", None, example(), False, id="delete"),
        pytest.param("CREATE", "garbage", None, False, id="undecodable"),
    ],
)
def test_needs_cluster_check(operation: str, obj: Any, old: Any, expected: bool) -> None:
    request = admission.parse_review(review(obj, operation=operation, old=old))
    assert admission.needs_cluster_check(request) is expected


def test_errored_is_a_well_formed_denial_with_500() -> None:
    request = review(example(), uid="u-1")
    answer = admission.errored(request, "u-1", "KeyError: 'x'")
    assert answer["response"]["uid"] == "u-1"
    assert answer["response"]["allowed"] is False
    assert answer["response"]["status"]["code"] == 500
    assert "KeyError" in answer["response"]["status"]["message"]


def _with_bookkeeping(sink: dict[str, Any]) -> dict[str, Any]:
    """What ``kubectl apply`` adds before the review is sent: most of its bytes."""
    sink["metadata"]["annotations"] = {
        "kubectl.kubernetes.io/last-applied-configuration": json.dumps(sink),
        "team": "a",
    }
    sink["metadata"]["managedFields"] = [
        {"manager": "kubectl-client-side-apply", "operation": "Update", "fieldsV1": {"f:spec": {}}}
    ]
    return sink


def test_patch_computed_without_bookkeeping_applies_to_the_raw_object() -> None:
    raw = _with_bookkeeping(example())
    patched = _defaulted_via_review(raw)
    assert patched == default(raw)
    assert patched["metadata"] == raw["metadata"]


def test_essentials_drop_only_bookkeeping_and_share_the_rest() -> None:
    raw = _with_bookkeeping(example())
    slim = admission.essentials(raw)
    assert slim["spec"] is raw["spec"]
    assert slim["metadata"] == {"name": "job-sink-success", "namespace": "default"}
    assert admission.essentials(slim) is slim
    assert "managedFields" in raw["metadata"]
