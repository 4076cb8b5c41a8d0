"""Validation of ``spec.delivery``: each error at its ``spec.delivery...`` path, in Knative's
words where Knative has them (``DeliverySpec.Validate``, ``Destination.Validate``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jobsink.delivery import BACKOFF_POLICIES, DurationError, is_absolute, parse_duration
from jobsink.validation.errors import FieldError, child, invalid, not_supported


def validate_delivery(delivery: object, path: str = "spec.delivery") -> list[FieldError]:
    """Why ``spec.delivery`` would be refused (after the structural check of its types)."""
    if not isinstance(delivery, Mapping):
        return []
    errors: list[FieldError] = []
    destination = delivery.get("deadLetterSink")
    if isinstance(destination, Mapping):
        errors += _validate_destination(destination, child(path, "deadLetterSink"))
    retry = delivery.get("retry")
    if isinstance(retry, int) and retry < 0:
        errors.append(invalid(child(path, "retry"), retry, "must be greater than or equal to 0"))
    policy = delivery.get("backoffPolicy")
    if policy is not None and policy not in BACKOFF_POLICIES:
        errors.append(not_supported(child(path, "backoffPolicy"), policy, BACKOFF_POLICIES))
    for name, positive in (("backoffDelay", False), ("timeout", True)):
        value = delivery.get(name)
        if isinstance(value, str):
            errors += _validate_duration(value, child(path, name), positive=positive)
    return errors


def _validate_duration(value: str, path: str, *, positive: bool) -> list[FieldError]:
    try:
        seconds = parse_duration(value)
    except DurationError:
        return [invalid(path, value, "must be an ISO 8601 duration, for example PT1S or PT0.5S")]
    if positive and seconds <= 0:
        return [invalid(path, value, "must be greater than 0")]
    return []


def _validate_destination(destination: Mapping[str, Any], path: str) -> list[FieldError]:
    ref, uri = destination.get("ref"), destination.get("uri")
    if ref is None and uri is None:
        return [FieldError(path, "Required value: expected at least one, got none: ref, uri")]
    if uri is not None and not isinstance(uri, str):
        return []  # the structural check reports the type
    if ref is not None and uri and is_absolute(uri):
        return [
            invalid(
                child(path, "uri"),
                uri,
                "Absolute URI is not allowed when ref is present (give a path to resolve "
                "against the ref's address)",
            )
        ]
    if ref is None and uri is not None and not is_absolute(uri):
        return [invalid(child(path, "uri"), uri, "Relative URI is not allowed when ref is absent")]
    if isinstance(ref, Mapping):
        return [
            FieldError(child(child(path, "ref"), name), "Required value")
            for name in ("name", "apiVersion", "kind")
            if not ref.get(name)
        ]
    return []
