"""Pod and container ``securityContext`` rules of the apiserver."""

from __future__ import annotations

import re
from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
    unsupported,
)

ID_MAX: Final = 2**31 - 1
PROC_MOUNTS: Final = ("Default", "Unmasked")
PROFILE_TYPES: Final = ("Localhost", "RuntimeDefault", "Unconfined")
FS_GROUP_CHANGE_POLICIES: Final = ("Always", "OnRootMismatch")
SUPPLEMENTAL_GROUPS_POLICIES: Final = ("Merge", "Strict")
_SYSCTL = re.compile(r"([a-z0-9]([-_a-z0-9]*[a-z0-9])?[./])*[a-z0-9]([-_a-z0-9]*[a-z0-9])?")


LINUX_ONLY_POD: Final = (
    "appArmorProfile", "fsGroup", "fsGroupChangePolicy", "runAsGroup", "runAsUser",
    "seLinuxChangePolicy", "seLinuxOptions", "seccompProfile", "supplementalGroups",
    "supplementalGroupsPolicy", "sysctls",
)  # fmt: skip
LINUX_ONLY_CONTAINER: Final = (
    "allowPrivilegeEscalation", "appArmorProfile", "capabilities", "privileged", "procMount",
    "readOnlyRootFilesystem", "runAsGroup", "runAsUser", "seLinuxOptions", "seccompProfile",
)  # fmt: skip


def validate_os_fields(
    context: dict[str, Any], path: str, os_name: str | None, linux_only: tuple[str, ...]
) -> list[FieldError]:
    """A pod that declares its ``os`` may not use the other system's security fields."""
    if os_name == "windows":
        return [
            forbidden(child(path, field), "cannot be set for a windows pod")
            for field in linux_only
            if context.get(field) is not None
        ]
    if os_name == "linux" and context.get("windowsOptions") is not None:
        return [forbidden(child(path, "windowsOptions"), "cannot be set for a linux pod")]
    return []


def validate_pod_security(
    context: dict[str, Any], path: str, os_name: str | None = None
) -> list[FieldError]:
    errors = validate_os_fields(context, path, os_name, LINUX_ONLY_POD)
    errors += _ids(context, path, ("runAsUser", "runAsGroup", "fsGroup"))
    for i, group in enumerate(context.get("supplementalGroups") or []):
        if not 0 <= group <= ID_MAX:
            errors.append(invalid(index(child(path, "supplementalGroups"), i), group, _ID_RANGE))
    errors += unsupported(context, "fsGroupChangePolicy", path, FS_GROUP_CHANGE_POLICIES)
    errors += unsupported(context, "supplementalGroupsPolicy", path, SUPPLEMENTAL_GROUPS_POLICIES)
    for i, sysctl in enumerate(context.get("sysctls") or []):
        name = sysctl.get("name") or ""
        at = child(index(child(path, "sysctls"), i), "name")
        if not name:
            errors.append(required(at))
        elif len(name) > 253 or not _SYSCTL.fullmatch(name):
            errors.append(
                invalid(
                    at,
                    name,
                    f"must have at most 253 characters and match regex ^{_SYSCTL.pattern}$",
                )
            )
    return errors + _profiles(context, path)


def validate_container_security(
    context: dict[str, Any], path: str, os_name: str | None = None
) -> list[FieldError]:
    errors = validate_os_fields(context, path, os_name, LINUX_ONLY_CONTAINER)
    errors += _ids(context, path, ("runAsUser", "runAsGroup"))
    errors += unsupported(context, "procMount", path, PROC_MOUNTS)
    if context.get("allowPrivilegeEscalation") is False:
        if context.get("privileged"):
            errors.append(
                invalid(
                    path,
                    "",
                    "cannot set `allowPrivilegeEscalation` to false and `privileged` to true",
                )
            )
        if "CAP_SYS_ADMIN" in ((context.get("capabilities") or {}).get("add") or []):
            errors.append(
                invalid(
                    path,
                    "",
                    "cannot set `allowPrivilegeEscalation` to false and `capabilities.Add` "
                    "CAP_SYS_ADMIN",
                )
            )
    return errors + _profiles(context, path)


_ID_RANGE = f"must be between 0 and {ID_MAX}, inclusive"


def _ids(context: dict[str, Any], path: str, fields: tuple[str, ...]) -> list[FieldError]:
    return [
        invalid(child(path, field), context[field], _ID_RANGE)
        for field in fields
        if context.get(field) is not None and not 0 <= context[field] <= ID_MAX
    ]


def _profiles(context: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for field, what in (("seccompProfile", "seccomp"), ("appArmorProfile", "AppArmor")):
        profile = context.get(field)
        if profile is None:
            continue
        at = child(path, field)
        kind = profile.get("type")
        local = profile.get("localhostProfile")
        if kind not in PROFILE_TYPES:
            errors.append(not_supported(child(at, "type"), kind or "", PROFILE_TYPES))
        elif kind == "Localhost" and not local:
            errors.append(
                required(
                    child(at, "localhostProfile"), f"must be set when {what} type is Localhost"
                )
            )
        elif kind != "Localhost" and local is not None:
            errors.append(
                forbidden(
                    child(at, "localhostProfile"), f"can only be set when {what} type is Localhost"
                )
            )
    return errors
