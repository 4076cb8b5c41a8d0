"""Defaulting of JobSinks: pure, idempotent, expressed as a minimal JSON Patch for the webhook.

The rules, applied to ``spec.job.spec.template.spec``:

1. every container and initContainer without an env var named ``K_EXECUTION_MODE`` gets
   ``K_EXECUTION_MODE=batch`` appended (Knative parity: runtimes such as Knative Functions read
   the event file instead of serving HTTP). A value the user set is kept.
2. ``restartPolicy: Never`` when it is unset or empty. The apiserver would default it to
   ``Always``, which a Job refuses, so the minimal JobSinks of the documentation would fail.
3. resource quantities given as JSON fractions (``cpu: 0.25``) become the equivalent string
   (``"0.25"``). A Job accepts both, but the CRD's schema types quantities as int-or-string, and
   the apiserver checks that schema after the mutating webhook, so a float would be refused.

And one outside the pod spec, as Knative's ``Destination.SetDefaults`` does:

4. ``spec.delivery.deadLetterSink.ref.namespace`` is the JobSink's namespace when unset (known
   when the object carries ``metadata.namespace``, as the apiserver's admission requests do).

Nothing else is defaulted on purpose: the apiserver applies the Job defaults of the cluster's own
version (``backoffLimit: 6``, ``completions``/``parallelism: 1``, ``podReplacementPolicy``, ...)
when the receiver creates each Job. Copying 1.36's values into every stored JobSink would freeze
them and hide later changes of the cluster. Malformed parts (a string where a list belongs) are
left alone for validation to report.
"""

from __future__ import annotations

import math
from typing import Any

from jobsink.models.quantity import quantity_text
from jobsink.names import ENV_EXECUTION_MODE, EXECUTION_MODE_BATCH

JSONPatch = list[dict[str, Any]]
Pointer = str | None
"""The JSON Pointer of the node a defaulting step works on; None when nobody wants the patch."""

DEFAULT_RESTART_POLICY = "Never"
POD_SPEC_KEYS = ("spec", "job", "spec", "template", "spec")
POD_SPEC_POINTER = "/" + "/".join(POD_SPEC_KEYS)
REF_KEYS = ("spec", "delivery", "deadLetterSink", "ref")
REF_POINTER = "/" + "/".join(REF_KEYS)
QUANTITY_MAPS = frozenset({"limits", "requests", "overhead"})
"""Keys whose value maps resource names to quantities, wherever they appear in a pod spec."""
QUANTITY_FIELDS = frozenset({"sizeLimit", "divisor"})


def default(obj: dict[str, Any]) -> dict[str, Any]:
    """Return a defaulted deep copy of a JobSink; ``obj`` is not modified."""
    result: dict[str, Any] = copy_json(obj)
    pod = _pod_spec(result)
    if pod is not None:
        _default_pod(pod, None, [])
    _default_ref_namespace(result, [])
    return result


def default_for_reading(obj: dict[str, Any]) -> dict[str, Any]:
    """:func:`default`'s value, copying only what defaulting may change; ``obj`` is not modified.

    Copied are the objects on the way to the pod spec and to the dead-letter ref (shallowly) and
    the pod spec (deeply); everything else is shared with ``obj``. So the caller may change the
    pod spec and set members of the objects on those ways, but must only read the rest. Copying
    the whole JobSink, labels and Job policies included, was most of what defaulting cost.
    """
    result = _copied_way(obj, POD_SPEC_KEYS, deep_end=True)
    pod = _pod_spec(result)
    if pod is not None:
        _default_pod(pod, None, [])
    result = _copied_way(result, REF_KEYS, deep_end=False)
    _default_ref_namespace(result, [])
    return result


def _copied_way(obj: dict[str, Any], keys: tuple[str, ...], *, deep_end: bool) -> dict[str, Any]:
    """A shallow copy of ``obj`` with the objects at ``keys`` copied as well, as far as they are
    objects; with ``deep_end``, the last one is a deep copy."""
    result = dict(obj)
    node = result
    for depth, key in enumerate(keys, start=1):
        member = node.get(key)
        if not isinstance(member, dict):
            break
        node[key] = copy_json(member) if deep_end and depth == len(keys) else dict(member)
        node = node[key]
    return result


def default_patch(obj: dict[str, Any]) -> JSONPatch:
    """RFC 6902 operations turning the raw ``obj`` into ``default(obj)``; empty if already done.

    The defaulting walk records each change where it makes it, in the order a diff of the two
    objects lists them (per object: added members first, then changed ones in document order),
    so there is no diff to compute. Only the pod spec is copied: nothing else changes.
    """
    ops: JSONPatch = []
    pod = _pod_spec(obj)
    if pod is not None:
        _default_pod(copy_json(pod), POD_SPEC_POINTER, ops)
    _default_ref_namespace(copy_json(obj), ops)
    return ops


def _default_ref_namespace(obj: dict[str, Any], ops: JSONPatch) -> None:
    """Rule 4 on ``obj`` (a private copy) in place, recorded in ``ops``."""
    metadata, ref = obj.get("metadata"), _path(obj, REF_KEYS)
    namespace = metadata.get("namespace") if isinstance(metadata, dict) else None
    if (
        isinstance(ref, dict)
        and isinstance(namespace, str)
        and namespace
        and not ref.get("namespace")
    ):
        op = "replace" if "namespace" in ref else "add"
        ref["namespace"] = _changed(ops, op, REF_POINTER, "namespace", namespace)


def _path(obj: dict[str, Any], keys: tuple[str, ...]) -> Any:
    node: Any = obj
    for key in keys:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (dicts, lists, scalars); about twice as fast as deepcopy."""
    if isinstance(value, dict):
        return {key: copy_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [copy_json(item) for item in value]
    return value


def _pod_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    node: Any = obj
    for key in POD_SPEC_KEYS:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, dict) else None


def _default_pod(pod: dict[str, Any], at: Pointer, ops: JSONPatch) -> None:
    """Apply every rule to ``pod`` (a private copy) in place; with ``at``, record in ``ops``."""
    if "restartPolicy" not in pod:
        pod["restartPolicy"] = _changed(ops, "add", at, "restartPolicy", DEFAULT_RESTART_POLICY)
    for name, value in pod.items():
        if name == "restartPolicy":
            if not value:
                pod[name] = _changed(ops, "replace", at, name, DEFAULT_RESTART_POLICY)
        elif name in ("initContainers", "containers") and isinstance(value, list):
            path = _pointer(at, name)
            for i, container in enumerate(value):
                if isinstance(container, dict):
                    _default_container(container, _pointer(path, str(i)), ops)
                else:
                    _stringify_fractions(container, _pointer(path, str(i)), ops)
        else:
            _stringify_member(pod, name, value, at, ops)


def _default_container(container: dict[str, Any], at: Pointer, ops: JSONPatch) -> None:
    if "env" not in container:
        container["env"] = _changed(ops, "add", at, "env", [_execution_mode()])
    for name, value in container.items():
        if name != "env":
            _stringify_member(container, name, value, at, ops)
        elif value is None:
            container[name] = _changed(ops, "replace", at, name, [_execution_mode()])
        elif isinstance(value, list):
            path = _pointer(at, name)
            _stringify_fractions(value, path, ops)
            if not any(isinstance(v, dict) and v.get("name") == ENV_EXECUTION_MODE for v in value):
                value.append(_changed(ops, "add", path, str(len(value)), _execution_mode()))
        else:  # malformed: left for validation to report
            _stringify_member(container, name, value, at, ops)


def _execution_mode() -> dict[str, str]:
    return {"name": ENV_EXECUTION_MODE, "value": EXECUTION_MODE_BATCH}


def _stringify_fractions(node: Any, at: Pointer, ops: JSONPatch) -> None:
    if isinstance(node, list):
        for i, item in enumerate(node):
            if isinstance(item, (dict, list)):
                _stringify_fractions(item, _pointer(at, str(i)), ops)
    elif isinstance(node, dict):
        for name, value in node.items():
            if name in QUANTITY_FIELDS or isinstance(value, (dict, list)):  # other leaves stay
                _stringify_member(node, name, value, at, ops)


def _stringify_member(
    node: dict[str, Any], name: str, value: Any, at: Pointer, ops: JSONPatch
) -> None:
    """Rule 3 for ``node[name]`` (``at`` points to ``node``) and everything below it."""
    if name in QUANTITY_FIELDS and _is_fraction(value):
        node[name] = _changed(ops, "replace", at, name, quantity_text(value))
    elif name in QUANTITY_MAPS and isinstance(value, dict):
        path = _pointer(at, name)
        for resource, quantity in value.items():
            if _is_fraction(quantity):
                text = quantity_text(quantity)
                value[resource] = _changed(ops, "replace", path, resource, text)
    elif isinstance(value, (dict, list)):
        _stringify_fractions(value, _pointer(at, name), ops)


def _changed(ops: JSONPatch, op: str, at: Pointer, name: str, value: Any) -> Any:
    """Record ``op`` of ``value`` at member ``name`` of the node at ``at``; return ``value``."""
    if at is not None:
        ops.append({"op": op, "path": _pointer(at, name), "value": value})
    return value


def _pointer(at: Pointer, name: str) -> Pointer:
    """The JSON Pointer (RFC 6901) of member ``name`` (or an index) of the node at ``at``."""
    if at is None:
        return None
    # str(): a hand-built object (not decoded JSON) may carry non-string keys; never crash on it.
    return f"{at}/{str(name).replace('~', '~0').replace('/', '~1')}"


def _is_fraction(value: Any) -> bool:
    return isinstance(value, float) and math.isfinite(value)
