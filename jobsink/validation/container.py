"""One container of the pod template: image, ports, env, probes, lifecycle, resources, mounts.

Mirrors the checks of the apiserver's ``validateContainers``/``validateInitContainers`` that a
JobSink author can plausibly trip over; paths are those of the rendered Job's pod template.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from jobsink.validation.env import validate_env, validate_env_from
from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    not_found,
    not_supported,
    required,
    unsupported,
)
from jobsink.validation.probes import LIFECYCLE_HANDLERS, validate_handler, validate_probe
from jobsink.validation.resources import validate_resources
from jobsink.validation.security import validate_container_security
from jobsink.validation.syntax import (
    PORT_RANGE,
    is_dns1123_label,
    is_iana_svc_name,
    is_relative_path,
)

RESIZE_RESOURCES: Final = ("cpu", "memory")
RESIZE_RESTART_POLICIES: Final = ("NotRequired", "RestartContainer")
PULL_POLICIES: Final = ("Always", "IfNotPresent", "Never")

TERMINATION_MESSAGE_POLICIES: Final = ("File", "FallbackToLogsOnError")

PROTOCOLS: Final = ("SCTP", "TCP", "UDP")

MOUNT_PROPAGATIONS: Final = ("Bidirectional", "HostToContainer", "None")

RECURSIVE_READ_ONLY: Final = ("Disabled", "Enabled", "IfPossible")


@dataclass(frozen=True)
class PodContext:
    """What the rules of one container need to know about its pod."""

    volumes: dict[str, str]
    """Volume name -> source kind (``emptyDir``, ``persistentVolumeClaim``, ...)."""
    grace: int = 30
    """terminationGracePeriodSeconds: a sleep hook may not outlast it."""
    restart_policy: str = "Never"
    host_network: bool = False
    os_name: str | None = None
    """``spec.os.name`` when the pod declares its operating system."""
    claims: frozenset[str] = frozenset()
    """Names of the pod's ``resourceClaims`` (dynamic resource allocation)."""


def validate_container(
    container: dict[str, Any], path: str, pod: PodContext, *, init: bool
) -> list[FieldError]:
    """Every per-container rule (``init`` for initContainers)."""
    volumes, grace = pod.volumes, pod.grace
    errors = _name_and_image(container, path)
    errors += unsupported(container, "imagePullPolicy", path, PULL_POLICIES)
    errors += unsupported(container, "terminationMessagePolicy", path, TERMINATION_MESSAGE_POLICIES)
    # Each list or object is checked only when present and not empty (an empty one has nothing
    # to refuse), so that the fields a container leaves out cost no path and no call.
    if container.get("ports"):
        errors += _ports(container["ports"], child(path, "ports"), pod.host_network)
    if container.get("resizePolicy"):
        errors += _resize_policy(container["resizePolicy"], child(path, "resizePolicy"), pod)
    if container.get("env"):
        errors += validate_env(container["env"], child(path, "env"))
    if container.get("envFrom"):
        errors += validate_env_from(container["envFrom"], child(path, "envFrom"))
    if container.get("volumeMounts"):
        errors += _mounts(container["volumeMounts"], child(path, "volumeMounts"), volumes)
    if container.get("volumeDevices"):
        errors += _devices(container["volumeDevices"], child(path, "volumeDevices"), volumes)
        errors += _mounted_twice(container, path)  # needs a device to find anything
    if container.get("resources"):
        errors += validate_resources(container["resources"], child(path, "resources"))
        errors += _claims(container, child(child(path, "resources"), "claims"), pod.claims)
    if container.get("securityContext") is not None:
        errors += validate_container_security(
            container["securityContext"], child(path, "securityContext"), pod.os_name
        )
    sidecar = init and container.get("restartPolicy") == "Always"
    for probe in ("livenessProbe", "readinessProbe", "startupProbe"):
        if container.get(probe) is None:
            continue
        if init and not sidecar:
            errors.append(forbidden(child(path, probe), _INIT_ONLY))
        else:
            errors += validate_probe(container[probe], child(path, probe), kind=probe)
    lifecycle = container.get("lifecycle")
    if lifecycle is not None:
        if init and not sidecar:
            errors.append(forbidden(child(path, "lifecycle"), _INIT_ONLY))
        else:
            for hook in ("postStart", "preStop"):
                if lifecycle.get(hook) is not None:
                    handler_path = child(child(path, "lifecycle"), hook)
                    errors += validate_handler(
                        lifecycle[hook], handler_path, LIFECYCLE_HANDLERS, grace
                    )
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


def _ports(ports: list[dict[str, Any]], path: str, host_network: bool) -> list[FieldError]:
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
        elif host and host_network and number is not None and host != number:
            errors.append(
                invalid(
                    child(at, "hostPort"),
                    host,
                    "must match `containerPort` when `hostNetwork` is true",
                )
            )
        errors += unsupported(port, "protocol", at, PROTOCOLS)
    return errors


def _claims(container: dict[str, Any], path: str, claims: frozenset[str]) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, claim in enumerate((container.get("resources") or {}).get("claims") or []):
        name = claim.get("name") or ""
        at = index(path, i)
        if not name:
            errors.append(required(at))
        elif name not in claims:
            listed = ", ".join(sorted(claims)) if claims else "which is empty"
            errors.append(
                FieldError(
                    at,
                    f'Not found: "{name}": must be one of the names in pod.spec.resourceClaims '
                    f"{listed}",
                )
            )
        if (name, claim.get("request") or "") in seen:
            errors.append(duplicate(at, name))
        seen.add((name, claim.get("request") or ""))
    return errors


def _resize_policy(policies: list[dict[str, Any]], path: str, pod: PodContext) -> list[FieldError]:
    errors: list[FieldError] = []
    for policy in policies:
        resource = policy.get("resourceName") or ""
        if resource not in RESIZE_RESOURCES:
            errors.append(not_supported(path, resource, RESIZE_RESOURCES))
        restart = policy.get("restartPolicy") or ""
        if restart not in RESIZE_RESTART_POLICIES:
            errors.append(not_supported(path, restart, RESIZE_RESTART_POLICIES))
        if pod.restart_policy == "Never" and restart != "NotRequired":
            errors.append(
                invalid(path, restart, "must be 'NotRequired' when pod `restartPolicy` is 'Never'")
            )
    return errors


def _mounted_twice(container: dict[str, Any], path: str) -> list[FieldError]:
    """A volume is either mounted as a filesystem or attached as a block device, not both."""
    mounts = container.get("volumeMounts") or []
    devices = container.get("volumeDevices") or []
    device_names = {d.get("name") for d in devices}
    mount_names = {m.get("name") for m in mounts}
    errors = [
        invalid(child(index(child(path, "volumeMounts"), i), "name"), m.get("name"), _IN_DEVICES)
        for i, m in enumerate(mounts)
        if m.get("name") in device_names
    ]
    errors += [
        invalid(child(index(child(path, "volumeDevices"), i), "name"), d.get("name"), _IN_MOUNTS)
        for i, d in enumerate(devices)
        if d.get("name") in mount_names
    ]
    return errors


_IN_DEVICES = "must not already exist in volumeDevices"
_IN_MOUNTS = "must not already exist in volumeMounts"


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
        errors += unsupported(mount, "mountPropagation", at, MOUNT_PROPAGATIONS)
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
