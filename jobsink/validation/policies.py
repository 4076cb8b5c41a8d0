"""A Job's ``podFailurePolicy`` and ``successPolicy``: the rules that end a Job early."""

from __future__ import annotations

import itertools
from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    index,
    invalid,
    nonnegative,
    not_supported,
    required,
    too_long,
    too_many,
)
from jobsink.validation.syntax import is_qualified_name

FAILURE_ACTIONS: Final = ("Count", "FailIndex", "FailJob", "Ignore")

EXIT_CODE_OPERATORS: Final = ("In", "NotIn")

CONDITION_STATUSES: Final = ("False", "True", "Unknown")

MAX_FAILURE_RULES: Final = 20

MAX_EXIT_CODES: Final = 255

MAX_CONDITION_PATTERNS: Final = 20

MAX_SUCCESS_RULES: Final = 20

MAX_SUCCEEDED_INDEXES: Final = 64 * 1024


def validate_pod_failure_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    rules = spec["podFailurePolicy"].get("rules") or []
    rules_path = child(path, "rules")
    if len(rules) > MAX_FAILURE_RULES:
        errors.append(too_many(rules_path, len(rules), MAX_FAILURE_RULES))
    pod = (spec.get("template") or {}).get("spec") or {}
    names = {
        c.get("name") for kind in ("containers", "initContainers") for c in pod.get(kind) or []
    }
    for i, rule in enumerate(rules):
        errors += _failure_rule(spec, rule, index(rules_path, i), names)
    return errors


def _failure_rule(
    spec: dict[str, Any], rule: dict[str, Any], path: str, containers: set[Any]
) -> list[FieldError]:
    errors: list[FieldError] = []
    action = rule.get("action") or ""
    if not action:
        errors.append(
            required(
                child(path, "action"),
                "valid values: " + ", ".join(f'"{a}"' for a in FAILURE_ACTIONS),
            )
        )
    elif action == "FailIndex":
        if spec.get("backoffLimitPerIndex") is None:
            errors.append(
                invalid(
                    child(path, "action"), action, "requires the backoffLimitPerIndex to be set"
                )
            )
    elif action not in FAILURE_ACTIONS:
        errors.append(not_supported(child(path, "action"), action, FAILURE_ACTIONS))
    exit_codes, conditions = rule.get("onExitCodes"), rule.get("onPodConditions") or []
    if exit_codes is not None:
        errors += _on_exit_codes(exit_codes, child(path, "onExitCodes"), containers)
    if conditions:
        errors += _on_pod_conditions(conditions, child(path, "onPodConditions"))
    if exit_codes is not None and conditions:
        errors.append(
            FieldError(
                path,
                "Invalid value: specifying both OnExitCodes and OnPodConditions is not supported",
            )
        )
    if exit_codes is None and not conditions:
        errors.append(
            FieldError(
                path, "Invalid value: specifying one of OnExitCodes and OnPodConditions is required"
            )
        )
    return errors


def _on_exit_codes(
    requirement: dict[str, Any], path: str, containers: set[Any]
) -> list[FieldError]:
    errors: list[FieldError] = []
    operator = requirement.get("operator") or ""
    if not operator:
        errors.append(required(child(path, "operator"), 'valid values: "In", "NotIn"'))
    elif operator not in EXIT_CODE_OPERATORS:
        errors.append(not_supported(child(path, "operator"), operator, EXIT_CODE_OPERATORS))
    name = requirement.get("containerName")
    if name is not None and name not in containers:
        errors.append(
            invalid(
                child(path, "containerName"),
                name,
                "must be one of the container or initContainer names in the pod template",
            )
        )
    values: list[int] = requirement.get("values") or []
    values_path = child(path, "values")
    if not values:
        errors.append(invalid(values_path, "[]", "at least one value is required"))
    elif len(values) > MAX_EXIT_CODES:
        errors.append(too_many(values_path, len(values), MAX_EXIT_CODES))
    seen: set[int] = set()
    for j, value in enumerate(values):
        if operator == "In" and value == 0:
            errors.append(
                invalid(index(values_path, j), value, "must not be 0 for the In operator")
            )
        if value in seen:
            errors.append(duplicate(index(values_path, j), value))
        seen.add(value)
    if any(a > b for a, b in itertools.pairwise(values)):
        errors.append(invalid(values_path, str(values), "must be ordered"))
    return errors


def _on_pod_conditions(patterns: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if len(patterns) > MAX_CONDITION_PATTERNS:
        errors.append(too_many(path, len(patterns), MAX_CONDITION_PATTERNS))
    for j, pattern in enumerate(patterns):
        at = index(path, j)
        kind = pattern.get("type") or ""
        if not kind:
            errors.append(required(child(at, "type"), "name part must be non-empty"))
        errors += [invalid(child(at, "type"), kind, p) for p in is_qualified_name(kind) if kind]
        # The apiserver defaults an omitted status to True before validating it.
        status = pattern.get("status", "True")
        if status not in CONDITION_STATUSES:
            errors.append(not_supported(child(at, "status"), status, CONDITION_STATUSES))
    return errors


def validate_success_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    rules = spec["successPolicy"].get("rules") or []
    rules_path = child(path, "rules")
    if not rules:
        errors.append(
            required(
                rules_path,
                "at least one rules must be specified when the successPolicy is specified",
            )
        )
    if len(rules) > MAX_SUCCESS_RULES:
        errors.append(too_many(rules_path, len(rules), MAX_SUCCESS_RULES))
    completions = spec.get("completions") or 0
    for i, rule in enumerate(rules):
        at = index(rules_path, i)
        count, indexes = rule.get("succeededCount"), rule.get("succeededIndexes")
        if count is None and indexes is None:
            errors.append(
                required(at, "at least one of succeededCount or succeededIndexes must be specified")
            )
        total = 0
        if indexes is not None:
            indexes_path = child(at, "succeededIndexes")
            if len(indexes) > MAX_SUCCEEDED_INDEXES:
                errors.append(too_long(indexes_path, MAX_SUCCEEDED_INDEXES))
            try:
                total = count_indexes(indexes, completions)
            except ValueError as problem:
                errors.append(
                    invalid(indexes_path, indexes, f"error parsing succeededIndexes: {problem}")
                )
        if count is not None:
            count_path = child(at, "succeededCount")
            errors += nonnegative(count_path, count)
            if count > completions:
                errors.append(
                    invalid(
                        count_path,
                        count,
                        f"must be less than or equal to "
                        f"{completions} (the number of specified completions)",
                    )
                )
            if indexes is not None and count > total:
                errors.append(
                    invalid(
                        count_path,
                        count,
                        f"must be less than or equal to {total} "
                        "(the number of indexes in the specified succeededIndexes "
                        "field)",
                    )
                )
    return errors


def count_indexes(text: str, completions: int) -> int:
    """Number of indexes in ``"1,3-5,7"``; raises ValueError like the apiserver's parser."""
    total, last = 0, -1
    for interval in text.split(",") if text else []:
        first_text, dash, last_text = interval.partition("-")
        try:
            first = int(first_text)
            end = int(last_text) if dash else first
        except ValueError:
            raise ValueError(f'cannot convert string to integer for index: "{interval}"') from None
        if first < 0 or end < 0:
            raise ValueError(f"the index cannot be negative: {interval}")
        if end >= completions:
            raise ValueError(f"too large index: {end}")
        if end < first:
            raise ValueError(f"non-increasing order, previous: {first}, current: {end}")
        if first <= last:
            raise ValueError(f"overlapping intervals, previous: {last}, current: {first}")
        total += end - first + 1
        last = end
    return total
