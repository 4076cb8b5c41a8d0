"""Our accept/reject verdict on Jobs equals kubernetes_validate's (strict, Kubernetes 1.36).

kubernetes_validate checks the same upstream OpenAPI schema with JSON Schema, so it is an
independent judge of types, unknown fields and required fields. It cannot judge what the
apiserver checks beyond the schema: quantity syntax, timestamp syntax, int32 ranges (see
BEYOND_JSON_SCHEMA, where the apiserver sides with us) and every semantic rule (restartPolicy
values, DNS-1123 names, unique volumes, ...), which are jobsink.validation's job (tests/jobsink).
tests/e2e/test_models_oracle.py replays all of these tables against the real 1.36 apiserver.
"""

from __future__ import annotations

import copy
from typing import Any

import kubernetes_validate
import pytest
from pydantic import ValidationError

from jobsink.models.batch_v1 import Job
from tests.jobsink.models.corpus import JOBS

DELETE = object()
Edit = tuple[str, tuple[str | int, ...], object]

CONTAINER = ("spec", "template", "spec", "containers", 0)
POD = ("spec", "template", "spec")


def edited(base: str, path: tuple[str | int, ...], value: object) -> dict[str, Any]:
    """A copy of corpus Job ``base`` with ``path`` set to ``value`` (or deleted)."""
    job = copy.deepcopy(JOBS[base])
    node: Any = job
    for key in path[:-1]:
        node = node[key]
    if value is DELETE:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return job


VALID_EDITS: dict[str, Edit] = {
    "port by name": (
        "probes-and-quantities",
        (*CONTAINER, "livenessProbe", "tcpSocket", "port"),
        "http",
    ),
    "quantity as integer": ("minimal", (*CONTAINER, "resources"), {"limits": {"memory": 1000}}),
    "quantity as float": ("minimal", (*CONTAINER, "resources"), {"requests": {"cpu": 0.5}}),
    "null optional field": ("minimal", ("spec", "suspend"), None),
    "empty labels": ("minimal", ("metadata", "labels"), {}),
}

INVALID_EDITS: dict[str, Edit] = {
    # type errors
    "string for int": ("minimal", ("spec", "backoffLimit"), "3"),
    "string for bool": ("minimal", ("spec", "suspend"), "yes"),
    "float for int": ("minimal", ("spec", "parallelism"), 1.5),
    "object for list": ("minimal", (*POD, "containers"), {"name": "main"}),
    "string for list": ("minimal", (*CONTAINER, "command"), "echo hi"),
    "string for port": ("secret-volume", (*POD, "volumes", 0, "secret", "defaultMode"), "0644"),
    "int for env value": ("secret-volume", (*CONTAINER, "env", 0, "value"), 1),
    "int label value": ("minimal", ("metadata", "labels"), {"a": 1}),
    "bool for quantity": ("minimal", (*CONTAINER, "resources"), {"limits": {"cpu": True}}),
    "list for object": ("minimal", (*POD, "securityContext"), []),
    "float for port": ("probes-and-quantities", (*CONTAINER, "ports", 0, "containerPort"), 80.5),
    "wrong apiVersion": ("minimal", ("apiVersion",), "batch/v2"),
    # unknown fields
    "unknown spec field": ("minimal", ("spec", "completion"), 1),
    "unknown container field": ("minimal", (*CONTAINER, "imagee"), "busybox"),
    "wrong case": ("minimal", (*POD, "RestartPolicy"), "Never"),
    "unknown metadata field": ("minimal", ("metadata", "label"), {"a": "b"}),
    "unknown probe field": ("probes-and-quantities", (*CONTAINER, "readinessProbe", "url"), "/"),
    "unknown volume source": ("secret-volume", (*POD, "volumes", 0, "secrett"), {}),
    "unknown root field": ("minimal", ("extra",), {}),
    # missing required fields
    "container name": ("minimal", (*CONTAINER, "name"), DELETE),
    "pod template": ("minimal", ("spec", "template"), DELETE),
    "env name": ("secret-volume", (*CONTAINER, "env", 1, "name"), DELETE),
    "secret key": (
        "secret-volume",
        (*CONTAINER, "env", 1, "valueFrom", "secretKeyRef", "key"),
        DELETE,
    ),
    "volume name": ("secret-volume", (*POD, "volumes", 1, "name"), DELETE),
    "mount path": ("secret-volume", (*CONTAINER, "volumeMounts", 0, "mountPath"), DELETE),
    "failure rule action": (
        "indexed-with-policies",
        ("spec", "podFailurePolicy", "rules", 0, "action"),
        DELETE,
    ),
    "success rules": ("indexed-with-policies", ("spec", "successPolicy", "rules"), DELETE),
    "exit code operator": (
        "indexed-with-policies",
        ("spec", "podFailurePolicy", "rules", 0, "onExitCodes", "operator"),
        DELETE,
    ),
    "node selector terms": (
        "scheduling",
        (
            *POD,
            "affinity",
            "nodeAffinity",
            "requiredDuringSchedulingIgnoredDuringExecution",
            "nodeSelectorTerms",
        ),
        DELETE,
    ),
    "topology key": (
        "scheduling",
        (
            *POD,
            "affinity",
            "podAntiAffinity",
            "preferredDuringSchedulingIgnoredDuringExecution",
            0,
            "podAffinityTerm",
            "topologyKey",
        ),
        DELETE,
    ),
    "configmap item path": (
        "secret-volume",
        (*POD, "volumes", 2, "configMap", "items", 0, "path"),
        DELETE,
    ),
    "http get port": (
        "probes-and-quantities",
        (*CONTAINER, "readinessProbe", "httpGet", "port"),
        DELETE,
    ),
    "null required field": ("minimal", (*CONTAINER, "name"), None),
}

CORPUS: dict[str, tuple[dict[str, Any], bool]] = {
    **{f"valid: {name}": (job, True) for name, job in JOBS.items()},
    **{f"valid: {name}": (edited(*edit), True) for name, edit in VALID_EDITS.items()},
    **{f"invalid: {name}": (edited(*edit), False) for name, edit in INVALID_EDITS.items()},
}

# The apiserver rejects these (it parses quantities and timestamps and decodes int32), but JSON
# Schema cannot say so: kubernetes_validate accepts them. We side with the apiserver.
BEYOND_JSON_SCHEMA: dict[str, Edit] = {
    "quantity abc": ("minimal", (*CONTAINER, "resources"), {"limits": {"cpu": "abc"}}),
    "quantity with space": ("minimal", (*CONTAINER, "resources"), {"limits": {"memory": "1 Gi"}}),
    "timestamp": ("minimal", ("metadata", "creationTimestamp"), "yesterday"),
    "int32 overflow": ("minimal", ("spec", "completions"), 2**31),
}

# Deliberately stricter than the apiserver, which silently turns a null list item or map value
# into the zero value ("" for a string). A null there is almost always a YAML slip (`- ` with
# nothing after it), so the models reject it with its path instead of running a surprising Job.
STRICTER_THAN_APISERVER: dict[str, Edit] = {
    "null list item": ("minimal", (*CONTAINER, "args"), ["a", None]),
    "null label value": ("minimal", ("metadata", "labels"), {"a": None}),
}


def kubernetes_validate_accepts(job: dict[str, Any]) -> bool:
    try:
        kubernetes_validate.validate(job, "1.36.0", strict=True)
    except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError):
        return False
    return True


def models_accept(job: dict[str, Any]) -> bool:
    try:
        Job.model_validate(job)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize(("job", "valid"), CORPUS.values(), ids=CORPUS.keys())
def test_verdict_matches_kubernetes_validate(job: dict[str, Any], valid: bool) -> None:
    assert kubernetes_validate_accepts(job) is valid, "corpus entry is mislabelled"
    assert models_accept(job) is valid


@pytest.mark.parametrize("edit", BEYOND_JSON_SCHEMA.values(), ids=BEYOND_JSON_SCHEMA.keys())
def test_rules_beyond_json_schema(edit: Edit) -> None:
    job = edited(*edit)
    assert kubernetes_validate_accepts(job)
    assert not models_accept(job)


@pytest.mark.parametrize(
    "edit", STRICTER_THAN_APISERVER.values(), ids=STRICTER_THAN_APISERVER.keys()
)
def test_null_items_are_rejected(edit: Edit) -> None:
    job = edited(*edit)
    assert kubernetes_validate_accepts(job)
    assert not models_accept(job)
