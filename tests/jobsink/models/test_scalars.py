"""Scalars are typed the way the apiserver decodes JSON into Go structs."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from jobsink.models.batch_v1 import Job
from jobsink.models.scalars import Int32, Int64, IntOrString, Time

INT32: TypeAdapter[int] = TypeAdapter(Int32)
INT64: TypeAdapter[int] = TypeAdapter(Int64)
INT_OR_STRING: TypeAdapter[int | str] = TypeAdapter(IntOrString)
TIME: TypeAdapter[str] = TypeAdapter(Time)

SCALARS: dict[str, tuple[TypeAdapter[Any], object, bool]] = {
    "int32 max": (INT32, 2**31 - 1, True),
    "int32 min": (INT32, -(2**31), True),
    "int32 overflow": (INT32, 2**31, False),
    "int32 from string": (INT32, "3", False),
    "int32 from float": (INT32, 3.0, False),
    "int32 from bool": (INT32, True, False),
    "int64 max": (INT64, 2**63 - 1, True),
    "int64 overflow": (INT64, 2**63, False),
    "port number": (INT_OR_STRING, 8080, True),
    "port name": (INT_OR_STRING, "http", True),
    "port percent": (INT_OR_STRING, "25%", True),
    "port float": (INT_OR_STRING, 80.5, False),
    "port bool": (INT_OR_STRING, True, False),
    "port int32 overflow": (INT_OR_STRING, 2**31, False),
    "time utc": (TIME, "2026-01-02T15:04:05Z", True),
    "time fraction": (TIME, "2026-01-02T15:04:05.123456Z", True),
    "time offset": (TIME, "2026-01-02T15:04:05+05:30", True),
    "time no zone": (TIME, "2026-01-02T15:04:05", False),
    "time space": (TIME, "2026-01-02 15:04:05Z", False),
    "time date only": (TIME, "2026-01-02", False),
    "time bad month": (TIME, "2026-13-02T15:04:05Z", False),
    "time bad day": (TIME, "2026-02-30T15:04:05Z", False),
    "time bad hour": (TIME, "2026-01-02T24:04:05Z", False),
    "time bad offset": (TIME, "2026-01-02T15:04:05+25:00", False),
    "time epoch number": (TIME, 1767366245, False),
}


@pytest.mark.parametrize(("adapter", "value", "valid"), SCALARS.values(), ids=SCALARS.keys())
def test_scalar(adapter: TypeAdapter[Any], value: object, valid: bool) -> None:
    if valid:
        result = adapter.validate_python(value)
        assert result == value
        assert type(result) is type(value)
    else:
        with pytest.raises(ValidationError):
            adapter.validate_python(value)


FIELD_TYPES: dict[str, tuple[dict[str, Any], tuple[str | int, ...]]] = {
    "string for an int": (
        {"spec": {"template": {}, "backoffLimit": "3"}},
        ("spec", "backoffLimit"),
    ),
    "string for a bool": ({"spec": {"template": {}, "suspend": "true"}}, ("spec", "suspend")),
    "number for a string": (
        {"spec": {"template": {}, "completionMode": 1}},
        ("spec", "completionMode"),
    ),
    "object for a list": (
        {"spec": {"template": {"spec": {"containers": {}}}}},
        ("spec", "template", "spec", "containers"),
    ),
    "list for a map": ({"metadata": {"labels": ["a"]}}, ("metadata", "labels")),
    "number for a label": ({"metadata": {"labels": {"a": 1}}}, ("metadata", "labels", "a")),
}


@pytest.mark.parametrize(("job", "loc"), FIELD_TYPES.values(), ids=FIELD_TYPES.keys())
def test_wrong_type_is_reported_at_its_path(
    job: dict[str, Any], loc: tuple[str | int, ...]
) -> None:
    with pytest.raises(ValidationError) as caught:
        Job.model_validate(job)
    assert [error["loc"][: len(loc)] for error in caught.value.errors()] == [loc]
