"""The JobSink status computation: addresses, selector, observedGeneration, conditions, patches."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from jobsink.lifecycle import (
    Addressing,
    TransportEncryption,
    desired_status,
    merge_patch,
    spec_problems,
    status_patch,
)
from jobsink.types import JobSinkStatus

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

NOW = datetime(2026, 11, 28, 12, 0, 0, tzinfo=UTC)
EARLIER = "2026-11-01T08:00:00Z"
SEED_URL = "http://job-sink.knative-eventing.svc.cluster.local/default/job-sink-logger"
CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def sink(
    *, generation: int = 1, status: dict[str, Any] | None = None, job: bool = True
) -> dict[str, Any]:
    obj: dict[str, Any] = {
        "apiVersion": "sinks.knative.dev/v1alpha1",
        "kind": "JobSink",
        "metadata": {
            "name": "job-sink-logger",
            "namespace": "default",
            "generation": generation,
            "resourceVersion": "42",
        },
        "spec": {"job": {"spec": {"template": {"spec": {"containers": []}}}}} if job else {},
    }
    if status is not None:
        obj["status"] = status
    return obj


def apply_merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386, to check that a computed patch really produces the desired status."""
    if not isinstance(patch, dict):
        return patch
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = apply_merge_patch(result.get(key), value)
    return result


def conditions(status: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["type"]: c for c in status["conditions"]}


@pytest.mark.parametrize(
    ("addressing", "address", "addresses"),
    [
        pytest.param(
            Addressing.for_service(),
            {"name": "http", "url": SEED_URL},
            [{"name": "http", "url": SEED_URL}],
            id="defaults-match-the-seed",
        ),
        pytest.param(
            Addressing.for_service(namespace="sinks", service="rx", cluster_domain="k8s.local"),
            {"name": "http", "url": "http://rx.sinks.svc.k8s.local/default/job-sink-logger"},
            [{"name": "http", "url": "http://rx.sinks.svc.k8s.local/default/job-sink-logger"}],
            id="service-dns-name-configurable",
        ),
        pytest.param(
            Addressing.for_service(http_base="http://localhost:8080/"),
            {"name": "http", "url": "http://localhost:8080/default/job-sink-logger"},
            [{"name": "http", "url": "http://localhost:8080/default/job-sink-logger"}],
            id="explicit-base-trailing-slash",
        ),
        pytest.param(
            Addressing.for_service(mode="permissive", ca_certs=CA),
            {"name": "http", "url": SEED_URL},
            [
                {"name": "https", "url": SEED_URL.replace("http:", "https:"), "CACerts": CA},
                {"name": "http", "url": SEED_URL},
            ],
            id="permissive-https-listed-http-primary",
        ),
        pytest.param(
            Addressing.for_service(mode="strict", ca_certs=CA),
            {"name": "https", "url": SEED_URL.replace("http:", "https:"), "CACerts": CA},
            [{"name": "https", "url": SEED_URL.replace("http:", "https:"), "CACerts": CA}],
            id="strict-https-only",
        ),
        pytest.param(
            Addressing.for_service(mode="strict", https_base="https://rx.example:8443"),
            {"name": "https", "url": "https://rx.example:8443/default/job-sink-logger"},
            [{"name": "https", "url": "https://rx.example:8443/default/job-sink-logger"}],
            id="strict-without-ca-has-no-cacerts",
        ),
    ],
)
def test_addresses(
    addressing: Addressing, address: dict[str, str], addresses: list[dict[str, str]]
) -> None:
    status = desired_status(sink(), addressing, NOW)
    assert status["address"] == address
    assert status["addresses"] == addresses


@pytest.mark.parametrize(
    ("obj", "ready", "reason", "selector"),
    [
        pytest.param(
            sink(), "True", None, "sinks.knative.dev/job-sink-name=job-sink-logger", id="ok"
        ),
        pytest.param(sink(job=False), "False", "JobMissing", None, id="no-job-template"),
    ],
)
def test_ready_and_selector(
    obj: dict[str, Any], ready: str, reason: str | None, selector: str | None
) -> None:
    status = desired_status(obj, Addressing.for_service(), NOW)
    by_type = conditions(status)
    assert [c["type"] for c in status["conditions"]] == ["Addressable", "Ready"]
    assert by_type["Addressable"]["status"] == "True"
    assert by_type["Ready"]["status"] == ready
    assert by_type["Ready"].get("reason") == reason
    assert status.get("job", {}).get("selector") == selector


@pytest.mark.parametrize("generation", [1, 2, 17], ids=["first", "second", "many-updates"])
def test_observed_generation_follows_generation(generation: int) -> None:
    status = desired_status(sink(generation=generation), Addressing.for_service(), NOW)
    assert status["observedGeneration"] == generation


@pytest.mark.parametrize(
    ("previous", "expected_time"),
    [
        pytest.param(None, "2026-11-28T12:00:00Z", id="new-condition-gets-now"),
        pytest.param(
            {"type": "Ready", "status": "True", "lastTransitionTime": EARLIER},
            EARLIER,
            id="same-status-keeps-time",
        ),
        pytest.param(
            {"type": "Ready", "status": "Unknown", "lastTransitionTime": EARLIER},
            "2026-11-28T12:00:00Z",
            id="status-change-moves-time",
        ),
        pytest.param(
            {"type": "Ready", "status": "True"},
            "2026-11-28T12:00:00Z",
            id="missing-time-is-filled",
        ),
    ],
)
def test_last_transition_time(previous: dict[str, Any] | None, expected_time: str) -> None:
    current = {"conditions": [previous]} if previous else None
    status = desired_status(sink(status=current), Addressing.for_service(), NOW)
    assert conditions(status)["Ready"]["lastTransitionTime"] == expected_time


def test_patch_is_empty_once_applied() -> None:
    obj = sink()
    first = status_patch(obj, Addressing.for_service(), NOW)
    assert first
    obj["status"] = apply_merge_patch({}, first)
    later = NOW + timedelta(hours=1)
    assert status_patch(obj, Addressing.for_service(), later) == {}


@pytest.mark.parametrize(
    ("current", "expected_patch"),
    [
        pytest.param(
            {"policies": [{"apiVersion": "eventing.knative.dev/v1alpha1", "name": "p"}]},
            None,
            id="foreign-keys-untouched",
        ),
        pytest.param(
            {"address": {"name": "http", "url": SEED_URL, "audience": "stale"}},
            {"address": {"audience": None}},
            id="stale-audience-deleted",
        ),
        pytest.param(
            {"job": {"selector": "sinks.knative.dev/job-sink-name=job-sink-logger"}},
            {"job": None},
            id="selector-dropped-without-job",
        ),
    ],
)
def test_patch_details(current: dict[str, Any], expected_patch: dict[str, Any] | None) -> None:
    obj = sink(status=copy.deepcopy(current), job="job" not in current)
    patch = status_patch(obj, Addressing.for_service(), NOW)
    stored = apply_merge_patch(current, patch)
    for key, value in (expected_patch or {}).items():
        assert patch[key] == value
    desired = desired_status(obj, Addressing.for_service(), NOW)
    owned = {"address", "addresses", "job", "observedGeneration", "conditions"}
    assert {k: v for k, v in stored.items() if k in owned} == desired
    assert stored.get("policies") == current.get("policies")


@pytest.mark.parametrize(
    ("current", "desired", "patch"),
    [
        pytest.param({"a": 1}, {"a": 1}, {}, id="equal"),
        pytest.param({"a": 1}, {"a": 2}, {"a": 2}, id="changed-scalar"),
        pytest.param({}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="added-object"),
        pytest.param(
            {"a": {"b": 1, "c": 2}}, {"a": {"b": 1}}, {"a": {"c": None}}, id="nested-delete"
        ),
        pytest.param({"a": [1, 2]}, {"a": [2]}, {"a": [2]}, id="list-replaced-whole"),
        pytest.param({"a": 1, "b": 2}, {"a": 1}, {"b": None}, id="top-level-delete"),
        pytest.param({"a": 1}, {"a": {"b": 1}}, {"a": {"b": 1}}, id="scalar-to-object"),
    ],
)
def test_merge_patch(
    current: dict[str, Any], desired: dict[str, Any], patch: dict[str, Any]
) -> None:
    assert merge_patch(current, desired) == patch
    assert apply_merge_patch(current, patch) == desired


@pytest.mark.parametrize("mode", ["disabled", "permissive", "strict"])
@pytest.mark.parametrize("job", [True, False], ids=["with-job", "without-job"])
def test_status_fits_the_typed_model(mode: TransportEncryption, job: bool) -> None:
    """What the reconciler writes is what the CRD and ``jobsink.types`` describe."""
    status = desired_status(sink(job=job), Addressing.for_service(mode=mode, ca_certs=CA), NOW)
    parsed = JobSinkStatus.model_validate(status)
    assert parsed.model_dump(exclude_none=True, mode="json") == status


@pytest.mark.parametrize(
    ("problems", "message"),
    [
        pytest.param(["a: bad"], "a: bad", id="one"),
        pytest.param(["a: bad", "b: worse", "c: worst"], "a: bad; b: worse; c: worst", id="three"),
        pytest.param(
            ["a: 1", "b: 2", "c: 3", "d: 4", "e: 5"], "a: 1; b: 2; c: 3 (and 2 more)", id="capped"
        ),
    ],
)
def test_spec_problems_make_it_not_ready(problems: list[str], message: str) -> None:
    status = desired_status(sink(), Addressing.for_service(), NOW, problems)
    ready = conditions(status)["Ready"]
    assert (ready["status"], ready["reason"], ready["message"]) == ("False", "InvalidSpec", message)
    assert conditions(status)["Addressable"]["status"] == "True"
    assert status["address"]["url"] == SEED_URL, "still addressable: events get a clear error"


def seed_sink() -> dict[str, Any]:
    obj: dict[str, Any] = yaml.safe_load((EXAMPLES / "job-sink-logger.yaml").read_text())
    obj["metadata"].update(namespace="default", generation=1, resourceVersion="7")
    return obj


def test_seed_example_has_no_problems() -> None:
    obj = seed_sink()
    obj["status"] = {"unknown-key-from-elsewhere": True}  # status is not the spec's business
    assert spec_problems(obj) == []


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        pytest.param(
            ("template", "spec", "restartPolicy"),
            "Always",
            "spec.job.spec.template.spec.restartPolicy: ",
            id="restart-policy",
        ),
        pytest.param(("parallelism",), -1, "spec.job.spec.parallelism: ", id="negative"),
    ],
)
def test_spec_problems_name_the_field(path: tuple[str, ...], value: Any, problem: str) -> None:
    obj = seed_sink()
    target = obj["spec"]["job"]["spec"]
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    found = spec_problems(obj)
    assert found
    assert found[0].startswith(problem)


_scalars = st.none() | st.booleans() | st.integers() | st.text(max_size=5)
_json = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3)
    ),
    max_leaves=10,
)


def _without_nulls(value: Any) -> Any:
    """Merge patches cannot express a stored null, so the desired documents hold none."""
    if isinstance(value, dict):
        return {k: _without_nulls(v) for k, v in value.items() if v is not None}
    return value


@given(
    current=st.dictionaries(st.text(max_size=3), _json, max_size=4),
    desired=st.dictionaries(st.text(max_size=3), _json, max_size=4).map(_without_nulls),
)
def test_merge_patch_round_trips(current: dict[str, Any], desired: dict[str, Any]) -> None:
    patch = merge_patch(current, desired)
    assert apply_merge_patch(current, patch) == desired
    assert merge_patch(desired, desired) == {}
