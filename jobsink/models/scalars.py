"""Scalar wire types of the Kubernetes API, typed the way the apiserver decodes them.

The apiserver decodes JSON into Go structs: a JSON string is never accepted for an integer or a
boolean field, an out-of-range number is never accepted for an ``int32``, and a timestamp must be
RFC 3339. These aliases encode exactly that with strict Pydantic types, so our verdict on a Job
matches the apiserver's. Values are kept as given (timestamps stay strings) so that
``model_validate(x).model_dump(mode="json", exclude_unset=True) == x``.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from annotated_types import Ge, Le
from pydantic import AfterValidator, JsonValue, StrictInt, StrictStr

Int32 = Annotated[StrictInt, Ge(-(2**31)), Le(2**31 - 1)]
"""A Go ``int32``: a JSON integer (not a string, not ``3.0``) within 32 bits."""

Int64 = Annotated[StrictInt, Ge(-(2**63)), Le(2**63 - 1)]
"""A Go ``int64``: a JSON integer within 64 bits."""

IntOrString = Int32 | StrictStr
"""``intstr.IntOrString``: a JSON int32 (port 8080) or a JSON string (port name "http")."""

FieldsV1 = dict[str, JsonValue]
"""``metav1.FieldsV1``: the server-side-apply field set, an opaque JSON object."""

_RFC3339 = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d+)?(Z|[+-](\d{2}):(\d{2}))$"
)


def check_rfc3339(value: str) -> str:
    """Return ``value`` unchanged if it is an RFC 3339 timestamp such as 2026-01-02T15:04:05Z."""
    match = _RFC3339.fullmatch(value)
    if match is None:
        raise ValueError("must be an RFC 3339 timestamp, for example 2026-01-02T15:04:05Z")
    year, month, day, hour, minute, second = (int(match.group(i)) for i in range(1, 7))
    try:
        datetime(year, month, day, hour, minute, second)
    except ValueError as error:
        raise ValueError(f"must be an RFC 3339 timestamp: {error}") from None
    if match.group(9) is not None and (int(match.group(9)) > 23 or int(match.group(10)) > 59):
        raise ValueError("must be an RFC 3339 timestamp: time zone offset out of range")
    return value


Time = Annotated[StrictStr, AfterValidator(check_rfc3339)]
"""``metav1.Time``: an RFC 3339 timestamp, kept as the string given so round-trips are exact."""
