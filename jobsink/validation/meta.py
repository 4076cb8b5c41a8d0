"""Object metadata: the JobSink's own name, and labels/annotations that end up on Jobs and pods."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobsink.names import ANNOTATION_EVENT_ID, ANNOTATION_EVENT_SOURCE, MAX_SINK_NAME
from jobsink.validation.errors import (
    FieldError,
    child,
    invalid,
    key,
    too_long,
)
from jobsink.validation.syntax import (
    TOTAL_ANNOTATION_SIZE,
    is_dns1123_subdomain,
    is_label_value,
    is_qualified_name,
)


def validate_sink_metadata(meta: dict[str, Any], path: str = "metadata") -> list[FieldError]:
    """The JobSink name must fit in the label value that every Job and Secret carries."""
    name = meta.get("name")
    field = child(path, "name")
    if not name:
        generated = meta.get("generateName")
        if not generated:
            return []
        name, field = f"{generated}xxxxx", child(path, "generateName")
    errors = [invalid(field, name, problem) for problem in is_dns1123_subdomain(name)]
    if len(name) > MAX_SINK_NAME:
        errors.append(
            invalid(
                field,
                name,
                f"must be no more than {MAX_SINK_NAME} characters: a JobSink's name is the value "
                "of the label sinks.knative.dev/job-sink-name on every Job and Secret it creates",
            )
        )
    return errors


def validate_labels(labels: dict[str, Any] | None, path: str) -> list[FieldError]:
    """``ValidateLabels``: qualified-name keys and label-syntax values of at most 63 chars."""
    errors: list[FieldError] = []
    for name, value in (labels or {}).items():
        errors += [invalid(path, name, problem) for problem in is_qualified_name(name)]
        if isinstance(value, str):
            errors += [invalid(key(path, name), value, p) for p in is_label_value(value)]
    return errors


def validate_annotations(annotations: dict[str, Any] | None, path: str) -> list[FieldError]:
    """``ValidateAnnotations``: qualified-name keys (case-insensitive), 256 KiB in total."""
    errors: list[FieldError] = []
    size = 0
    for name, value in (annotations or {}).items():
        errors += [invalid(path, name, p) for p in is_qualified_name(name.lower())]
        size += len(name.encode()) + len(str(value).encode())
    if size > TOTAL_ANNOTATION_SIZE:
        errors.append(too_long(path, TOTAL_ANNOTATION_SIZE))
    return errors


def annotation_overflow(
    sink: dict[str, Any], source: str, event_id: str, extra: Mapping[str, str] | None = None
) -> int:
    """Bytes by which a rendered Job's annotations would pass the 256 KiB total (0: they fit).

    The event's source and id are stored as annotations next to the user's own, so an absurdly
    long source or id is refused as too large up front rather than failing at create time.
    """
    template = (sink.get("spec") or {}).get("job") or {}
    user = (template.get("metadata") or {}).get("annotations") or {}
    ours = {ANNOTATION_EVENT_SOURCE: source, ANNOTATION_EVENT_ID: event_id, **(extra or {})}
    size = sum(len(k.encode()) + len(str(v).encode()) for k, v in {**user, **ours}.items())
    return max(0, size - TOTAL_ANNOTATION_SIZE)
