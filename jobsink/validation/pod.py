"""The pod template: its metadata, the container lists and pod-level fields.

Volumes have their own module, ``volumes``.
"""

from __future__ import annotations

from typing import Any, Final

from jobsink.validation.container import PodContext, validate_container
from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    forbidden,
    index,
    invalid,
    required,
    unsupported,
)
from jobsink.validation.meta import validate_annotations, validate_labels
from jobsink.validation.resources import validate_resources
from jobsink.validation.scheduling import validate_scheduling
from jobsink.validation.security import validate_pod_security
from jobsink.validation.syntax import IP_PROBLEM, is_dns1123_label, is_dns1123_subdomain, is_ip
from jobsink.validation.volumes import validate_volumes

DNS_POLICIES: Final = ("ClusterFirst", "ClusterFirstWithHostNet", "Default", "None")
MAX_NAMESERVERS: Final = 3
INT32_MAX: Final = 2**31 - 1


def validate_pod_template(template: dict[str, Any], path: str) -> list[FieldError]:
    meta = template.get("metadata") or {}
    meta_path = child(path, "metadata")
    errors = validate_labels(meta.get("labels"), child(meta_path, "labels"))
    errors += validate_annotations(meta.get("annotations"), child(meta_path, "annotations"))
    return errors + validate_pod_spec(template.get("spec") or {}, child(path, "spec"))


def validate_pod_spec(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors, volume_names = validate_volumes(pod.get("volumes") or [], child(path, "volumes"))
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
    if pod.get("resourceClaims"):
        errors += _resource_claims(pod["resourceClaims"], child(path, "resourceClaims"))
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
    if pod.get("nodeSelector"):
        errors += validate_labels(pod["nodeSelector"], child(path, "nodeSelector"))
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
    errors += unsupported(pod, "dnsPolicy", path, DNS_POLICIES)
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
