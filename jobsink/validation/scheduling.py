"""Where pods may run: affinity, topology spread, tolerations, gates and scheduling enums."""

from __future__ import annotations

from typing import Any, Final

from jobsink.validation.errors import (
    FieldError,
    child,
    duplicate,
    index,
    invalid,
    not_supported,
    required,
    unsupported,
)
from jobsink.validation.selector import validate_requirement
from jobsink.validation.syntax import is_dns1123_subdomain, is_qualified_name

TOLERATION_OPERATORS: Final = ("Equal", "Exists")
TAINT_EFFECTS: Final = ("NoExecute", "NoSchedule", "PreferNoSchedule")
NODE_OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
UNSATISFIABLE_ACTIONS: Final = ("DoNotSchedule", "ScheduleAnyway")
INCLUSION_POLICIES: Final = ("Honor", "Ignore")
PREEMPTION_POLICIES: Final = ("PreemptLowerPriority", "Never")
OPERATING_SYSTEMS: Final = ("linux", "windows")


def validate_scheduling(pod: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, toleration in enumerate(pod.get("tolerations") or []):
        errors += _toleration(toleration, index(child(path, "tolerations"), i))
    affinity = pod.get("affinity")
    if affinity is not None:
        errors += _affinity(affinity, child(path, "affinity"))
    errors += _spread(
        pod.get("topologySpreadConstraints") or [], child(path, "topologySpreadConstraints")
    )
    errors += unsupported(pod, "preemptionPolicy", path, PREEMPTION_POLICIES)
    system = (pod.get("os") or {}).get("name")
    if pod.get("os") is not None and system not in OPERATING_SYSTEMS:
        errors.append(not_supported(child(path, "os"), system or "", OPERATING_SYSTEMS))
    gates: set[str] = set()
    for i, gate in enumerate(pod.get("schedulingGates") or []):
        at = index(child(path, "schedulingGates"), i)
        name = gate.get("name") or ""
        errors += [invalid(at, name, p) for p in is_qualified_name(name)]
        if name in gates:
            errors.append(duplicate(at, name))
        gates.add(name)
    for i, gate in enumerate(pod.get("readinessGates") or []):
        at = child(index(child(path, "readinessGates"), i), "conditionType")
        kind = gate.get("conditionType") or ""
        errors += [invalid(at, kind, p) for p in is_qualified_name(kind)]
    runtime = pod.get("runtimeClassName")
    if runtime is not None:
        errors += [
            invalid(child(path, "runtimeClassName"), runtime, p)
            for p in is_dns1123_subdomain(runtime)
        ]
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


def _affinity(affinity: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    node = affinity.get("nodeAffinity") or {}
    node_path = child(path, "nodeAffinity")
    needed = node.get("requiredDuringSchedulingIgnoredDuringExecution")
    if needed is not None:
        at = child(node_path, "requiredDuringSchedulingIgnoredDuringExecution")
        terms = needed.get("nodeSelectorTerms") or []
        if not terms:
            errors.append(
                required(
                    child(at, "nodeSelectorTerms"), "must have at least one node selector term"
                )
            )
        for i, term in enumerate(terms):
            errors += _node_term(term, index(child(at, "nodeSelectorTerms"), i))
    for i, preferred in enumerate(
        node.get("preferredDuringSchedulingIgnoredDuringExecution") or []
    ):
        at = index(child(node_path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
        errors += _weight(preferred, at)
        errors += _node_term(preferred.get("preference") or {}, child(at, "preference"))
    for kind in ("podAffinity", "podAntiAffinity"):
        pods = affinity.get(kind) or {}
        kind_path = child(path, kind)
        for i, term in enumerate(pods.get("requiredDuringSchedulingIgnoredDuringExecution") or []):
            errors += _pod_term(
                term, index(child(kind_path, "requiredDuringSchedulingIgnoredDuringExecution"), i)
            )
        for i, weighted in enumerate(
            pods.get("preferredDuringSchedulingIgnoredDuringExecution") or []
        ):
            at = index(child(kind_path, "preferredDuringSchedulingIgnoredDuringExecution"), i)
            errors += _weight(weighted, at)
            errors += _pod_term(weighted.get("podAffinityTerm") or {}, child(at, "podAffinityTerm"))
    return errors


def _weight(weighted: dict[str, Any], path: str) -> list[FieldError]:
    weight = weighted.get("weight")
    if weight is None or not 1 <= weight <= 100:
        return [invalid(child(path, "weight"), weight or 0, "must be in the range 1-100")]
    return []


def _node_term(term: dict[str, Any], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    for i, requirement in enumerate(term.get("matchExpressions") or []):
        at = index(child(path, "matchExpressions"), i)
        errors += validate_requirement(requirement, at, NODE_OPERATORS)
    return errors


def _pod_term(term: dict[str, Any], path: str) -> list[FieldError]:
    key = term.get("topologyKey") or ""
    at = child(path, "topologyKey")
    if not key:
        return [required(at, "can not be empty")]
    return [invalid(at, key, p) for p in is_qualified_name(key)]


def _spread(constraints: list[dict[str, Any]], path: str) -> list[FieldError]:
    errors: list[FieldError] = []
    seen: set[tuple[str, str]] = set()
    for i, constraint in enumerate(constraints):
        at = index(path, i)
        skew = constraint.get("maxSkew")
        if skew is None or skew <= 0:
            errors.append(invalid(child(at, "maxSkew"), skew or 0, "must be greater than zero"))
        key = constraint.get("topologyKey") or ""
        if not key:
            errors.append(required(child(at, "topologyKey"), "can not be empty"))
        else:
            errors += [invalid(child(at, "topologyKey"), key, p) for p in is_qualified_name(key)]
        action = constraint.get("whenUnsatisfiable") or ""
        if action not in UNSATISFIABLE_ACTIONS:
            errors.append(
                not_supported(child(at, "whenUnsatisfiable"), action, UNSATISFIABLE_ACTIONS)
            )
        elif (key, action) in seen:
            errors.append(duplicate(at, f"{{{key}, {action}}}"))
        seen.add((key, action))
        domains = constraint.get("minDomains")
        if domains is not None:
            if domains <= 0:
                errors.append(invalid(child(at, "minDomains"), domains, "must be greater than 0"))
            elif action != "DoNotSchedule":
                errors.append(
                    invalid(
                        child(at, "minDomains"),
                        domains,
                        "can only use minDomains if whenUnsatisfiable=DoNotSchedule",
                    )
                )
        errors += unsupported(constraint, "nodeAffinityPolicy", at, INCLUSION_POLICIES)
        errors += unsupported(constraint, "nodeTaintsPolicy", at, INCLUSION_POLICIES)
    return errors
