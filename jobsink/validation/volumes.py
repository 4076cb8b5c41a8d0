"""Pod volumes: one source each, the fields each source requires, file modes and projections.

:func:`validate_volumes` also maps every volume name to its source kind, which the container
rules need: a mount must name a volume, a raw block device must come from a claim.
"""

from __future__ import annotations

from typing import Any, Final

from jobsink.models.quantity import QuantityError, parse_quantity
from jobsink.validation.env import supported_field_path
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
from jobsink.validation.syntax import is_dns1123_label, is_relative_path

# In the order the apiserver checks them, so "more than 1 volume type" names the same field.
VOLUME_SOURCES: Final = (
    "hostPath", "emptyDir", "gitRepo", "gcePersistentDisk", "awsElasticBlockStore", "secret",
    "nfs", "iscsi", "glusterfs", "persistentVolumeClaim", "rbd", "flexVolume", "cinder", "cephfs",
    "flocker", "downwardAPI", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "projected", "scaleIO", "configMap", "storageos",
    "csi", "ephemeral", "image",
)  # fmt: skip
#: Each source's place in ``VOLUME_SOURCES``: a volume's few keys are looked up here, rather
#: than all thirty sources in every volume.
SOURCE_ORDER: Final = {source: place for place, source in enumerate(VOLUME_SOURCES)}
HOST_PATH_TYPES: Final = (
    "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
    "Socket",
)  # fmt: skip
MIN_TOKEN_SECONDS: Final = 600
MAX_TOKEN_SECONDS: Final = 2**32
VOLUME_FIELD_PATHS: Final = (
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
    "metadata.uid",
)  # fmt: skip
MAX_MODE: Final = 0o777


def validate_volumes(
    volumes: list[dict[str, Any]], path: str
) -> tuple[list[FieldError], dict[str, str]]:
    """Errors, and each volume's name mapped to its source kind (for mounts and devices)."""
    errors: list[FieldError] = []
    names: dict[str, str] = {}
    for i, volume in enumerate(volumes):
        at = index(path, i)
        name = volume.get("name") or ""
        if not name:
            errors.append(required(child(at, "name")))
        else:
            errors += [invalid(child(at, "name"), name, p) for p in is_dns1123_label(name)]
            if name in names:
                errors.append(duplicate(child(at, "name"), name))
        # No source at all is fine: the apiserver defaults such a volume to an emptyDir.
        sources = sorted(
            (s for s in volume if s in SOURCE_ORDER and volume[s] is not None),
            key=SOURCE_ORDER.__getitem__,
        )
        if name:
            names[name] = sources[0] if sources else "emptyDir"
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
    errors += _mode(source.get("defaultMode"), child(path, "defaultMode"))
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
        errors += _mode(item.get("mode"), child(at, "mode"))
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
            errors += _projection(projection, index(child(path, "sources"), i))
    if kind == "downwardAPI":
        errors += _downward_items(source.get("items") or [], path)
    if kind == "ephemeral" and source.get("volumeClaimTemplate") is None:
        errors.append(required(child(path, "volumeClaimTemplate")))
    if kind == "hostPath" and source.get("type") not in (None, *HOST_PATH_TYPES):
        errors.append(not_supported(child(path, "type"), source["type"], HOST_PATH_TYPES))
    if kind == "nfs" and source.get("path") and not source["path"].startswith("/"):
        errors.append(invalid(child(path, "path"), source["path"], "must be an absolute path"))
    return errors


def _projection(projection: dict[str, Any], path: str) -> list[FieldError]:
    present = [k for k, v in projection.items() if v is not None]
    errors = [
        forbidden(child(path, k), "may not specify more than 1 volume type per source")
        for k in present[1:]
    ]
    token = projection.get("serviceAccountToken")
    if token is not None:
        at = child(path, "serviceAccountToken")
        seconds = token.get("expirationSeconds")
        if seconds is not None and seconds < MIN_TOKEN_SECONDS:
            errors.append(
                invalid(
                    child(at, "expirationSeconds"),
                    seconds,
                    "may not specify a duration less than 10 minutes",
                )
            )
        elif seconds is not None and seconds > MAX_TOKEN_SECONDS:
            errors.append(
                invalid(
                    child(at, "expirationSeconds"),
                    seconds,
                    "may not specify a duration larger than 2^32 seconds",
                )
            )
        if not token.get("path"):
            errors.append(required(child(at, "path")))
    downward = projection.get("downwardAPI")
    if downward is not None:
        errors += _downward_items(downward.get("items") or [], child(path, "downwardAPI"))
    return errors


def _downward_items(items: list[dict[str, Any]], path: str) -> list[FieldError]:
    """Pod fields a downwardAPI file may hold (the apiserver reports them without the index)."""
    errors: list[FieldError] = []
    for item in items:
        field_path = (item.get("fieldRef") or {}).get("fieldPath")
        if field_path is not None and not supported_field_path(field_path, VOLUME_FIELD_PATHS):
            errors.append(
                invalid(
                    child(child(path, "fieldRef"), "fieldPath"),
                    field_path,
                    f"error converting fieldPath: field label not supported: {field_path}",
                )
            )
    return errors


def _mode(mode: int | None, path: str) -> list[FieldError]:
    """A file mode (``defaultMode``, an item's ``mode``): 0 to 0777."""
    if mode is not None and not 0 <= mode <= MAX_MODE:
        return [invalid(path, mode, "must be a number between 0 and 0777 (octal), both inclusive")]
    return []
