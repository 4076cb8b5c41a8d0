"""The JobSink field reference, from the CRD's openAPIV3Schema.

``spec.job.spec`` is a whole batch/v1 JobSpec with the pod template inlined, thousands of fields
that the Kubernetes API reference already documents; it is listed one level deep, and everything
below links there. The rest of the schema (``spec.job``, ``status``) is listed in full.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from docgen.markdown import code, prose, table

#: Below this field the rows stop: its children are listed, their children are not.
SHALLOW = "spec.job.spec"


@dataclass(frozen=True)
class Field:
    path: str
    type: str
    required: bool
    description: str


def fields(schema: Mapping[str, Any], root: str) -> list[Field]:
    """The rows under ``root`` (``spec`` or ``status``) of the JobSink's openAPIV3Schema."""
    node = schema["properties"][root]
    return list(_walk(node, root))


def _walk(node: Mapping[str, Any], path: str) -> Iterator[Field]:
    required = set(node.get("required", []))
    children: Mapping[str, Any] = node.get("properties", {})
    if path.startswith(SHALLOW + ".") or path.startswith(SHALLOW + "[]"):
        return
    for name, child in children.items():
        child_path = f"{path}.{name}"
        yield Field(child_path, type_of(child), name in required, _description(child))
        yield from _walk(child, child_path)
        items = child.get("items")
        if isinstance(items, Mapping) and items.get("properties"):
            yield from _walk(items, f"{child_path}[]")


def _description(node: Mapping[str, Any]) -> str:
    return " ".join(str(node.get("description", "")).split())


def type_of(node: Mapping[str, Any]) -> str:
    """The Kubernetes API reference's way of naming a schema type."""
    if node.get("x-kubernetes-int-or-string"):
        return "int or string"
    kind = node.get("type", "")
    if kind == "array":
        items = node.get("items", {})
        return f"[]{type_of(items) if isinstance(items, Mapping) else 'object'}"
    if kind == "object" and isinstance(node.get("additionalProperties"), Mapping):
        return f"map[string]{type_of(node['additionalProperties'])}"
    fmt = node.get("format")
    return f"{kind} ({fmt})" if fmt else str(kind)


def field_table(rows: list[Field], job_spec_link: str) -> str:
    body = []
    for row in rows:
        description = prose(row.description)
        if row.path.startswith(SHALLOW + ".") and row.type.lstrip("[]") == "object":
            description += f" [Kubernetes reference]({job_spec_link})"
        body.append([code(row.path), code(row.type), "yes" if row.required else "", description])
    return table(["Field", "Type", "Required", "Description"], body)


def resource_table(crd: Mapping[str, Any]) -> str:
    spec = crd["spec"]
    names = spec["names"]
    version = spec["versions"][0]
    rows = [
        ["CRD name", code(crd["metadata"]["name"])],
        ["Group, version", f"{code(spec['group'])}, {code(version['name'])}"],
        ["Kind, list kind", f"{code(names['kind'])}, {code(names['listKind'])}"],
        ["Plural, singular", f"{code(names['plural'])}, {code(names['singular'])}"],
        ["Scope", spec["scope"]],
        ["Categories", ", ".join(code(c) for c in names.get("categories", []))],
        ["Subresources", ", ".join(code(s) for s in version.get("subresources", {}))],
        [
            "Labels",
            ", ".join(
                code(f"{k}: {v!r}".replace("'", '"')) for k, v in crd["metadata"]["labels"].items()
            ),
        ],
    ]
    return table(["Property", "Value"], rows)


def columns_table(crd: Mapping[str, Any]) -> str:
    version = crd["spec"]["versions"][0]
    rows = [
        [code(column["name"]), code(column["type"]), code(column["jsonPath"])]
        for column in version.get("additionalPrinterColumns", [])
    ]
    return table(["Column", "Type", "JSONPath"], rows)


def render(crd: Mapping[str, Any], job_spec_link: str) -> dict[str, str]:
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return {
        "resource": resource_table(crd),
        "columns": columns_table(crd),
        "spec": field_table(fields(schema, "spec"), job_spec_link),
        "status": field_table(fields(schema, "status"), job_spec_link),
    }
