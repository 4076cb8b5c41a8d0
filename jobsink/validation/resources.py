"""Container resources: resource names, quantities, and how requests relate to limits."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final

from jobsink.models.quantity import QuantityError, parse_quantity
from jobsink.validation.errors import (
    FieldError,
    child,
    forbidden,
    invalid,
    key,
    required,
)
from jobsink.validation.syntax import (
    is_qualified_name,
)

NATIVE_RESOURCES: Final = ("cpu", "memory", "ephemeral-storage")


def validate_resources(resources: dict[str, Any], path: str) -> list[FieldError]:
    """Names, quantities, and requests <= limits (== for extended resources)."""
    errors: list[FieldError] = []
    parsed: dict[str, dict[str, Decimal]] = {}
    for part in ("limits", "requests"):
        parsed[part] = {}
        for name, value in (resources.get(part) or {}).items():
            at = key(child(path, part), name)
            errors += _resource_name(name, at)
            try:
                quantity = parse_quantity(value)
            except QuantityError as problem:
                errors.append(invalid(at, value, str(problem)))
                continue
            if quantity < 0:
                errors.append(invalid(at, value, "must be greater than or equal to 0"))
            elif _is_extended(name) and quantity != quantity.to_integral_value():
                errors.append(invalid(at, value, "must be an integer"))
            parsed[part][name] = quantity
    limits, requests = parsed["limits"], parsed["requests"]
    for name, request in requests.items():
        at = key(child(path, "requests"), name)
        shown = (resources.get("requests") or {})[name]
        limit = limits.get(name)
        if not _overcommit_allowed(name):
            if limit is None:
                errors.append(
                    required(
                        key(child(path, "limits"), name),
                        "Limit must be set for non overcommitable resources",
                    )
                )
            elif request != limit:
                errors.append(
                    invalid(
                        at,
                        str(shown),
                        f"must be equal to {name} limit of {(resources.get('limits') or {})[name]}",
                    )
                )
        elif limit is not None and request > limit:
            errors.append(
                invalid(
                    at,
                    str(shown),
                    f"must be less than or equal to {name} limit "
                    f"of {(resources.get('limits') or {})[name]}",
                )
            )
    named = set(limits) | set(requests)
    if any(n.startswith("hugepages-") for n in named) and not named & {"cpu", "memory"}:
        errors.append(forbidden(path, "HugePages require cpu or memory"))
    return errors


def _is_native(name: str) -> bool:
    """No domain, or a ``kubernetes.io/`` one: resources Kubernetes itself defines."""
    return "/" not in name or "kubernetes.io/" in name


def _is_extended(name: str) -> bool:
    """Device-plugin style resources (``example.com/gpu``): whole units, never overcommitted."""
    return not _is_native(name) and not name.startswith("requests.")


def _overcommit_allowed(name: str) -> bool:
    return _is_native(name) and not name.startswith("hugepages-")


def _resource_name(name: str, path: str) -> list[FieldError]:
    problems = is_qualified_name(name)
    if problems:
        return [invalid(path, name, p) for p in problems]
    if "/" not in name:
        if name not in NATIVE_RESOURCES and not name.startswith("hugepages-"):
            return [invalid(path, name, "must be a standard resource for containers")]
    elif not _is_native(name) and not _is_extended(name):
        return [invalid(path, name, "doesn't follow extended resource name standard")]
    return []
