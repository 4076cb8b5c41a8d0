"""Defaulting: the rules, idempotence, and a minimal patch against the raw object."""

from __future__ import annotations

import json
from typing import Any

import jsonpatch
import pytest
from hypothesis import given
from hypothesis import strategies as st

from jobsink.defaults import default, default_for_reading, default_patch
from tests.jobsink.sinks import pod_of, sink

BATCH = {"name": "K_EXECUTION_MODE", "value": "batch"}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(
            {"containers": [{"name": "a", "image": "i"}]},
            {"restartPolicy": "Never", "containers": [{"name": "a", "image": "i", "env": [BATCH]}]},
            id="minimal",
        ),
        pytest.param(
            {"restartPolicy": "OnFailure", "containers": [{"name": "a", "image": "i"}]},
            {
                "restartPolicy": "OnFailure",
                "containers": [{"name": "a", "image": "i", "env": [BATCH]}],
            },
            id="restart-policy-kept",
        ),
        pytest.param(
            {"restartPolicy": "", "containers": [{"name": "a", "image": "i"}]},
            {"restartPolicy": "Never", "containers": [{"name": "a", "image": "i", "env": [BATCH]}]},
            id="empty-restart-policy",
        ),
        pytest.param(
            {
                "restartPolicy": "Never",
                "initContainers": [
                    {"name": "i", "image": "i", "env": [{"name": "X", "value": "1"}]}
                ],
                "containers": [
                    {
                        "name": "a",
                        "image": "i",
                        "env": [{"name": "K_EXECUTION_MODE", "value": "serve"}],
                    }
                ],
            },
            {
                "restartPolicy": "Never",
                "initContainers": [
                    {"name": "i", "image": "i", "env": [{"name": "X", "value": "1"}, BATCH]}
                ],
                "containers": [
                    {
                        "name": "a",
                        "image": "i",
                        "env": [{"name": "K_EXECUTION_MODE", "value": "serve"}],
                    }
                ],
            },
            id="init-containers-and-user-value",
        ),
        pytest.param(
            {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "a",
                        "image": "i",
                        "env": [BATCH],
                        "resources": {
                            "limits": {"cpu": 0.25, "memory": 1000},
                            "requests": {"cpu": "100m"},
                        },
                    }
                ],
                "volumes": [{"name": "v", "emptyDir": {"sizeLimit": 1.5}}],
            },
            {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "a",
                        "image": "i",
                        "env": [BATCH],
                        "resources": {
                            "limits": {"cpu": "0.25", "memory": 1000},
                            "requests": {"cpu": "100m"},
                        },
                    }
                ],
                "volumes": [{"name": "v", "emptyDir": {"sizeLimit": "1.5"}}],
            },
            id="fraction-quantities-become-strings",
        ),
    ],
)
def test_rules(pod: dict[str, Any], expected: dict[str, Any]) -> None:
    raw = sink(pod=pod)
    defaulted = default(raw)
    assert pod_of(defaulted) == expected
    assert pod_of(raw) == pod, "default() must not modify its argument"


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({}, id="empty"),
        pytest.param({"spec": {}}, id="no-job"),
        pytest.param({"spec": {"job": {"spec": {"template": "x"}}}}, id="template-not-object"),
        pytest.param(
            {"spec": {"job": {"spec": {"template": {"spec": {"containers": "x"}}}}}},
            id="containers-not-list",
        ),
        pytest.param(
            {"spec": {"job": {"spec": {"template": {"spec": {"containers": [{"env": "x"}]}}}}}},
            id="env-not-list",
        ),
    ],
)
def test_malformed_objects_are_left_for_validation(obj: dict[str, Any]) -> None:
    default(obj)  # must not raise


def test_patch_is_minimal_and_against_the_raw_object() -> None:
    raw = sink()
    assert default_patch(raw) == [
        {"op": "add", "path": "/spec/job/spec/template/spec/restartPolicy", "value": "Never"},
        {
            "op": "add",
            "path": "/spec/job/spec/template/spec/containers/0/env",
            "value": [BATCH],
        },
    ]


AT = "/spec/job/spec/template/spec"
DIVISOR = {"name": "CPU", "valueFrom": {"resourceFieldRef": {"divisor": 0.5}}}


@pytest.mark.parametrize(
    ("pod", "expected"),
    [
        pytest.param(
            {"containers": [{"name": "a", "env": None}], "restartPolicy": ""},
            [
                {"op": "replace", "path": f"{AT}/containers/0/env", "value": [BATCH]},
                {"op": "replace", "path": f"{AT}/restartPolicy", "value": "Never"},
            ],
            id="null-env-and-empty-policy-replaced-in-document-order",
        ),
        pytest.param(
            {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "env": [{"name": "A", "value": "1"}],
                        "resources": {"limits": {"nvidia.com/gpu": 0.5, "a~b": 1.5, "cpu": 1}},
                    }
                ],
            },
            [
                {"op": "add", "path": f"{AT}/containers/0/env/1", "value": BATCH},
                {
                    "op": "replace",
                    "path": f"{AT}/containers/0/resources/limits/nvidia.com~1gpu",
                    "value": "0.5",
                },
                {
                    "op": "replace",
                    "path": f"{AT}/containers/0/resources/limits/a~0b",
                    "value": "1.5",
                },
            ],
            id="append-and-escaped-resource-names",
        ),
        pytest.param(
            {
                "overhead": {"cpu": 0.25},
                "initContainers": [{"env": [DIVISOR]}],
                "containers": [{"env": [BATCH]}],
                "volumes": [{"name": "v", "emptyDir": {"sizeLimit": 0.5}}],
            },
            [
                {"op": "add", "path": f"{AT}/restartPolicy", "value": "Never"},
                {"op": "replace", "path": f"{AT}/overhead/cpu", "value": "0.25"},
                {
                    "op": "replace",
                    "path": f"{AT}/initContainers/0/env/0/valueFrom/resourceFieldRef/divisor",
                    "value": "0.5",
                },
                {"op": "add", "path": f"{AT}/initContainers/0/env/1", "value": BATCH},
                {"op": "replace", "path": f"{AT}/volumes/0/emptyDir/sizeLimit", "value": "0.5"},
            ],
            id="added-members-first-then-changes-in-document-order",
        ),
        pytest.param(
            {"restartPolicy": "Never", "containers": "x", "initContainers": [{"env": "x"}]},
            [],
            id="malformed-left-alone",
        ),
    ],
)
def test_patch_operations(pod: dict[str, Any], expected: list[dict[str, Any]]) -> None:
    raw = sink(pod=pod)
    assert default_patch(raw) == expected
    assert raw == sink(pod=pod), "default_patch() must not modify its argument"


ENV = st.lists(
    st.fixed_dictionaries(
        {"name": st.sampled_from(["K_EXECUTION_MODE", "A", "B"]), "value": st.text(max_size=3)}
    ),
    max_size=3,
)
QUANTITY = st.one_of(st.floats(0, 64, allow_nan=False), st.integers(0, 64), st.just("100m"))
CONTAINER = st.fixed_dictionaries(
    {"name": st.sampled_from(["a", "b"]), "image": st.just("i")},
    optional={
        "env": ENV,
        "resources": st.fixed_dictionaries(
            {"limits": st.dictionaries(st.sampled_from(["cpu", "memory"]), QUANTITY)}
        ),
    },
)
POD = st.fixed_dictionaries(
    {"containers": st.lists(CONTAINER, min_size=1, max_size=3)},
    optional={
        "restartPolicy": st.sampled_from(["Never", "OnFailure", "Always", ""]),
        "initContainers": st.lists(CONTAINER, max_size=2),
    },
)


@given(POD)
def test_idempotent(pod: dict[str, Any]) -> None:
    once = default(sink(pod=pod))
    assert default_patch(once) == []
    assert default(once) == once


@given(POD)
def test_patch_applies_to_the_defaulted_object(pod: dict[str, Any]) -> None:
    raw = sink(pod=pod)
    assert jsonpatch.apply_patch(raw, default_patch(raw)) == default(raw)


@given(POD, POD)
def test_update_of_defaulted_object_yields_no_patch(
    old: dict[str, Any], new: dict[str, Any]
) -> None:
    """The webhook sees UPDATEs of stored (defaulted) objects: they must not be re-patched."""
    stored = default(sink(pod=old))
    edited = default(sink(pod=new))
    edited["metadata"]["labels"] = {"edited": "yes"}
    assert default_patch(stored) == []
    assert default_patch(edited) == []


@given(POD)
def test_patch_is_never_longer_than_a_whole_object_diff(pod: dict[str, Any]) -> None:
    """One add or replace per default applied: no more operations, nor bytes, than a diff.

    Both are the same list, order included, unless the diff's list matching pairs containers up
    differently: then it removes, moves or re-adds whole containers.
    """
    raw = sink(pod=pod)
    ours, diffed = default_patch(raw), jsonpatch.make_patch(raw, default(raw)).patch
    assert {op["op"] for op in ours} <= {"add", "replace"}
    assert len({op["path"] for op in ours}) == len(ours)
    assert len(ours) <= len(diffed)
    assert len(json.dumps(ours)) <= len(json.dumps(diffed))
    if {op["op"] for op in diffed} <= {"add", "replace"}:
        assert ours == diffed


@given(POD, st.booleans())
def test_default_for_reading_is_default_without_touching_its_argument(
    pod: dict[str, Any], dead_letter: bool
) -> None:
    raw = sink(pod=pod)
    raw["metadata"]["namespace"] = "ns"
    if dead_letter:
        ref = {"apiVersion": "v1", "kind": "Service", "name": "dls"}
        raw["spec"]["delivery"] = {"deadLetterSink": {"ref": ref}}
    kept = json.loads(json.dumps(raw))
    assert default_for_reading(raw) == default(raw)
    assert raw == kept


@pytest.mark.parametrize(
    "obj",
    [
        pytest.param({}, id="empty"),
        pytest.param({"spec": {}}, id="no-job"),
        pytest.param({"spec": {"job": {"spec": {"template": "x"}}}}, id="template-not-object"),
        pytest.param({"spec": {"job": {"spec": None}}}, id="job-spec-null"),
        pytest.param({"spec": {"delivery": {"deadLetterSink": "x"}}}, id="dead-letter-not-object"),
    ],
)
def test_default_for_reading_agrees_on_malformed_objects(obj: dict[str, Any]) -> None:
    assert default_for_reading(obj) == default(obj)


def test_default_for_reading_copies_the_pod_spec_and_shares_the_rest() -> None:
    raw = sink(pod={"containers": [{"name": "a", "image": "i"}]})
    raw["spec"]["job"]["metadata"] = {"labels": {"a": "b"}}
    read = default_for_reading(raw)
    assert pod_of(read) is not pod_of(raw)
    assert pod_of(read)["containers"][0] is not pod_of(raw)["containers"][0]
    assert read["spec"]["job"]["metadata"] is raw["spec"]["job"]["metadata"]
