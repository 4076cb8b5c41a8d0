"""``spec.filters`` of an EventPolicy: the CloudEvents Subscriptions API filter dialects Knative
evaluates, parsed once into typed expressions and matched against an event's attributes.

Dialects: ``exact``, ``prefix``, ``suffix`` (a map of attribute name to string; every attribute must
be present and match, case-sensitively), ``all``, ``any`` (a non-empty list of expressions) and
``not`` (one expression). An expression holds exactly one dialect. ``cesql`` (CloudEvents SQL)
is a dialect Knative also evaluates, but no maintained Python implementation exists, so a policy
using it is reported as not ready and admits nobody rather than being half-evaluated.

Where Knative skips an expression it cannot parse (logging it, and so admitting more than the
author wrote), an invalid expression here makes the whole policy not ready: a filter that is
silently dropped is a hole in an authorization rule.

Attribute values compare as Knative's ``LookupAttribute`` renders them: strings as sent, integers
in decimal, booleans as ``true``/``false``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Literal, cast

from jobsink.event import AttributeValue

AttributeDialect = Literal["exact", "prefix", "suffix"]
DIALECTS: Final = ("exact", "prefix", "suffix", "all", "any", "not", "cesql")
MAX_DEPTH: Final = 16
"""Nesting deeper than this is refused: a policy is data from the apiserver, and evaluating it
must stay cheap and bounded on every event."""


@dataclass(frozen=True)
class AttributeMatch:
    """``exact``, ``prefix`` or ``suffix``: each named attribute compared with its value."""

    dialect: AttributeDialect
    attributes: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AllOf:
    filters: tuple[Filter, ...]


@dataclass(frozen=True)
class AnyOf:
    filters: tuple[Filter, ...]


@dataclass(frozen=True)
class Not:
    filter: Filter


Filter = AttributeMatch | AllOf | AnyOf | Not
Attributes = Mapping[str, AttributeValue]


class FilterError(ValueError):
    """An expression that cannot be evaluated; the message starts with its field path."""


def parse_filters(raw: object, path: str = "spec.filters") -> tuple[Filter, ...]:
    """The expressions of ``spec.filters`` (all of which must match); ``FilterError`` names the
    first bad one."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        raise FilterError(f"{path}: must be a list of filter expressions")
    return tuple(parse_filter(item, f"{path}[{i}]") for i, item in enumerate(raw))


def parse_filter(raw: object, path: str, depth: int = 0) -> Filter:
    if depth > MAX_DEPTH:
        raise FilterError(f"{path}: nested more than {MAX_DEPTH} levels deep")
    if not isinstance(raw, Mapping):
        raise FilterError(f"{path}: must be an object with one of {', '.join(DIALECTS)}")
    present = [name for name in DIALECTS if _given(raw.get(name))]
    unknown = sorted(str(name) for name in raw if name not in DIALECTS)
    if unknown:
        raise FilterError(f"{path}: unknown dialect {unknown[0]!r}; known: {', '.join(DIALECTS)}")
    if len(present) != 1:
        found = ", ".join(present) or "none"
        known = ", ".join(DIALECTS)
        raise FilterError(f"{path}: needs exactly one dialect of {known}; got {found}")
    dialect = present[0]
    value = raw[dialect]
    where = f"{path}.{dialect}"
    if dialect in ("exact", "prefix", "suffix"):
        return AttributeMatch(cast(AttributeDialect, dialect), _attribute_map(value, where))
    if dialect == "not":
        return Not(parse_filter(value, where, depth + 1))
    if dialect == "cesql":
        raise FilterError(f"{where}: CloudEvents SQL filters are not supported by this receiver")
    if not isinstance(value, list):
        raise FilterError(f"{where}: must be a list of filter expressions")
    children = tuple(parse_filter(item, f"{where}[{i}]", depth + 1) for i, item in enumerate(value))
    return AllOf(children) if dialect == "all" else AnyOf(children)


def _given(value: object) -> bool:
    # Go's omitempty: an empty map, list or string is the same as an absent one.
    return value is not None and value != {} and value != [] and value != ""


def _attribute_map(value: object, path: str) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise FilterError(f"{path}: must map attribute names to strings")
    pairs: list[tuple[str, str]] = []
    for name, expected in value.items():
        if not isinstance(name, str) or not name:
            raise FilterError(f"{path}: attribute names must be non-empty strings")
        if not isinstance(expected, str) or not expected:
            raise FilterError(f"{path}.{name}: must be a non-empty string")
        pairs.append((name, expected))
    return tuple(sorted(pairs))


def attribute_text(value: AttributeValue) -> str:
    """An attribute as the filters compare it (Go's ``%v`` of the decoded value)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass(frozen=True)
class Mismatch:
    """Why an event failed a filter: ``attribute`` is the culprit when one attribute is."""

    text: str
    attribute: str | None = None


def mismatch(filter: Filter, attributes: Attributes) -> Mismatch | None:
    """None when ``attributes`` (an event's) pass ``filter``; otherwise what did not match, for
    the sender to read."""
    match filter:
        case AttributeMatch(dialect, pairs):
            for name, expected in pairs:
                found = attributes.get(name)
                if found is None:
                    return Mismatch(f"{dialect}: the event has no attribute {name!r}", name)
                text = attribute_text(found)
                if not _compare(dialect, text, expected):
                    return Mismatch(
                        f"{dialect}: attribute {name!r} is {_short(text)}, wanted {expected!r}",
                        name,
                    )
            return None
        case AllOf(children):
            for child in children:
                why = mismatch(child, attributes)
                if why is not None:
                    return why
            return None
        case AnyOf(children):
            reasons = [mismatch(child, attributes) for child in children]
            failed = [reason for reason in reasons if reason is not None]
            if len(failed) < len(reasons):
                return None
            culprits = {reason.attribute for reason in failed}
            text = "any: none matched (" + "; ".join(reason.text for reason in failed) + ")"
            return Mismatch(text, culprits.pop() if len(culprits) == 1 else None)
        case Not(inner):
            if mismatch(inner, attributes) is None:
                return Mismatch(f"not: the event matches {describe(inner)}", _only_attribute(inner))
            return None


def matches_all(filters: tuple[Filter, ...], attributes: Attributes) -> Mismatch | None:
    """Every expression of ``spec.filters`` must pass: the first mismatch, or None."""
    for filter in filters:
        why = mismatch(filter, attributes)
        if why is not None:
            return why
    return None


def _only_attribute(filter: Filter) -> str | None:
    if isinstance(filter, AttributeMatch) and len(filter.attributes) == 1:
        return filter.attributes[0][0]
    return None


def describe(filter: Filter) -> str:
    """A short rendering of an expression, for messages."""
    match filter:
        case AttributeMatch(dialect, pairs):
            inner = ", ".join(f"{name}={value!r}" for name, value in pairs)
            return f"{dialect}({inner})"
        case AllOf(children):
            return "all(" + ", ".join(describe(child) for child in children) + ")"
        case AnyOf(children):
            return "any(" + ", ".join(describe(child) for child in children) + ")"
        case Not(inner):
            return f"not({describe(inner)})"


def _compare(dialect: AttributeDialect, text: str, expected: str) -> bool:
    if dialect == "exact":
        return text == expected
    if dialect == "prefix":
        return text.startswith(expected)
    return text.endswith(expected)


def _short(text: str, limit: int = 80) -> str:
    return repr(text if len(text) <= limit else text[:limit] + "...")
