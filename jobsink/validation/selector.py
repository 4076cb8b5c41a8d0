"""``spec.selector`` and ``manualSelector``, which the apiserver generates for almost every Job.

Without ``manualSelector: true`` the apiserver adds ``controller-uid``/``job-name`` labels to the
pod template and a selector on the uid; a user selector must then match only those generated
labels, which a JobSink author cannot know (the name and uid are per event), and the template must
not set those labels itself. With ``manualSelector: true`` the selector is required and must match
the template's labels.
"""

from __future__ import annotations

from typing import Any, Final

from jobsink.validation.errors import FieldError, child, forbidden, index, invalid, key, required
from jobsink.validation.meta import validate_labels
from jobsink.validation.syntax import is_label_value, is_qualified_name

GENERATED_LABELS: Final = (
    "controller-uid",
    "job-name",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-name",
)
OPERATORS: Final = ("In", "NotIn", "Exists", "DoesNotExist")


def validate_selector(spec: dict[str, Any], path: str) -> list[FieldError]:
    selector = spec.get("selector")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    selector_path = child(path, "selector")
    if spec.get("manualSelector"):
        if selector is None:
            return [required(selector_path)]
        errors = _syntax(selector, selector_path)
        if not errors and not matches(selector, template_labels):
            errors.append(
                invalid(
                    child(child(child(path, "template"), "metadata"), "labels"),
                    str(template_labels),
                    "`selector` does not match template `labels`",
                )
            )
        return errors
    labels_path = child(child(child(path, "template"), "metadata"), "labels")
    errors = [
        invalid(
            key(labels_path, name), template_labels[name], "set by the Job controller: remove it"
        )
        for name in GENERATED_LABELS
        if name in template_labels
    ]
    if selector is None:
        return errors
    errors += _syntax(selector, selector_path)
    generated = {name: "generated" for name in GENERATED_LABELS}
    if not errors and (selector.get("matchLabels") or not matches(selector, generated)):
        errors.append(
            invalid(
                selector_path,
                str(selector),
                "`selector` not auto-generated: set manualSelector: true to choose your own",
            )
        )
    return errors


def matches(selector: dict[str, Any], labels: dict[str, Any]) -> bool:
    """Whether ``labels`` satisfy a (syntactically valid) LabelSelector."""
    for name, value in (selector.get("matchLabels") or {}).items():
        if labels.get(name) != value:
            return False
    for expression in selector.get("matchExpressions") or []:
        name, operator = expression.get("key"), expression.get("operator")
        values = expression.get("values") or []
        present = name in labels
        if operator == "In" and not (present and labels[name] in values):
            return False
        if operator == "NotIn" and present and labels[name] in values:
            return False
        if operator == "Exists" and not present:
            return False
        if operator == "DoesNotExist" and present:
            return False
    return True


def _syntax(selector: dict[str, Any], path: str) -> list[FieldError]:
    errors = validate_labels(selector.get("matchLabels"), child(path, "matchLabels"))
    for i, expression in enumerate(selector.get("matchExpressions") or []):
        at = index(child(path, "matchExpressions"), i)
        errors += validate_requirement(expression, at, OPERATORS)
        for j, value in enumerate(expression.get("values") or []):
            errors += [
                invalid(index(child(at, "values"), j), value, p) for p in is_label_value(value)
            ]
    return errors


def validate_requirement(
    requirement: dict[str, Any], path: str, operators: tuple[str, ...]
) -> list[FieldError]:
    """One ``matchExpressions`` entry of a label or node selector: its key, operator and values.

    ``operators`` are those the selector kind accepts; node selectors add ``Gt``/``Lt``, which
    take a single integer. Label selectors check each value's syntax on top of this.
    """
    name = requirement.get("key") or ""
    errors = [invalid(child(path, "key"), name, p) for p in is_qualified_name(name)]
    operator = requirement.get("operator")
    values = requirement.get("values") or []
    values_path = child(path, "values")
    if operator not in operators:
        errors.append(invalid(child(path, "operator"), operator, "not a valid selector operator"))
    elif operator in ("In", "NotIn") and not values:
        errors.append(required(values_path, "must be specified when `operator` is 'In' or 'NotIn'"))
    elif operator in ("Exists", "DoesNotExist") and values:
        errors.append(
            forbidden(
                values_path, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"
            )
        )
    elif operator in ("Gt", "Lt") and (
        len(values) != 1 or not str(values[0]).lstrip("-").isdigit()
    ):
        errors.append(
            required(values_path, "must be specified single value when `operator` is 'Lt' or 'Gt'")
        )
    return errors
