"""Field errors in the apiserver's own wording, so our denials read like the ones users know.

Each constructor mirrors one of Kubernetes' ``field.ErrorType`` kinds (Required, Invalid,
NotSupported, Duplicate, NotFound, Forbidden, TooLong, TooMany); the path is a Kubernetes field
path such as ``spec.job.spec.template.spec.containers[0].image``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldError:
    """One reason a JobSink is refused, anchored at a field path."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def child(path: str, name: str) -> str:
    """``path.name``; the empty path is the object root."""
    return f"{path}.{name}" if path else name


def index(path: str, position: int) -> str:
    return f"{path}[{position}]"


def key(path: str, name: str) -> str:
    """A map entry, written ``path[name]`` as ``field.Path.Key`` does."""
    return f"{path}[{name}]"


def show(value: object) -> str:
    """A value as the apiserver prints it in messages: strings quoted, numbers bare."""
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def required(path: str, detail: str = "") -> FieldError:
    return FieldError(path, "Required value" + (f": {detail}" if detail else ""))


def invalid(path: str, value: object, detail: str) -> FieldError:
    return FieldError(path, f"Invalid value: {show(value)}: {detail}")


def not_supported(path: str, value: object, supported: Iterable[str]) -> FieldError:
    listed = ", ".join(json.dumps(s) for s in supported)
    return FieldError(path, f"Unsupported value: {show(value)}: supported values: {listed}")


def unsupported(
    obj: Mapping[str, Any], field: str, path: str, supported: Sequence[str]
) -> list[FieldError]:
    """An enum field: ``Unsupported value`` when ``obj[field]`` is set to none of ``supported``.

    ``path`` is that of ``obj``; an absent or null field is fine (the apiserver defaults it).
    """
    value = obj.get(field)
    if value is None or value in supported:
        return []
    return [not_supported(child(path, field), value, supported)]


def duplicate(path: str, value: object) -> FieldError:
    return FieldError(path, f"Duplicate value: {show(value)}")


def not_found(path: str, value: object) -> FieldError:
    return FieldError(path, f"Not found: {show(value)}")


def forbidden(path: str, detail: str) -> FieldError:
    return FieldError(path, f"Forbidden: {detail}")


def too_long(path: str, limit: int, unit: str = "bytes") -> FieldError:
    return FieldError(path, f"Too long: may not be more than {limit} {unit}")


def too_many(path: str, count: int, limit: int) -> FieldError:
    return FieldError(path, f"Too many: {count}: must have at most {limit} items")


def nonnegative(path: str, value: object) -> list[FieldError]:
    """``ValidateNonnegativeField``: integers below zero are refused."""
    if isinstance(value, int) and value < 0:
        return [invalid(path, value, "must be greater than or equal to 0")]
    return []
