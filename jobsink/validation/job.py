"""JobSpec rules of the apiserver's batch validation, applied to the rendered Job."""

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
from jobsink.validation.pod import validate_pod_template
from jobsink.validation.selector import validate_selector
from jobsink.validation.syntax import is_domain_prefixed_path, is_qualified_name

COMPLETION_MODES: Final = ("Indexed", "NonIndexed")
RESTART_POLICIES: Final = ("OnFailure", "Never")
FAILURE_ACTIONS: Final = ("Count", "FailIndex", "FailJob", "Ignore")
EXIT_CODE_OPERATORS: Final = ("In", "NotIn")
CONDITION_STATUSES: Final = ("False", "True", "Unknown")
REPLACEMENT_POLICIES: Final = ("Failed", "TerminatingOrFailed")
MAX_INDEXED_PARALLELISM: Final = 100_000
MAX_FAILED_INDEXES: Final = 100_000
COMPLETIONS_SOFT_LIMIT: Final = 100_000
HIGH_COMPLETIONS_LIMIT: Final = 10_000
MAX_FAILURE_RULES: Final = 20
MAX_EXIT_CODES: Final = 255
MAX_CONDITION_PATTERNS: Final = 20
MAX_SUCCESS_RULES: Final = 20
MAX_SUCCEEDED_INDEXES: Final = 64 * 1024
MAX_MANAGED_BY: Final = 63


def validate_job_spec(spec: dict[str, Any], path: str) -> list[FieldError]:
    """``spec`` as sent; the apiserver's count defaults are applied here, as it does before."""
    spec = server_defaults(spec)
    errors: list[FieldError] = []
    for field in (
        "parallelism",
        "completions",
        "activeDeadlineSeconds",
        "backoffLimit",
        "ttlSecondsAfterFinished",
        "backoffLimitPerIndex",
        "maxFailedIndexes",
    ):
        errors += nonnegative(child(path, field), spec.get(field))
    errors += _indexing(spec, path)
    managed_by = spec.get("managedBy")
    if managed_by is not None:
        at = child(path, "managedBy")
        errors += [invalid(at, managed_by, p) for p in is_domain_prefixed_path(managed_by)]
        if len(managed_by) > MAX_MANAGED_BY:
            errors.append(too_long(at, MAX_MANAGED_BY, "characters"))
    if spec.get("podFailurePolicy") is not None:
        errors += _pod_failure_policy(spec, child(path, "podFailurePolicy"))
    if spec.get("successPolicy") is not None:
        at = child(path, "successPolicy")
        if spec.get("completionMode") != "Indexed":
            errors.append(invalid(at, "", "requires indexed completion mode"))
        else:
            errors += _success_policy(spec, at)
    errors += _replacement_policy(spec, child(path, "podReplacementPolicy"))
    errors += validate_selector(spec, path)
    template = spec.get("template") or {}
    errors += validate_pod_template(template, child(path, "template"))
    errors += _restart_policy(spec, child(child(child(path, "template"), "spec"), "restartPolicy"))
    return errors


def server_defaults(spec: dict[str, Any]) -> dict[str, Any]:
    """The Job defaults that change a verdict: unset completions and parallelism become 1."""
    counts = {}
    if spec.get("completions") is None and spec.get("parallelism") is None:
        counts["completions"] = 1
    if spec.get("parallelism") is None:
        counts["parallelism"] = 1
    return {**spec, **counts}


def _indexing(spec: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    mode = spec.get("completionMode")
    completions, parallelism = spec.get("completions"), spec.get("parallelism")
    per_index, max_failed = spec.get("backoffLimitPerIndex"), spec.get("maxFailedIndexes")
    if max_failed is not None and per_index is None:
        errors.append(
            required(child(path, "backoffLimitPerIndex"), "when maxFailedIndexes is specified")
        )
    if mode is not None and mode not in COMPLETION_MODES:
        errors.append(not_supported(child(path, "completionMode"), mode, COMPLETION_MODES))
    if mode == "Indexed":
        if completions is None:
            errors.append(required(child(path, "completions"), "when completion mode is Indexed"))
        if parallelism is not None and parallelism > MAX_INDEXED_PARALLELISM:
            errors.append(
                invalid(
                    child(path, "parallelism"),
                    parallelism,
                    f"must be less than or equal to {MAX_INDEXED_PARALLELISM} when "
                    "completion mode is Indexed",
                )
            )
        if completions is not None and max_failed is not None and max_failed > completions:
            errors.append(
                invalid(
                    child(path, "maxFailedIndexes"),
                    max_failed,
                    "must be less than or equal to completions",
                )
            )
        if max_failed is not None and max_failed > MAX_FAILED_INDEXES:
            errors.append(
                invalid(
                    child(path, "maxFailedIndexes"),
                    max_failed,
                    f"must be less than or equal to {MAX_FAILED_INDEXES}",
                )
            )
        if (
            completions is not None
            and completions > COMPLETIONS_SOFT_LIMIT
            and per_index is not None
        ):
            suffix = (
                f"when completions are above {COMPLETIONS_SOFT_LIMIT} and used with "
                "backoff limit per index"
            )
            if max_failed is None:
                errors.append(
                    required(
                        child(path, "maxFailedIndexes"),
                        f"must be specified when completions is above {COMPLETIONS_SOFT_LIMIT}",
                    )
                )
            if parallelism is not None and parallelism > HIGH_COMPLETIONS_LIMIT:
                errors.append(
                    invalid(
                        child(path, "parallelism"),
                        parallelism,
                        f"must be less than or equal to {HIGH_COMPLETIONS_LIMIT} " + suffix,
                    )
                )
            if max_failed is not None and max_failed > HIGH_COMPLETIONS_LIMIT:
                errors.append(
                    invalid(
                        child(path, "maxFailedIndexes"),
                        max_failed,
                        f"must be less than or equal to {HIGH_COMPLETIONS_LIMIT} " + suffix,
                    )
                )
    elif mode in (None, "NonIndexed"):
        for field, value in (("backoffLimitPerIndex", per_index), ("maxFailedIndexes", max_failed)):
            if value is not None:
                errors.append(
                    invalid(child(path, field), value, "requires indexed completion mode")
                )
    return errors


def _restart_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    policy = ((spec.get("template") or {}).get("spec") or {}).get("restartPolicy")
    if policy in (None, "", "Always"):
        return [required(path, 'valid values: "OnFailure", "Never"')]
    if policy not in RESTART_POLICIES:
        return [not_supported(path, policy, RESTART_POLICIES)]
    if spec.get("podFailurePolicy") is not None and policy != "Never":
        return [
            invalid(path, policy, 'only "Never" is supported when podFailurePolicy is specified')
        ]
    return []


def _pod_failure_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
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


def _success_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
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


def _replacement_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None:
        return [] if policy == "Failed" else [not_supported(path, policy, ("Failed",))]
    if policy not in REPLACEMENT_POLICIES:
        return [not_supported(path, policy, REPLACEMENT_POLICIES)]
    return []
