"""The pod template: its metadata, volumes, the container lists and pod-level fields."""

from __future__ import annotations

from typing import Any, Final

from jobsink.models.quantity import QuantityError, parse_quantity
from jobsink.validation.container import validate_container
from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_supported,
    required,
)
from jobsink.validation.meta import validate_annotations, validate_labels
from jobsink.validation.syntax import (
    is_dns1123_label,
    is_dns1123_subdomain,
    is_qualified_name,
    is_relative_path,
)

# In the order the apiserver checks them, so "more than 1 volume type" names the same field.
VOLUME_SOURCES: Final = (
    "hostPath", "emptyDir", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
    "flocker", "downwardAPI", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "projected", "scaleIO", "configMap", "storageos",
    "csi", "ephemeral", "image",
)  # fmt: skip
DNS_POLICIES: Final = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
TOLERATION_OPERATORS: Final = ("Equal", "Exists")
TAINT_EFFECTS: Final = ("NoExecute", "NoSchedule", "PreferNoSchedule")
MAX_MODE: Final = 0o777
INT32_MAX: Final = 2**31 - 1


def validate_pod_template(template: dict[str, Any], path: str) -> list[FieldError]:
    meta = template.get("metadata") or {}
    meta_path = child(path, "metadata")
    errors = validate_labels(meta.get("labels"), child(meta_path, "labels"))
    errors += validate_annotations(meta.get("annotations"), child(meta_path, "annotations"))
    return errors + validate_pod_spec(template.get("spec") or {}, child(path, "spec"))


def validate_pod_spec(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors, volume_names = _volumes(pod.get("volumes") or [], child(path, "volumes"))
    containers = pod.get("containers") or []
    if not containers:
        errors.append(required(child(path, "containers")))
    seen: set[str] = set()
    grace = pod.get("terminationGracePeriodSeconds")
    grace = 30 if grace is None else (1 if grace < 0 else grace)
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(kind) or []):
            at = index(child(path, kind), i)
            errors += validate_container(
                container, at, volume_names, init=kind != "containers", grace=grace
            )
            name = container.get("name")
            if name and name in seen:
                errors.append(duplicate(child(at, "name"), name))
            seen.add(name)
    errors += _host_ports(pod.get("containers") or [], child(path, "containers"))
    if pod.get("ephemeralContainers"):
        errors.append(forbidden(child(path, "ephemeralContainers"), "cannot be set on create"))
    errors += _scalars(pod, path)
    errors += validate_labels(pod.get("nodeSelector"), child(path, "nodeSelector"))
    for i, toleration in enumerate(pod.get("tolerations") or []):
        errors += _toleration(toleration, index(child(path, "tolerations"), i))
    return errors


def _scalars(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for field in ("hostname", "subdomain"):
        if pod.get(field):
            errors += [
                invalid(child(path, field), pod[field], p) for p in is_dns1123_label(pod[field])
            ]
    for field in ("serviceAccountName", "priorityClassName"):
        if pod.get(field):
            errors += [
                invalid(child(path, field), pod[field], p) for p in is_dns1123_subdomain(pod[field])
            ]
    policy = pod.get("dnsPolicy")
    if policy is not None and policy not in DNS_POLICIES:
        errors.append(not_supported(child(path, "dnsPolicy"), policy, DNS_POLICIES))
    if policy == "None" and pod.get("dnsConfig") is None:
        errors.append(
            required(child(path, "dnsConfig"), "must provide `dnsConfig` when `dnsPolicy` is None")
        )
    deadline = pod.get("activeDeadlineSeconds")
    if deadline is not None and not 1 <= deadline <= INT32_MAX:
        errors.append(
            invalid(
                child(path, "activeDeadlineSeconds"),
                deadline,
                f"must be between 1 and {INT32_MAX}, inclusive",
            )
        )
    # A negative terminationGracePeriodSeconds is accepted: the apiserver turns it into 1.
    return errors


def _host_ports(containers: list[dict[str, Any]], path: str) -> list[FieldError]:
    """Two containers of a pod cannot bind the same host port, protocol and address."""
    errors: list[FieldError] = []
    taken: set[str] = set()
    for i, container in enumerate(containers):
        for j, port in enumerate(container.get("ports") or []):
            if not port.get("hostPort"):
                continue
            address = (
                f"{port.get('hostIP') or ''}/{port.get('protocol') or 'TCP'}/{port['hostPort']}"
            )
            if address in taken:
                at = child(index(child(index(path, i), "ports"), j), "hostPort")
                errors.append(duplicate(at, address))
            taken.add(address)
    return errors


def _toleration(toleration: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    name = toleration.get("key") or ""
    operator = toleration.get("operator") or "Equal"
    if name:
        errors += [invalid(child(path, "key"), name, p) for p in is_qualified_name(name)]
    elif operator != "Exists":
        errors.append(
            invalid(
                child(path, "operator"),
                operator,
                "operator must be Exists when `key` is empty, which means "
                '"match all values and all keys"',
            )
        )
    if operator not in TOLERATION_OPERATORS:
        errors.append(not_supported(child(path, "operator"), operator, TOLERATION_OPERATORS))
    elif operator == "Exists" and toleration.get("value"):
        errors.append(
            invalid(
                child(path, "operator"),
                toleration["value"],
                "value must be empty when `operator` is 'Exists'",
            )
        )
    effect = toleration.get("effect")
    if effect and effect not in TAINT_EFFECTS:
        errors.append(not_supported(child(path, "effect"), effect, TAINT_EFFECTS))
    if toleration.get("tolerationSeconds") is not None and effect != "NoExecute":
        errors.append(
            invalid(
                child(path, "effect"),
                effect or "",
                "effect must be 'NoExecute' when `tolerationSeconds` is set",
            )
        )
    return errors


def _volumes(volumes: list[dict[str, Any]], path: str) -> tuple[list[FieldError], set[str]]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, volume in enumerate(volumes):
        at = index(path, i)
        name = volume.get("name") or ""
        if not name:
            errors.append(required(child(at, "name")))
        else:
            errors += [invalid(child(at, "name"), name, p) for p in is_dns1123_label(name)]
            if name in names:
                errors.append(duplicate(child(at, "name"), name))
            names.add(name)
        # No source at all is fine: the apiserver defaults such a volume to an emptyDir.
        sources = [s for s in VOLUME_SOURCES if volume.get(s) is not None]
        for extra in sources[1:]:
            errors.append(forbidden(child(at, extra), "may not specify more than 1 volume type"))
        for source in sources[:1]:
            errors += _volume_source(source, volume[source], child(at, source))
    return errors, names


_REQUIRED_FIELDS: Final = {
    "secret": "secretName",
    "configMap": "name",
    "persistentVolumeClaim": "claimName",
    "hostPath": "path",
    "csi": "driver",
    "nfs": "server",
}


def _volume_source(kind: str, source: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    needed = _REQUIRED_FIELDS.get(kind)
    if needed and not source.get(needed):
        errors.append(required(child(path, needed)))
    mode = source.get("defaultMode")
    if mode is not None and not 0 <= mode <= MAX_MODE:
        errors.append(
            invalid(
                child(path, "defaultMode"),
                mode,
                "must be a number between 0 and 0777 (octal), both inclusive",
            )
        )
    for i, item in enumerate(source.get("items") or []):
        at = index(child(path, "items"), i)
        if kind in ("secret", "configMap") and not item.get("key"):
            errors.append(required(child(at, "key")))
        item_path = item.get("path") or ""
        if not item_path:
            errors.append(required(child(at, "path")))
        else:
            errors += [
                invalid(child(at, "path"), item_path, p) for p in is_relative_path(item_path)
            ]
        item_mode = item.get("mode")
        if item_mode is not None and not 0 <= item_mode <= MAX_MODE:
            errors.append(
                invalid(
                    child(at, "mode"),
                    item_mode,
                    "must be a number between 0 and 0777 (octal), both inclusive",
                )
            )
    if kind == "emptyDir" and source.get("sizeLimit") is not None:
        try:
            negative = parse_quantity(source["sizeLimit"]) < 0
        except QuantityError:
            negative = False  # the models report the syntax
        if negative:
            errors.append(
                forbidden(
                    child(path, "sizeLimit"), "SizeLimit field must be a valid resource quantity"
                )
            )
    if kind == "projected":
        for i, projection in enumerate(source.get("sources") or []):
            at = index(child(path, "sources"), i)
            present = [k for k, v in projection.items() if v is not None]
            if len(present) != 1:
                errors.append(
                    forbidden(at, "may not specify more than 1 volume type per source")
                    if present
                    else required(at, "must specify a volume type")
                )
    return errors
