"""The pod template: its metadata, volumes, the container lists and pod-level fields."""

from __future__ import annotations

from typing import Any, Final

from jobsink.models.quantity import QuantityError, parse_quantity
from jobsink.validation.container import PodContext, validate_container
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
from jobsink.validation.meta import validate_annotations, validate_labels
from jobsink.validation.resources import validate_resources
from jobsink.validation.scheduling import validate_scheduling
from jobsink.validation.security import validate_pod_security
from jobsink.validation.syntax import (
    IP_PROBLEM,
    is_dns1123_label,
    is_dns1123_subdomain,
    is_ip,
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
HOST_PATH_TYPES: Final = (
    "", "BlockDevice", "CharDevice", "Directory", "DirectoryOrCreate", "File", "FileOrCreate",
    "Socket",
)  # fmt: skip
MAX_NAMESERVERS: Final = 3
MIN_TOKEN_SECONDS: Final = 600
MAX_TOKEN_SECONDS: Final = 2**32
VOLUME_FIELD_PATHS: Final = (
    "metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace",
    "metadata.uid",
)  # fmt: skip
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
    context = PodContext(
        volumes=volume_names,
        # a negative grace period is accepted: the apiserver turns it into 1
        grace=30 if grace is None else (1 if grace < 0 else grace),
        restart_policy=pod.get("restartPolicy") or "Always",
        host_network=bool(pod.get("hostNetwork")),
        claims=frozenset(c.get("name") or "" for c in pod.get("resourceClaims") or []),
        os_name=(pod.get("os") or {}).get("name"),
    )
    errors += _resource_claims(pod.get("resourceClaims") or [], child(path, "resourceClaims"))
    for kind in ("initContainers", "containers"):
        for i, container in enumerate(pod.get(kind) or []):
            at = index(child(path, kind), i)
            errors += validate_container(container, at, context, init=kind != "containers")
            name = container.get("name")
            if name and name in seen:
                errors.append(duplicate(child(at, "name"), name))
            seen.add(name)
    errors += _host_ports(pod.get("containers") or [], child(path, "containers"))
    if pod.get("ephemeralContainers"):
        errors.append(forbidden(child(path, "ephemeralContainers"), "cannot be set on create"))
    errors += _scalars(pod, path)
    errors += validate_labels(pod.get("nodeSelector"), child(path, "nodeSelector"))
    errors += validate_scheduling(pod, path)
    errors += _host_namespaces(pod, path)
    if pod.get("resources") is not None:
        errors += validate_resources(pod["resources"], child(path, "resources"))
    if pod.get("securityContext") is not None:
        errors += validate_pod_security(
            pod["securityContext"], child(path, "securityContext"), context.os_name
        )
    errors += _dns(pod, path)
    for i, alias in enumerate(pod.get("hostAliases") or []):
        at = index(child(path, "hostAliases"), i)
        if not is_ip(alias.get("ip") or ""):
            errors.append(invalid(child(at, "ip"), alias.get("ip") or "", IP_PROBLEM))
        for j, hostname in enumerate(alias.get("hostnames") or []):
            errors += [
                invalid(index(child(at, "hostnames"), j), hostname, p)
                for p in is_dns1123_subdomain(hostname)
            ]
    return errors


def _resource_claims(claims: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, claim in enumerate(claims):
        at = index(path, i)
        name = claim.get("name") or ""
        errors += [invalid(child(at, "name"), name, p) for p in is_dns1123_label(name)]
        if name in names:
            errors.append(duplicate(child(at, "name"), name))
        names.add(name)
        sources = [k for k in ("resourceClaimName", "resourceClaimTemplateName") if claim.get(k)]
        if len(sources) != 1:
            errors.append(
                invalid(
                    at,
                    name,
                    "must specify one of: `resourceClaimName`, `resourceClaimTemplateName`"
                    if not sources
                    else "at most one of `resourceClaimName` or `resourceClaimTemplateName` may "
                    "be specified",
                )
            )
        for source in sources:
            errors += [
                invalid(child(at, source), claim[source], p)
                for p in is_dns1123_subdomain(claim[source])
            ]
    return errors


def _host_namespaces(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if pod.get("shareProcessNamespace") and pod.get("hostPID"):
        errors.append(
            invalid(
                child(child(path, "securityContext"), "shareProcessNamespace"),
                True,
                "ShareProcessNamespace and HostPID cannot both be enabled",
            )
        )
    if pod.get("hostUsers") is False:
        for field in ("hostNetwork", "hostPID", "hostIPC"):
            if pod.get(field):
                errors.append(forbidden(child(path, field), "when `hostUsers` is false"))
    return errors


def _dns(pod: dict[str, Any], path: str) -> list[FieldError]:
    config = pod.get("dnsConfig")
    if config is None:
        return []
    at = child(path, "dnsConfig")
    errors: list[FieldError] = []
    nameservers = config.get("nameservers") or []
    if pod.get("dnsPolicy") == "None" and not nameservers:
        errors.append(
            required(
                child(at, "nameservers"),
                "must provide at least one DNS nameserver when `dnsPolicy` is None",
            )
        )
    if len(nameservers) > MAX_NAMESERVERS:
        errors.append(
            invalid(
                child(at, "nameservers"),
                str(nameservers),
                f"must not have more than {MAX_NAMESERVERS} nameservers",
            )
        )
    for i, server in enumerate(nameservers):
        if not is_ip(server):
            errors.append(invalid(index(child(at, "nameservers"), i), server, IP_PROBLEM))
    for i, search in enumerate(config.get("searches") or []):
        problems = is_dns1123_subdomain(search.removesuffix("."))
        errors += [invalid(index(child(at, "searches"), i), search, p) for p in problems]
    for i, option in enumerate(config.get("options") or []):
        if not option.get("name"):
            errors.append(required(index(child(at, "options"), i), "must not be empty"))
    return errors


def _scalars(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    if pod.get("nodeName"):
        errors += [
            invalid(child(path, "nodeName"), pod["nodeName"], p)
            for p in is_dns1123_subdomain(pod["nodeName"])
        ]
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


def _volumes(volumes: list[dict[str, Any]], path: str) -> tuple[list[FieldError], dict[str, str]]:
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
        sources = [s for s in VOLUME_SOURCES if volume.get(s) is not None]
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
