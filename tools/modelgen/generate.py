"""Generate ``jobsink/models/batch_v1.py`` (Pydantic v2 models) from the vendored batch/v1 schema.

This file states our modelling policies in code; docs/design.md ("The policies") explains them.

- One class per OpenAPI definition, named by the last segment of its name (``PodSpec``), emitted
  leaves first so every annotation refers to a class defined above it.
- Field names equal the JSON keys. A key that is not a usable Python name gets a trailing ``_``
  and an alias, and the models serialise by alias.
- Required fields have no default. Optional fields are ``X | None = None``: JSON ``null`` is
  accepted (the apiserver treats it as unset) and, once given, round-trips as ``null``.
- OpenAPI ``default`` values are ignored: they describe what the apiserver fills in, and a model
  that filled them in would no longer round-trip the object it was given.
- Scalars are strict (a JSON string is not an integer, a number is not a string), with Go's
  ranges for ``int32``/``int64``; IntOrString, Quantity and Time have hand-written types in
  ``jobsink/models/scalars.py`` and ``jobsink/models/quantity.py``.
- List and map semantics (``x-kubernetes-list-type``, ``-list-map-keys``, ``-map-type``,
  ``-patch-strategy``, ``-patch-merge-key``) are kept as ``json_schema_extra`` metadata on each
  field (and on the class for struct-level marks) so the CRD generator can emit them.
- Descriptions are kept verbatim as ``Field(description=...)`` and class docstrings.
- Every model forbids unknown fields (see ``jobsink/models/base.py``).
"""

from __future__ import annotations

import argparse
import json
import keyword
import re
import sys
import textwrap
from pathlib import Path
from typing import Any

from pydantic import BaseModel

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "jobsink" / "models" / "batch_v1.schema.json"
OUTPUT = REPO / "jobsink" / "models" / "batch_v1.py"
REF_PREFIX = "#/$defs/"

# Definitions without properties: each maps to a hand-written type of ours.
SCALAR_DEFINITIONS = {
    "io.k8s.apimachinery.pkg.api.resource.Quantity": "Quantity",
    "io.k8s.apimachinery.pkg.util.intstr.IntOrString": "IntOrString",
    "io.k8s.apimachinery.pkg.apis.meta.v1.Time": "Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime": "Time",
    "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1": "FieldsV1",
}
INTEGER_FORMATS = {"int32": "Int32", "int64": "Int64"}
FIELD_EXTENSIONS = (
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-map-type",
    "x-kubernetes-patch-strategy",
    "x-kubernetes-patch-merge-key",
)
CLASS_EXTENSIONS = (
    "x-kubernetes-group-version-kind",
    "x-kubernetes-map-type",
    "x-kubernetes-unions",
)
RESERVED_NAMES = frozenset(dir(BaseModel)) | frozenset(keyword.kwlist)
WIDTH = 96


def class_name(definition: str) -> str:
    return definition.rsplit(".", 1)[-1]


def ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).removeprefix(REF_PREFIX)


def python_name(key: str) -> str:
    """The attribute name for a JSON key: the key itself unless Python or Pydantic reserve it."""
    if key.isidentifier() and key not in RESERVED_NAMES and not key.startswith("model_"):
        return key
    return key.replace("-", "_") + "_"


def json_types(schema: dict[str, Any]) -> list[str]:
    declared = schema.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def python_type(schema: dict[str, Any]) -> str:
    """The annotation for a value schema, without the ``| None`` of optional fields."""
    if "$ref" in schema:
        name = ref_name(schema)
        return SCALAR_DEFINITIONS.get(name, class_name(name))
    if "enum" in schema:
        return "Literal[" + ", ".join(json.dumps(value) for value in schema["enum"]) + "]"
    # Lists and maps never hold null: the items are typed, not optional (docs/design.md).
    kinds = [kind for kind in json_types(schema) if kind != "null"]
    if len(kinds) != 1:
        raise ValueError(f"unsupported schema type {kinds!r}: {schema}")
    kind = kinds[0]
    if kind == "string":
        return "StrictStr"
    if kind == "integer":
        return INTEGER_FORMATS.get(schema.get("format", ""), "StrictInt")
    if kind == "boolean":
        return "StrictBool"
    if kind == "array":
        return f"list[{python_type(schema['items'])}]"
    if kind == "object" and "additionalProperties" in schema:
        return f"dict[str, {python_type(schema['additionalProperties'])}]"
    if kind == "object":
        return "dict[str, JsonValue]"
    raise ValueError(f"unsupported schema type {kind!r}: {schema}")


def emission_order(definitions: dict[str, Any], root: str) -> list[str]:
    """Object definitions reachable from ``root``, each after every definition it refers to."""
    order: list[str] = []
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in order or name in SCALAR_DEFINITIONS:
            return
        if name in visiting:
            raise ValueError(f"reference cycle through {name}")
        visiting.add(name)
        for schema in definitions[name].get("properties", {}).values():
            for ref in _refs(schema):
                visit(ref)
        visiting.discard(name)
        order.append(name)

    visit(root)
    return order


def _refs(schema: dict[str, Any]) -> list[str]:
    if "$ref" in schema:
        return [ref_name(schema)]
    nested = [schema[key] for key in ("items", "additionalProperties") if key in schema]
    return [ref for child in nested for ref in _refs(child)]


def literal(value: Any) -> str:
    """A Python literal for JSON strings, lists and string-keyed maps, in double quotes.

    JSON's string escapes are valid Python, so ``json.dumps`` is exact for these values.
    """
    if isinstance(value, bool | int | float) or value is None:
        raise ValueError(f"not a string, list or map: {value!r}")
    if isinstance(value, list):
        return "[" + ", ".join(literal(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{literal(k)}: {literal(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


def mapping_literal(mapping: dict[str, Any], indent: str) -> str:
    """A dict literal on one line if it fits, else one entry per line."""
    flat = literal(mapping)
    if len(indent) + len(flat) + 24 <= WIDTH:
        return flat
    entries = "".join(f"{indent}    {literal(k)}: {literal(v)},\n" for k, v in mapping.items())
    return "{\n" + entries + indent + "}"


def string_literal(text: str, indent: str, prefix: str = "description=") -> str:
    """``text`` as a Python literal; long text becomes implicitly concatenated chunks."""
    if len(indent) + len(prefix) + len(literal(text)) + 1 <= WIDTH:
        return literal(text)
    chunks = textwrap.wrap(
        text,
        width=WIDTH - len(indent) - 12,  # room for quotes and the escapes literal() adds
        drop_whitespace=False,
        replace_whitespace=False,
        break_on_hyphens=False,
    )
    body = "\n".join(f"{indent}    {literal(chunk)}" for chunk in chunks)
    return f"(\n{body}\n{indent})"


def docstring(text: str) -> str:
    lines: list[str] = []
    for paragraph in text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').split("\n"):
        lines.extend(textwrap.wrap(paragraph, width=WIDTH - 12) or [""])
    body = "\n    ".join(lines).rstrip()
    return f'    """{body}\n    """' if len(lines) > 1 else f'    """{body}"""'


def render_field(key: str, schema: dict[str, Any], required: bool) -> str:
    name = python_name(key)
    annotation = python_type(schema)
    if not required or "null" in json_types(schema):
        annotation += " | None"
    arguments: list[str] = []
    if not required:
        arguments.append("default=None")
    if name != key:
        arguments.append(f"alias={literal(key)}")
    if "description" in schema:
        arguments.append("description=" + string_literal(schema["description"], "        "))
    extensions = {ext: schema[ext] for ext in FIELD_EXTENSIONS if ext in schema}
    if extensions:
        arguments.append(f"json_schema_extra={mapping_literal(extensions, '        ')}")
    if arguments == ["default=None"]:
        return f"    {name}: {annotation} = None"
    joined = "".join(f"        {argument},\n" for argument in arguments)
    return f"    {name}: {annotation} = Field(\n{joined}    )"


def render_class(name: str, definition: dict[str, Any]) -> str:
    lines = [f"class {class_name(name)}(KubeModel):"]
    lines.append(docstring(definition.get("description", f"{class_name(name)} ({name}).")))
    extensions = {ext: definition[ext] for ext in CLASS_EXTENSIONS if ext in definition}
    if extensions:
        lines.append("")
        extra = mapping_literal(extensions, "    ")
        lines.append(f"    model_config = ConfigDict(json_schema_extra={extra})")
    required = set(definition.get("required", []))
    properties = definition.get("properties", {})
    if properties:
        lines.append("")
    for key in sorted(properties):
        lines.append(render_field(key, properties[key], key in required))
    return "\n".join(lines)


def imports(code: str) -> str:
    """The import block, naming only what the generated classes use."""

    def used(module: str, names: list[str]) -> str:
        present = [name for name in names if re.search(rf"\b{name}\b", code)]
        return f"from {module} import {', '.join(present)}\n" if present else ""

    return (
        used("typing", ["Literal"])
        + "\n"
        + used(
            "pydantic", ["ConfigDict", "Field", "JsonValue", "StrictBool", "StrictInt", "StrictStr"]
        )
        + "\n"
        + "from jobsink.models.base import KubeModel\n"
        + used("jobsink.models.quantity", ["Quantity"])
        + used("jobsink.models.scalars", ["FieldsV1", "Int32", "Int64", "IntOrString", "Time"])
    ).rstrip("\n")


def render(document: dict[str, Any]) -> str:
    """The complete text of ``batch_v1.py`` for a vendored schema document (pure)."""
    provenance = document["provenance"]
    definitions = document["$defs"]
    order = emission_order(definitions, provenance["root"])
    for name in definitions:
        if name not in order and name not in SCALAR_DEFINITIONS:
            raise ValueError(f"definition {name} has no properties and no hand-written type")
    header = f'''\
# Code generated by tools/modelgen/generate.py from jobsink/models/batch_v1.schema.json.
# DO NOT EDIT: change the generator or re-vendor the schema, then run `make generate`.
#
# Source: {provenance["source"]} {provenance["sourceVersion"]}, {provenance["sourcePath"]}
# Source sha256: {provenance["sourceSha256"]}
# Kubernetes version: {provenance["kubernetesVersion"]}; root definition: {provenance["root"]}
"""Pydantic v2 models of Kubernetes {provenance["kubernetesVersion"]} batch/v1 Job and its types."""

from __future__ import annotations

{{imports}}

KUBERNETES_VERSION = {literal(provenance["kubernetesVersion"])}
SOURCE_SHA256 = {literal(provenance["sourceSha256"])}
'''
    classes = [render_class(name, definitions[name]) for name in order]
    header = header.replace("{imports}", imports("\n".join(classes)))
    exports = sorted(class_name(name) for name in order)
    names = "".join(f"    {literal(name)},\n" for name in exports)
    footer = f"__all__ = [\n{names}]\n"
    return header + "\n\n" + "\n\n\n".join(classes) + "\n\n\n" + footer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", type=Path, default=VENDORED, help="vendored schema document")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="module to write")
    args = parser.parse_args(argv)
    document = json.loads(args.schema.read_text(encoding="utf-8"))
    args.output.write_text(render(document), encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
