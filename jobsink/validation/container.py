"""One container of the pod template: image, ports, env, probes, lifecycle, resources, mounts.

Mirrors the checks of the apiserver's ``validateContainers``/``validateInitContainers`` that a
JobSink author can plausibly trip over; paths are those of the rendered Job's pod template.
"""

from __future__ import annotations

import ipaddress
import re
from decimal import Decimal
from typing import Any, Final

from jobsink.models.quantity import QuantityError, parse_quantity
from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    key,
    nonnegative,
    not_found,
    not_supported,
    required,
)
from jobsink.validation.security import validate_container_security
from jobsink.validation.syntax import (
    is_config_map_key,
    is_dns1123_label,
    is_env_var_name,
    is_iana_svc_name,
    is_qualified_name,
    is_relative_path,
)

PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")
TERMINATION_MESSAGE_POLICIES: Final = ("File", "FallbackToLogsOnError")
PROTOCOLS: Final = ("SCTP", "TCP", "UDP")
MOUNT_PROPAGATIONS: Final = ("Bidirectional", "HostToContainer", "None")
RECURSIVE_READ_ONLY: Final = ("Disabled", "Enabled", "IfPossible")
PROBE_HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "grpc")
LIFECYCLE_HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "sleep")
HTTP_SCHEMES: Final = ("HTTP", "HTTPS")
NATIVE_RESOURCES: Final = ("cpu", "memory", "ephemeral-storage")
ENV_SOURCES: Final = (
    "fieldRef",
    "resourceFieldRef",
    "configMapKeyRef",
    "secretKeyRef",
    "fileKeyRef",
)
PORT_RANGE: Final = "must be between 1 and 65535, inclusive"


def validate_container(
    container: dict[str, Any], path: str, volumes: dict[str, str], *, init: bool, grace: int = 30
) -> list[FieldError]:
    """Every per-container rule; ``volumes`` maps the pod's volume names to their source kind,
    ``grace`` is its termination grace period (a sleep hook may not outlast it)."""
    errors = _name_and_image(container, path)
    for field, allowed in (
        ("imagePullPolicy", PULL_POLICIES),
        ("terminationMessagePolicy", TERMINATION_MESSAGE_POLICIES),
    ):
        value = container.get(field)
        if value is not None and value not in allowed:
            errors.append(not_supported(child(path, field), value, allowed))
    errors += _ports(container.get("ports") or [], child(path, "ports"))
    errors += _env(container.get("env") or [], child(path, "env"))
    errors += _env_from(container.get("envFrom") or [], child(path, "envFrom"))
    errors += _mounts(container.get("volumeMounts") or [], child(path, "volumeMounts"), volumes)
    errors += _devices(container.get("volumeDevices") or [], child(path, "volumeDevices"), volumes)
    errors += validate_resources(container.get("resources") or {}, child(path, "resources"))
    if container.get("securityContext") is not None:
        errors += validate_container_security(
            container["securityContext"], child(path, "securityContext")
        )
    sidecar = init and container.get("restartPolicy") == "Always"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe) is None:
            continue
        if init and not sidecar:
            errors.append(forbidden(child(path, probe), _INIT_ONLY))
        else:
            errors += _probe(container[probe], child(path, probe), kind=probe)
    lifecycle = container.get("lifecycle")
    if lifecycle is not None:
        if init and not sidecar:
            errors.append(forbidden(child(path, "lifecycle"), _INIT_ONLY))
        else:
            for hook in ("postStart", "preStop"):
                if lifecycle.get(hook) is not None:
                    handler_path = child(child(path, "lifecycle"), hook)
                    errors += _handler(lifecycle[hook], handler_path, LIFECYCLE_HANDLERS, grace)
    return errors


_INIT_ONLY = "may not be set for init containers without restartPolicy=Always"


def _name_and_image(container: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    name = container.get("name") or ""
    if not name:
        errors.append(required(child(path, "name")))
    else:
        errors += [invalid(child(path, "name"), name, p) for p in is_dns1123_label(name)]
    image = container.get("image") or ""
    if not image:
        errors.append(required(child(path, "image")))
    return errors


def _ports(ports: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    names: set[str] = set()
    for i, port in enumerate(ports):
        at = index(path, i)
        name = port.get("name")
        if name:
            errors += [invalid(child(at, "name"), name, p) for p in is_iana_svc_name(name)]
            if name in names:
                errors.append(duplicate(child(at, "name"), name))
            names.add(name)
        number = port.get("containerPort")
        if number is None:
            errors.append(required(child(at, "containerPort")))
        elif not 1 <= number <= 65535:
            errors.append(invalid(child(at, "containerPort"), number, PORT_RANGE))
        host = port.get("hostPort")
        if host and not 1 <= host <= 65535:
            errors.append(invalid(child(at, "hostPort"), host, PORT_RANGE))
        protocol = port.get("protocol")
        if protocol is not None and protocol not in PROTOCOLS:
            errors.append(not_supported(child(at, "protocol"), protocol, PROTOCOLS))
    return errors


def _env(env: list[dict[str, Any]], path: str) -> list[FieldError]:
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


ENV_FIELD_PATHS: Final = (
    "metadata.name", "metadata.namespace", "metadata.uid", "spec.nodeName",
    "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs",
)  # fmt: skip
ENV_RESOURCES: Final = (
    "limits.cpu", "limits.ephemeral-storage", "limits.memory", "requests.cpu",
    "requests.ephemeral-storage", "requests.memory",
)  # fmt: skip
IP_PROBLEM: Final = "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"


def supported_field_path(path: str, plain: tuple[str, ...]) -> bool:
    """``plain`` paths, or one label/annotation as ``metadata.labels['key']``."""
    if path in plain:
        return True
    match = re.fullmatch(r"metadata\.(labels|annotations)\['(.+)'\]", path)
    return match is not None and not is_qualified_name(match[2].lower())


def is_ip(value: str) -> bool:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


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


def _env_from(sources: list[dict[str, Any]], path: str) -> list[FieldError]:
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


def _devices(devices: list[dict[str, Any]], path: str, volumes: dict[str, str]) -> list[FieldError]:
    """Raw block devices come only from persistent volume claims (or ephemeral ones)."""
    errors: list[FieldError] = []
    for i, device in enumerate(devices):
        at = index(path, i)
        name = device.get("name") or ""
        if not name:
            errors.append(required(child(at, "name")))
        elif volumes.get(name) not in ("persistentVolumeClaim", "ephemeral"):
            errors.append(not_found(child(at, "name"), name))
        if not device.get("devicePath"):
            errors.append(required(child(at, "devicePath")))
    return errors


def _mounts(mounts: list[dict[str, Any]], path: str, volumes: dict[str, str]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen_paths: set[str] = set()
    for i, mount in enumerate(mounts):
        at = index(path, i)
        name = mount.get("name") or ""
        if not name:
            errors.append(required(child(at, "name")))
        elif name not in volumes:
            errors.append(not_found(child(at, "name"), name))
        mount_path = mount.get("mountPath") or ""
        if not mount_path:
            errors.append(required(child(at, "mountPath")))
        elif mount_path in seen_paths:
            errors.append(invalid(child(at, "mountPath"), mount_path, "must be unique"))
        seen_paths.add(mount_path)
        for sub in ("subPath", "subPathExpr"):
            if mount.get(sub):
                errors += [
                    invalid(child(at, sub), mount[sub], p) for p in is_relative_path(mount[sub])
                ]
        if mount.get("subPath") and mount.get("subPathExpr"):
            errors.append(
                invalid(
                    child(at, "subPathExpr"),
                    mount["subPathExpr"],
                    "subPathExpr and subPath are mutually exclusive",
                )
            )
        propagation = mount.get("mountPropagation")
        if propagation is not None and propagation not in MOUNT_PROPAGATIONS:
            errors.append(
                not_supported(child(at, "mountPropagation"), propagation, MOUNT_PROPAGATIONS)
            )
        recursive = mount.get("recursiveReadOnly")
        if recursive is not None:
            if recursive not in RECURSIVE_READ_ONLY:
                errors.append(
                    not_supported(child(at, "recursiveReadOnly"), recursive, RECURSIVE_READ_ONLY)
                )
            elif recursive != "Disabled" and not mount.get("readOnly"):
                errors.append(
                    forbidden(
                        child(at, "recursiveReadOnly"),
                        "may only be specified when readOnly is true",
                    )
                )
    return errors


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


def _handler(
    handler: dict[str, Any], path: str, kinds: tuple[str, ...], grace: int = 30
) -> list[FieldError]:
    """Exactly one action, with a valid port where it has one."""
    present = [k for k in kinds if handler.get(k) is not None]
    if not present:
        return [required(path, "must specify a handler type")]
    errors = [
        forbidden(child(path, k), "may not specify more than 1 handler type") for k in present[1:]
    ]
    for kind in ("httpGet", "tcpSocket"):
        action = handler.get(kind)
        if action is not None:
            errors += _port_number_or_name(action.get("port"), child(child(path, kind), "port"))
    http = handler.get("httpGet")
    if http is not None and http.get("scheme") is not None and http["scheme"] not in HTTP_SCHEMES:
        errors.append(
            not_supported(child(child(path, "httpGet"), "scheme"), http["scheme"], HTTP_SCHEMES)
        )
    grpc = handler.get("grpc")
    if grpc is not None:
        port = grpc.get("port")
        if not isinstance(port, int) or not 1 <= port <= 65535:
            errors.append(invalid(child(child(path, "grpc"), "port"), port, PORT_RANGE))
    sleep = handler.get("sleep")
    if sleep is not None:
        seconds = sleep.get("seconds")
        if seconds is not None and not 0 <= seconds <= grace:
            errors.append(
                invalid(
                    child(path, "sleep"),
                    seconds,
                    f"must be non-negative and less than terminationGracePeriodSeconds ({grace})",
                )
            )
    return errors


def _port_number_or_name(port: object, path: str) -> list[FieldError]:
    if port is None:
        return [required(path)]
    if isinstance(port, int):
        return [] if 1 <= port <= 65535 else [invalid(path, port, PORT_RANGE)]
    if isinstance(port, str):
        if port.isdigit():
            return [] if 1 <= int(port) <= 65535 else [invalid(path, port, PORT_RANGE)]
        return [invalid(path, port, p) for p in is_iana_svc_name(port)]
    return [invalid(path, port, "must be an integer or a string")]


def _probe(probe: dict[str, Any], path: str, kind: str) -> list[FieldError]:
    errors = _handler(probe, path, PROBE_HANDLERS)
    for field in (
        "initialDelaySeconds",
        "timeoutSeconds",
        "periodSeconds",
        "successThreshold",
        "failureThreshold",
    ):
        errors += nonnegative(child(path, field), probe.get(field))
    success = probe.get("successThreshold")
    if kind in ("livenessProbe", "startupProbe") and success is not None and success != 1:
        errors.append(invalid(child(path, "successThreshold"), success, "must be 1"))
    grace = probe.get("terminationGracePeriodSeconds")
    if grace is not None:
        if kind == "readinessProbe":
            errors.append(
                invalid(
                    child(path, "terminationGracePeriodSeconds"),
                    grace,
                    "must not be set for readinessProbes",
                )
            )
        elif grace <= 0:
            errors.append(
                invalid(
                    child(path, "terminationGracePeriodSeconds"), grace, "must be greater than 0"
                )
            )
    return errors
