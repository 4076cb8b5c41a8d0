"""Environment variables of a container: names, ``valueFrom`` sources and ``envFrom``."""

from __future__ import annotations

import re
from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    index,
    invalid,
    not_supported,
    required,
)
from jobsink.validation.syntax import (
    is_config_map_key,
    is_env_var_name,
    is_qualified_name,
)

ENV_SOURCES: Final = (
    "fieldRef",
    "resourceFieldRef",
    "configMapKeyRef",
    "secretKeyRef",
    "fileKeyRef",
)

ENV_FIELD_PATHS: Final = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
    "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)  # fmt: skip

ENV_RESOURCES: Final = (
    "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
    "requests.ephemeral-storage", "requests.memory",
)  # fmt: skip


def supported_field_path(path: str, plain: tuple[str, ...]) -> bool:
    """``plain`` paths, or one label/annotation as ``metadata.labels['key']``."""
    if path in plain:
        return True
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    return match is not None and not is_qualified_name(match[2].lower())


def validate_env(env: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, var in enumerate(env):
        at = index(path, i)
        name = var.get("name") or ""
        if not name:
            errors.append(required(child(at, "name")))
        else:
            errors += [invalid(child(at, "name"), name, p) for p in is_env_var_name(name)]
        source = var.get("valueFrom")
        if source is None:
            continue
        from_path = child(at, "valueFrom")
        chosen = [s for s in ENV_SOURCES if source.get(s) is not None]
        if var.get("value"):
            errors.append(invalid(from_path, "", "may not be specified when `value` is not empty"))
        if not chosen:
            errors.append(
                invalid(
                    from_path,
                    "",
                    "must specify one of: `fieldRef`, "
                    "`resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
                )
            )
        elif len(chosen) > 1:
            errors.append(
                invalid(from_path, "", "may not have more than one field specified at a time")
            )
        errors += _env_field_refs(source, from_path)
        for ref in ("configMapKeyRef", "secretKeyRef"):
            selector = source.get(ref)
            if selector is None:
                continue
            ref_path = child(from_path, ref)
            if not selector.get("name"):
                errors.append(required(child(ref_path, "name")))
            ref_key = selector.get("key") or ""
            if not ref_key:
                errors.append(required(child(ref_path, "key")))
            else:
                errors += [
                    invalid(child(ref_path, "key"), ref_key, p) for p in is_config_map_key(ref_key)
                ]
    return errors


def _env_field_refs(source: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    field_path = (source.get("fieldRef") or {}).get("fieldPath")
    if field_path is not None and not supported_field_path(field_path, ENV_FIELD_PATHS):
        errors.append(
            invalid(
                child(child(path, "fieldRef"), "fieldPath"),
                field_path,
                f"error converting fieldPath: field label not supported: {field_path}",
            )
        )
    resource = (source.get("resourceFieldRef") or {}).get("resource")
    if (
        resource is not None
        and resource not in ENV_RESOURCES
        and not re.fullmatch(r"(limits|requests)\.hugepages-.+", resource)
    ):
        errors.append(
            not_supported(
                child(child(path, "resourceFieldRef"), "resource"), resource, ENV_RESOURCES
            )
        )
    return errors


def validate_env_from(sources: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, source in enumerate(sources):
        at = index(path, i)
        prefix = source.get("prefix")
        if prefix:
            errors += [invalid(child(at, "prefix"), prefix, p) for p in is_env_var_name(prefix)]
        refs = [r for r in ("configMapRef", "secretRef") if source.get(r) is not None]
        if len(refs) != 1:
            errors.append(
                invalid(
                    at,
                    "",
                    "must specify one of: `configMapRef` or `secretRef`"
                    if not refs
                    else "may not have more than one field specified at a time",
                )
            )
        for ref in refs:
            if not source[ref].get("name"):
                errors.append(required(child(child(at, ref), "name")))
    return errors
