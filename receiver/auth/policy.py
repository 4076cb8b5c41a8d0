"""Knative's EventPolicy (``eventing.knative.dev/v1alpha1``), parsed once from the watch into a
typed, immutable value: which JobSinks it applies to, which subjects it admits, which events.

Semantics follow Knative's ``pkg/auth`` (``GetEventPoliciesForResource``,
``SubjectAndFiltersPass``):

- ``spec.to``: a ``ref`` (apiVersion group, kind and name of the JobSink, compared
  case-insensitively; the version is not compared) or a ``selector`` (apiVersion group + kind, and
  a label selector on the JobSink's labels). No ``to`` at all: every JobSink of the namespace.
- ``spec.from``: a ``sub`` (exact, case-insensitive; or a prefix when it ends in ``*``) or a
  ``ref`` to a source whose OIDC service accounts Knative's EventPolicy controller resolves into
  ``status.from`` (``system:serviceaccount:<ns>:<sa>``). The receiver never GETs the source:
  ``ref`` entries count once ``status.from`` is published for the policy's current generation.
- ``spec.filters``: see ``policy_filters``.

Readiness (``ready``/``not_ready_because``) decides whether a policy admits anyone. Knative's
controller marks a policy Ready once it resolved its subjects; without that controller (a cluster
with only our CRD) a policy whose ``from`` is all ``sub`` entries needs no resolving, so it is
ready as written, and one with a ``ref`` is not ready until something resolves it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Final

from jobsink import types
from jobsink.validation.selector import OPERATORS, matches
from receiver.auth.policy_filters import Filter, FilterError, parse_filters

GROUP: Final = "eventing.knative.dev"
VERSION: Final = "v1alpha1"
API_VERSION: Final = f"{GROUP}/{VERSION}"
KIND: Final = "EventPolicy"
SERVICE_ACCOUNT_PREFIX: Final = "system:serviceaccount:"


class SpecError(ValueError):
    """A part of the spec that cannot be evaluated; the message starts with its field path."""


@dataclass(frozen=True)
class ToRef:
    group: str
    kind: str
    name: str


@dataclass(frozen=True)
class ToSelector:
    group: str
    kind: str
    selector: Mapping[str, Any]
    """A LabelSelector (``matchLabels``, ``matchExpressions``)."""


@dataclass(frozen=True)
class FromRef:
    api_version: str
    kind: str
    name: str
    namespace: str


@dataclass(frozen=True)
class EventPolicy:
    namespace: str
    name: str
    to: tuple[ToRef | ToSelector, ...]
    subs: tuple[str, ...]
    """``spec.from[].sub``, as written."""
    refs: tuple[FromRef, ...]
    """``spec.from[].ref``: resolved only by Knative's controller."""
    filters: tuple[Filter, ...]
    resolved: tuple[str, ...] | None
    """``status.from`` when Knative's controller published it for the current generation."""
    controller_ready: bool | None
    """The Ready condition of the current generation as Knative's controller set it; None when
    no controller has judged this generation."""
    controller_message: str = ""
    problem: str | None = None
    """Why the spec cannot be evaluated (bad selector, bad filter, CloudEvents SQL)."""

    @property
    def subjects(self) -> tuple[str, ...]:
        """Who the policy admits: what Knative resolved, or else the ``sub`` entries."""
        return self.resolved if self.resolved is not None else self.subs

    # The policy is immutable and asked on every event: what these derive is worked out once,
    # on first use (``cached_property`` writes the instance's __dict__, which a frozen dataclass
    # allows), instead of lowercasing names and re-checking readiness per request.

    @cached_property
    def not_ready_because(self) -> str | None:
        """None when the policy is ready (it admits its subjects); otherwise why it is not."""
        if self.problem is not None:
            return self.problem
        if self.controller_ready is False:
            return self.controller_message or "its Ready condition is False"
        if self.controller_ready is None and self.refs:
            ref = self.refs[0]
            return (
                f"spec.from ref {ref.kind} {ref.namespace}/{ref.name} is not resolved: Knative's "
                "EventPolicy controller publishes its service accounts in status.from"
            )
        return None

    @property
    def ready(self) -> bool:
        return self.not_ready_because is None

    @cached_property
    def _targets(self) -> tuple[frozenset[str], tuple[Mapping[str, Any], ...]]:
        """The JobSink names ``spec.to`` refers to (lowercase) and its selectors on JobSinks."""
        names: set[str] = set()
        selectors: list[Mapping[str, Any]] = []
        for target in self.to:
            if target.group.lower() != types.GROUP or target.kind.lower() != types.KIND.lower():
                continue
            if isinstance(target, ToRef):
                names.add(target.name.lower())
            else:
                selectors.append(target.selector)
        return frozenset(names), tuple(selectors)

    @cached_property
    def _subject_patterns(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The exact subjects (lowercase) and the prefixes of those ending in ``*``."""
        exact = frozenset(s.lower() for s in self.subjects if not s.endswith("*"))
        return exact, tuple(s[:-1] for s in self.subjects if s.endswith("*"))

    def applies_to(self, sink_namespace: str, sink_name: str, labels: Mapping[str, Any]) -> bool:
        """Whether the policy governs this JobSink."""
        if sink_namespace != self.namespace:
            return False
        if not self.to:
            return True
        names, selectors = self._targets
        if sink_name.lower() in names:
            return True
        return any(matches(dict(selector), dict(labels)) for selector in selectors)

    def admits(self, sub: str) -> bool:
        """Whether ``sub`` is one of the policy's subjects (Knative: an exact entry matches
        case-insensitively, one ending in ``*`` matches as a case-sensitive prefix)."""
        exact, prefixes = self._subject_patterns
        return sub.lower() in exact or any(sub.startswith(prefix) for prefix in prefixes)


def parse(obj: Mapping[str, Any]) -> EventPolicy:
    """An EventPolicy from the apiserver's JSON; a spec that cannot be evaluated gives a policy
    with ``problem`` set (not ready, admits nobody) rather than an error, so one bad policy
    never stops the others."""
    metadata = obj.get("metadata") or {}
    spec = obj.get("spec") or {}
    status = obj.get("status") or {}
    namespace, name = str(metadata.get("namespace") or ""), str(metadata.get("name") or "")
    current = status.get("observedGeneration") == metadata.get("generation")
    ready, message = _ready_condition(status) if current else (None, "")
    resolved = status.get("from") if current and ready else None
    policy = EventPolicy(
        namespace=namespace,
        name=name,
        to=(),
        subs=(),
        refs=(),
        filters=(),
        resolved=tuple(str(s) for s in resolved) if isinstance(resolved, list) else None,
        controller_ready=ready,
        controller_message=message,
    )
    try:
        return _with_spec(policy, spec, namespace)
    except (SpecError, FilterError) as error:
        return replace(policy, problem=str(error))


def _with_spec(policy: EventPolicy, spec: Mapping[str, Any], namespace: str) -> EventPolicy:
    to = tuple(_target(item, f"spec.to[{i}]") for i, item in enumerate(_list(spec, "to")))
    subs: list[str] = []
    refs: list[FromRef] = []
    for i, item in enumerate(_list(spec, "from")):
        where = f"spec.from[{i}]"
        if not isinstance(item, Mapping):
            raise SpecError(f"{where}: must be an object with sub or ref")
        if isinstance(item.get("ref"), Mapping):
            ref = item["ref"]
            refs.append(
                FromRef(
                    api_version=str(ref.get("apiVersion") or ""),
                    kind=str(ref.get("kind") or ""),
                    name=str(ref.get("name") or ""),
                    namespace=str(ref.get("namespace") or namespace),
                )
            )
        elif isinstance(item.get("sub"), str) and item["sub"]:
            if "*" in item["sub"][:-1]:
                raise SpecError(f"{where}.sub: '*' is only allowed as the last character")
            subs.append(item["sub"])
        else:
            raise SpecError(f"{where}: needs a non-empty sub or a ref")
    filters = parse_filters(spec.get("filters"))
    return replace(policy, to=to, subs=tuple(subs), refs=tuple(refs), filters=filters)


def _target(item: object, where: str) -> ToRef | ToSelector:
    if not isinstance(item, Mapping):
        raise SpecError(f"{where}: must be an object with ref or selector")
    if isinstance(item.get("ref"), Mapping):
        ref = item["ref"]
        kind, name = str(ref.get("kind") or ""), str(ref.get("name") or "")
        return ToRef(_group(ref.get("apiVersion")), kind, name)
    selector = item.get("selector")
    if isinstance(selector, Mapping):
        _check_selector(selector, f"{where}.selector")
        label_selector = {
            key: selector[key] for key in ("matchLabels", "matchExpressions") if key in selector
        }
        return ToSelector(
            _group(selector.get("apiVersion")), str(selector.get("kind") or ""), label_selector
        )
    raise SpecError(f"{where}: needs a ref or a selector")


def _check_selector(selector: Mapping[str, Any], where: str) -> None:
    labels = selector.get("matchLabels") or {}
    if not isinstance(labels, Mapping):
        raise SpecError(f"{where}.matchLabels: must map label names to values")
    expressions = selector.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise SpecError(f"{where}.matchExpressions: must be a list")
    for i, expression in enumerate(expressions):
        operator = expression.get("operator") if isinstance(expression, Mapping) else None
        if operator not in OPERATORS:
            raise SpecError(
                f"{where}.matchExpressions[{i}].operator: {operator!r} is not one of "
                + ", ".join(OPERATORS)
            )


def _group(api_version: object) -> str:
    # Knative parses the apiVersion and compares the group only.
    text = str(api_version or "")
    return text.rsplit("/", 1)[0] if "/" in text else ""


def _list(spec: Mapping[str, Any], field: str) -> list[Any]:
    value = spec.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise SpecError(f"spec.{field}: must be a list")
    return value


def _ready_condition(status: Mapping[str, Any]) -> tuple[bool | None, str]:
    for condition in status.get("conditions") or []:
        if isinstance(condition, Mapping) and condition.get("type") == "Ready":
            state = condition.get("status")
            message = str(condition.get("message") or condition.get("reason") or "")
            return (True if state == "True" else False if state == "False" else None), message
    return None, ""
