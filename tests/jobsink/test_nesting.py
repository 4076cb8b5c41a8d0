"""``jobsink.nesting`` and the admission functions' refusal of objects nested too deeply."""

from __future__ import annotations

from typing import Any

import pytest

from jobsink import admission
from jobsink.nesting import MAX_DEPTH, SHOWN_PATH_CHARS, too_deep
from tests.webhook.reviews import example, pod_spec, review


def objects(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = {"x": value}
    return value


@pytest.mark.parametrize(
    ("value", "limit", "path"),
    [
        (1, 1, None),
        ("text", 1, None),
        ({}, 1, None),
        ([], 1, None),
        ({"a": {}}, 1, "a"),
        ({"a": {}}, 2, None),
        ([[[]]], 2, "[0][0]"),
        ([[[]]], 3, None),
        ({"a": [1, 2, [[[3]]]]}, 3, "a[2][0]"),
        ({"a": [1, 2, [[[3]]]]}, 4, "a[2][0][0]"),
        ({"a": [1, 2, [[[3]]]]}, 5, None),
        ({"shallow": {"b": 1}, "deep": {"c": {"d": {}}}}, 3, "deep.c.d"),
        (objects(MAX_DEPTH), MAX_DEPTH, None),
        (objects(MAX_DEPTH + 1), MAX_DEPTH, ".".join(["x"] * MAX_DEPTH)),
    ],
)
def test_too_deep_names_the_first_container_beyond_the_limit(
    value: Any, limit: int, path: str | None
) -> None:
    assert too_deep(value, limit) == path


def test_any_depth_is_measured_without_recursion() -> None:
    assert too_deep(objects(100_000)) == ".".join(["x"] * MAX_DEPTH)


def test_a_long_path_is_cut() -> None:
    value: Any = 1
    for _ in range(MAX_DEPTH + 1):
        value = {"k" * 20: value}
    path = too_deep(value)
    assert path is not None
    assert len(path) == SHOWN_PATH_CHARS + len("...")
    assert path.startswith("k" * 20 + ".")


def deep_sink(depth: int) -> dict[str, Any]:
    sink = example()
    pod_spec(sink)["containers"][0]["args"] = objects(depth, leaf=["x"])
    return sink


def judged(sink: dict[str, Any], **options: Any) -> dict[str, Any]:
    request = review(None, **options)
    request["request"]["object"] = sink
    if options.get("operation") == "UPDATE":
        request["request"]["oldObject"] = sink  # the same deep spec: compared without recursion
    return request


@pytest.mark.parametrize("judge", [admission.defaulting_review, admission.validation_review])
@pytest.mark.parametrize("operation", ["CREATE", "UPDATE"])
def test_admission_refuses_a_deep_object_by_field_with_code_400(judge: Any, operation: str) -> None:
    request = judged(deep_sink(5000), operation=operation)
    response = judge(request)["response"]
    assert response["uid"] == request["request"]["uid"]
    assert response["allowed"] is False
    assert response["status"]["code"] == 400
    field = response["status"]["details"]["causes"][0]["field"]
    assert field.startswith("spec.job.spec.template.spec.containers[0].args.x.x")


@pytest.mark.parametrize("judge", [admission.defaulting_review, admission.validation_review])
def test_admission_judges_an_object_within_the_limit_as_usual(judge: Any) -> None:
    # Levels 1-8 are the JobSink down to containers[0]; args then holds MAX_DEPTH - 8 objects.
    response = judge(judged(deep_sink(MAX_DEPTH - 9)))["response"]
    assert response.get("status", {}).get("code") != 400
