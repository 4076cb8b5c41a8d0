"""Probes and lifecycle hooks: exactly one handler each, with valid ports and timings."""

from __future__ import annotations

import re
from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    forbidden,
    invalid,
    nonnegative,
    required,
    unsupported,
)
from jobsink.validation.syntax import (
    PORT_RANGE,
    is_iana_svc_name,
)

_HEADER_NAME = re.compile(r"[-A-Za-z0-9]+")
PROBE_HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "grpc")

LIFECYCLE_HANDLERS: Final = ("exec", "httpGet", "tcpSocket", "sleep")

HTTP_SCHEMES: Final = ("HTTP", "HTTPS")


def validate_handler(
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
    if http is not None:
        errors += unsupported(http, "scheme", child(path, "httpGet"), HTTP_SCHEMES)
    for header in (http or {}).get("httpHeaders") or []:
        name = header.get("name") or ""
        if not _HEADER_NAME.fullmatch(name):
            errors.append(
                invalid(
                    child(child(path, "httpGet"), "httpHeaders"),
                    name,
                    "a valid HTTP header must consist of alphanumeric characters or '-'",
                )
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


def validate_probe(probe: dict[str, Any], path: str, kind: str) -> list[FieldError]:
    errors = validate_handler(probe, path, PROBE_HANDLERS)
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
