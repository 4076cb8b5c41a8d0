"""The generated models' verdict on Jobs equals the 1.36 kube-apiserver's.

Each Job of the model corpus (tests/jobsink/models/test_differential.py) is POSTed as raw JSON,
exactly as written, to ``/apis/batch/v1/namespaces/<ns>/jobs?dryRun=All&fieldValidation=Strict``: no
client-side decoding stands between the corpus and the apiserver. Valid Jobs must be accepted;
Jobs with type errors, unknown fields and missing required fields must be refused; so must the
cases JSON Schema cannot judge but the models reject (quantity and timestamp syntax, int32).
The two deliberate differences (null list items and map values) are pinned down too.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from subprocess import CompletedProcess
from typing import Any

import pytest

from tests.jobsink.models.test_differential import (
    BEYOND_JSON_SCHEMA,
    CORPUS,
    STRICTER_THAN_APISERVER,
    edited,
    models_accept,
)

Kubectl = Callable[..., CompletedProcess[str]]


def apiserver_accepts(kubectl: Kubectl, namespace: str, job: dict[str, Any]) -> bool:
    body = copy.deepcopy(job)
    metadata = body.setdefault("metadata", {})
    if isinstance(metadata, dict):
        metadata.update({"name": "oracle", "namespace": namespace})
    url = f"/apis/batch/v1/namespaces/{namespace}/jobs?dryRun=All&fieldValidation=Strict"
    result = kubectl("create", "--raw", url, "-f", "-", input=json.dumps(body), check=False)
    return result.returncode == 0


@pytest.mark.parametrize(("job", "valid"), CORPUS.values(), ids=CORPUS.keys())
def test_corpus_verdict_matches_the_apiserver(
    kubectl: Kubectl, namespace: str, job: dict[str, Any], valid: bool
) -> None:
    assert apiserver_accepts(kubectl, namespace, job) is valid
    assert models_accept(job) is valid


@pytest.mark.parametrize("edit", BEYOND_JSON_SCHEMA.values(), ids=BEYOND_JSON_SCHEMA.keys())
def test_apiserver_rejects_what_json_schema_cannot_see(
    kubectl: Kubectl, namespace: str, edit: tuple[str, tuple[str | int, ...], object]
) -> None:
    job = edited(*edit)
    assert not apiserver_accepts(kubectl, namespace, job)
    assert not models_accept(job)


@pytest.mark.parametrize(
    "edit", STRICTER_THAN_APISERVER.values(), ids=STRICTER_THAN_APISERVER.keys()
)
def test_deliberately_stricter(
    kubectl: Kubectl, namespace: str, edit: tuple[str, tuple[str | int, ...], object]
) -> None:
    job = edited(*edit)
    assert apiserver_accepts(kubectl, namespace, job)  # it would store "" instead of null
    assert not models_accept(job)
