"""JobSpec rules of the apiserver's batch validation, applied to the rendered Job."""

from __future__ import annotations

from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    invalid,
    nonnegative,
    not_supported,
    required,
    too_long,
    unsupported,
)
from jobsink.validation.pod import validate_pod_template
from jobsink.validation.policies import validate_pod_failure_policy, validate_success_policy
from jobsink.validation.selector import validate_selector
from jobsink.validation.syntax import is_domain_prefixed_path

COMPLETION_MODES: Final = ("Indexed", "NonIndexed")

RESTART_POLICIES: Final = ("OnFailure", "Never")

REPLACEMENT_POLICIES: Final = ("Failed", "TerminatingOrFailed")

MAX_INDEXED_PARALLELISM: Final = 100_000

MAX_FAILED_INDEXES: Final = 100_000

COMPLETIONS_SOFT_LIMIT: Final = 100_000

HIGH_COMPLETIONS_LIMIT: Final = 10_000

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
        value = spec.get(field)
        if value is not None:  # the path only for a field that is set
            errors += nonnegative(child(path, field), value)
    errors += _indexing(spec, path)
    managed_by = spec.get("managedBy")
    if managed_by is not None:
        at = child(path, "managedBy")
        errors += [invalid(at, managed_by, p) for p in is_domain_prefixed_path(managed_by)]
        if len(managed_by) > MAX_MANAGED_BY:
            errors.append(too_long(at, MAX_MANAGED_BY, "characters"))
    if spec.get("podFailurePolicy") is not None:
        errors += validate_pod_failure_policy(spec, child(path, "podFailurePolicy"))
    if spec.get("successPolicy") is not None:
        at = child(path, "successPolicy")
        if spec.get("completionMode") != "Indexed":
            errors.append(invalid(at, "", "requires indexed completion mode"))
        else:
            errors += validate_success_policy(spec, at)
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
    errors += unsupported(spec, "completionMode", path, COMPLETION_MODES)
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


def _replacement_policy(spec: dict[str, Any], path: str) -> list[FieldError]:
    policy = spec.get("podReplacementPolicy")
    if policy is None:
        return []
    if spec.get("podFailurePolicy") is not None:
        return [] if policy == "Failed" else [not_supported(path, policy, ("Failed",))]
    if policy not in REPLACEMENT_POLICIES:
        return [not_supported(path, policy, REPLACEMENT_POLICIES)]
    return []
