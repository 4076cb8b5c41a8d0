"""Structural validation: the JobSink against the generated models, errors as field paths.

This is the apiserver's strict decoding: a wrong type or an unknown field is refused before any
semantic rule runs. Pydantic's error locations become Kubernetes paths
(``spec.job.spec.template.spec.containers[0].ports[1].name``); the alternatives of a union
(IntOrString, Quantity) are folded into one error per field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from jobsink.types import JobSink
from jobsink.validation.errors import FieldError, child, index, key, show

MAP_FIELDS: Final = frozenset(
    {"labels", "annotations", "limits", "requests", "nodeSelector", "matchLabels", "overhead",
     "volumeAttributes", "options", "data"}
)  # fmt: skip
UNION_BRANCHES: Final = frozenset(
    {"int", "str", "float", "bool", "constrained-int", "constrained-str", "constrained-float"}
)
EXPECTED: Final = {
    "int_type": "an integer",
    "int_parsing": "an integer",
    "int_from_float": "an integer",
    "string_type": "a string",
    "float_type": "a number",
    "bool_type": "a boolean",
    "list_type": "a list",
    "dict_type": "an object",
    "model_type": "an object",
    "model_attributes_type": "an object",
}


JOB_STATUS_PATH: Final = "spec.job.status"


def validate_structure(obj: dict[str, Any]) -> list[FieldError]:
    errors = _job_status(obj)
    try:
        JobSink.model_validate(_without_job_status(obj))
    except ValidationError as error:
        return [*errors, *from_pydantic(error.errors(include_url=False))]
    return errors


def _job_status(obj: dict[str, Any]) -> list[FieldError]:
    """Knative's defaulting webhook stores ``spec.job.status: {}`` in every JobSink (its Go type
    embeds a whole ``batchv1.Job``, and an empty struct is not left out), so an empty status is
    accepted: it says nothing. A status with content would be a Job's state in a template."""
    job = (obj.get("spec") or {}).get("job")
    if not isinstance(job, dict) or "status" not in job or job["status"] in ({}, None):
        return []
    return [
        FieldError(
            JOB_STATUS_PATH,
            f"Forbidden: a Job template has no status; only an empty one ({{}}, as Knative's "
            f"webhook stores it) is accepted, got {_shown(job['status'])}",
        )
    ]


def _without_job_status(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec")
    if not isinstance(spec, dict) or not isinstance(spec.get("job"), dict):
        return obj
    job = spec["job"]
    if "status" not in job:
        return obj
    without = {key: value for key, value in job.items() if key != "status"}
    return {**obj, "spec": {**spec, "job": without}}


def from_pydantic(details: Sequence[ErrorDetails]) -> list[FieldError]:
    """One FieldError per path, in the order the paths first appear."""
    grouped: dict[str, list[ErrorDetails]] = {}
    for detail in details:
        grouped.setdefault(path_of(detail["loc"]), []).append(detail)
    return [FieldError(path, _message(group)) for path, group in grouped.items()]


def path_of(loc: Sequence[int | str]) -> str:
    parts = list(loc)
    while parts and isinstance(parts[-1], str) and _is_branch(parts[-1]):
        parts.pop()
    path = ""
    after_map = False  # the previous part named a map field, so this part is one of its keys
    for part in parts:
        if isinstance(part, int):
            path, after_map = index(path, part), False
        elif after_map:
            path, after_map = key(path, part), False
        else:
            path, after_map = child(path, part), part in MAP_FIELDS
    return path


def _is_branch(part: str) -> bool:
    return part in UNION_BRANCHES or "[" in part


def _message(group: list[ErrorDetails]) -> str:
    first = group[0]
    kind = first["type"]
    if kind == "missing":
        return "Required value"
    if kind == "extra_forbidden":
        return "Forbidden: unknown field"
    expected = [EXPECTED[d["type"]] for d in group if d["type"] in EXPECTED]
    if expected:
        alternatives = " or ".join(dict.fromkeys(expected))
        return f"Invalid value: {_shown(first.get('input'))}: must be {alternatives}"
    text = first["msg"].removeprefix("Value error, ")
    if kind == "literal_error":
        text = text.replace("Input should be", "must be")
    return f"Invalid value: {_shown(first.get('input'))}: {text}"


def _shown(value: object) -> str:
    if isinstance(value, dict | list):
        return (
            type(value).__name__ if not value else ("object" if isinstance(value, dict) else "list")
        )
    return show(value)
