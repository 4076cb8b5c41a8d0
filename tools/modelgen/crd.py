"""Generate ``crds/jobsink.yaml``, the JobSink CustomResourceDefinition, from ``jobsink.types``.

The schema is derived from the Pydantic models, so the CRD, the webhook and the receiver can never
disagree about what a JobSink is. Choices (explained in docs/design.md, "The CRD"):

- Structural and fully inlined: CRDs cannot use ``$ref``, and a full schema is what makes
  ``kubectl explain jobsink.spec.job.spec.template.spec.containers`` work.
- Unknown fields are rejected, not pruned: every object node of ``spec`` carries
  ``x-kubernetes-preserve-unknown-fields: true`` so an unknown field survives decoding and reaches
  the validating webhook, which rejects it with its path. Pruning would drop it silently for any
  client that does not ask for strict field validation.
- IntOrString is ``x-kubernetes-int-or-string``; Quantity is int-or-string with the quantity
  pattern (numbers such as ``cpu: 0.25`` are turned into strings by the defaulting webhook first).
- List semantics are copied from the upstream marks where the apiserver accepts them for CRDs:
  a ``map`` list needs every key to be required in its items (CRDs have no defaults here), so lists
  whose upstream keys are optional (for example ports keyed by containerPort+protocol) are left
  atomic.
- Descriptions are trimmed to their first sentence so that ``kubectl apply`` (which stores the
  whole object in the last-applied-configuration annotation, limited to 256 KiB) keeps working.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import types
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from annotated_types import Ge
from pydantic import AfterValidator, BaseModel
from pydantic.fields import FieldInfo

from jobsink import types as api
from jobsink.models.quantity import QUANTITY_PATTERN, check_quantity
from jobsink.models.scalars import check_rfc3339

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "crds" / "jobsink.yaml"
ANNOTATION_LIMIT = 256 * 1024
LIST_EXTENSIONS = ("x-kubernetes-list-type", "x-kubernetes-list-map-keys")
MAP_TYPE = "x-kubernetes-map-type"
PRESERVE = "x-kubernetes-preserve-unknown-fields"
SCALARS = {str: "string", int: "integer", bool: "boolean", float: "number"}
INT_FORMATS = {-(2**31): "int32", -(2**63): "int64"}
_SENTENCE_END = re.compile(r"(?<=[a-z0-9)\]'\"`])\.(\s|$)")


def first_sentence(text: str) -> str:
    """The first sentence of an upstream description (they are long; the full text is upstream)."""
    paragraph = text.strip().split("\n", 1)[0]
    match = _SENTENCE_END.search(paragraph)
    return paragraph[: match.start() + 1] if match else paragraph


def _annotated(field: FieldInfo) -> Any:
    """The field's type with the constraints Pydantic moved into ``field.metadata``."""
    annotation = field.annotation
    return Annotated[annotation, *field.metadata] if field.metadata else annotation


def _validators(metadata: list[Any]) -> set[Any]:
    return {item.func for item in metadata if isinstance(item, AfterValidator)}


def _list_marks(extra: dict[str, Any], items: dict[str, Any]) -> dict[str, Any]:
    """The upstream list semantics that are legal in a CRD for a list of ``items``."""
    list_type = extra.get("x-kubernetes-list-type")
    if list_type == "map":
        keys = list(extra.get("x-kubernetes-list-map-keys", []))
        if not keys or not set(keys) <= set(items.get("required", [])):
            return {}  # the apiserver demands required (or defaulted) keys: leave it atomic
        return {"x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": keys}
    if list_type == "set" and items.get("type") == "object":
        return {}  # a set needs scalar or atomic items; upstream never marks objects, be safe
    return {"x-kubernetes-list-type": list_type} if list_type else {}


class SchemaBuilder:
    """Turns model classes into structural OpenAPI v3 schema nodes."""

    def __init__(self, preserve_unknown: bool) -> None:
        self.preserve_unknown = preserve_unknown

    def of_type(self, annotation: Any) -> dict[str, Any]:
        origin = get_origin(annotation)
        args = get_args(annotation)
        if origin is Annotated:
            return self._annotated(args[0], list(annotation.__metadata__))
        if origin in (Union, types.UnionType):
            members = [arg for arg in args if arg is not type(None)]
            if len(members) == 1:
                return self.of_type(members[0])
            return self._union(members)
        if origin is list:
            return {"type": "array", "items": self.of_type(args[0])}
        if origin is dict:
            if "JsonValue" in str(args[1]):  # opaque JSON (managedFields' FieldsV1)
                return {"type": "object", PRESERVE: True}
            return {"type": "object", "additionalProperties": self.of_type(args[1])}
        if origin is Literal:
            return {"type": "string", "enum": list(args)}
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            return self.of_model(annotation)
        if annotation in SCALARS:
            return {"type": SCALARS[annotation]}
        if "JsonValue" in str(annotation):
            return {"type": "object", PRESERVE: True}
        raise TypeError(f"no CRD schema for {annotation!r}")

    def _annotated(self, base: Any, metadata: list[Any]) -> dict[str, Any]:
        validators = _validators(metadata)
        if check_quantity in validators:
            return self._int_or_string(pattern=QUANTITY_PATTERN)
        schema = self.of_type(base)
        if check_rfc3339 in validators:
            schema["format"] = "date-time"
        for item in metadata:
            if isinstance(item, Ge) and item.ge in INT_FORMATS:
                schema["format"] = INT_FORMATS[int(item.ge)]
        return schema

    def _union(self, members: list[Any]) -> dict[str, Any]:
        kinds = {self.of_type(member)["type"] for member in members}
        if kinds == {"integer", "string"}:
            return self._int_or_string()
        raise TypeError(f"no CRD schema for the union {members!r}")

    @staticmethod
    def _int_or_string(pattern: str | None = None) -> dict[str, Any]:
        # The apiserver recognises int-or-string only as exactly these two anyOf branches; the
        # pattern sits beside them and applies to string values only.
        schema: dict[str, Any] = {"anyOf": [{"type": "integer"}, {"type": "string"}]}
        if pattern:
            schema["pattern"] = pattern
        schema["x-kubernetes-int-or-string"] = True
        return schema

    def of_field(self, field: FieldInfo) -> dict[str, Any]:
        schema = self.of_type(_annotated(field))
        extra = field.json_schema_extra if isinstance(field.json_schema_extra, dict) else {}
        if schema.get("type") == "array":
            schema.update(_list_marks(extra, schema["items"]))
        if MAP_TYPE in extra and schema.get("type") == "object":
            schema[MAP_TYPE] = extra[MAP_TYPE]
        if field.description:
            schema = {"description": first_sentence(field.description), **schema}
        return schema

    def of_model(self, model: type[BaseModel]) -> dict[str, Any]:
        properties: dict[str, Any] = {}
        required: list[str] = []
        for name, field in model.model_fields.items():
            key = field.alias or name
            properties[key] = self.of_field(field)
            if field.is_required():
                required.append(key)
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        if required:
            schema["required"] = required
        extra = model.model_config.get("json_schema_extra")
        if isinstance(extra, dict) and MAP_TYPE in extra:
            schema[MAP_TYPE] = extra[MAP_TYPE]
        if self.preserve_unknown:
            schema[PRESERVE] = True
        return schema


def openapi_schema() -> dict[str, Any]:
    """The ``openAPIV3Schema`` of JobSink v1alpha1."""
    strict = SchemaBuilder(preserve_unknown=False)
    schema = strict.of_model(api.JobSink)
    # The apiserver owns metadata at the root of a custom resource; it must stay a plain object.
    schema["properties"]["metadata"] = {"type": "object"}
    # apiVersion and kind are checked by the apiserver itself; plain strings as in every CRD.
    for key in ("apiVersion", "kind"):
        description = api.JobSink.model_fields[key].description or key
        schema["properties"][key] = {"description": description, "type": "string"}
    del schema["required"]
    # Everything a user writes (spec and below) keeps unknown fields for the webhook to reject;
    # status is written by the receiver and keeps ordinary pruning.
    schema["properties"]["spec"] = SchemaBuilder(preserve_unknown=True).of_field(
        api.JobSink.model_fields["spec"]
    )
    return {"description": first_sentence(api.JobSink.__doc__ or ""), **schema}


def crd() -> dict[str, Any]:
    ready = '.status.conditions[?(@.type=="Ready")]'
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": api.CRD_NAME,
            "labels": {
                "knative.dev/crd-install": "true",
                "duck.knative.dev/addressable": "true",
                "app.kubernetes.io/name": "jobsink",
            },
        },
        "spec": {
            "group": api.GROUP,
            "names": {
                "kind": api.KIND,
                "listKind": api.LIST_KIND,
                "plural": api.PLURAL,
                "singular": api.SINGULAR,
                "categories": list(api.CATEGORIES),
            },
            "scope": "Namespaced",
            "versions": [
                {
                    "name": api.VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [
                        {"name": "URL", "type": "string", "jsonPath": ".status.address.url"},
                        {"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"},
                        {"name": "Ready", "type": "string", "jsonPath": ready + ".status"},
                        {"name": "Reason", "type": "string", "jsonPath": ready + ".reason"},
                    ],
                    "schema": {"openAPIV3Schema": openapi_schema()},
                }
            ],
        },
    }


def render() -> str:
    header = (
        "# Code generated by tools/modelgen/crd.py from jobsink/types.py; DO NOT EDIT.\n"
        "# Regenerate with `make generate`.\n"
    )
    body = yaml.safe_dump(crd(), sort_keys=False, width=100, allow_unicode=False)
    return header + body


def last_applied_size(text: str) -> int:
    """Bytes of the last-applied-configuration annotation ``kubectl apply`` writes for ``text``.

    kubectl stores the object as compact JSON from Go's encoder, which escapes ``<``, ``>`` and
    ``&`` as six-byte ``\\u003c`` sequences, records an empty ``annotations`` map in it and ends it
    with a newline.
    """
    document = yaml.safe_load(text)
    document["metadata"].setdefault("annotations", {})
    compact = json.dumps(document, separators=(",", ":"), ensure_ascii=False)
    escaped = sum(compact.count(char) for char in "<>&")
    return len(compact.encode()) + 5 * escaped + 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate the JobSink CRD.")
    parser.add_argument("--output", type=Path, default=OUTPUT, help="file to write")
    args = parser.parse_args(argv)
    text = render()
    size = last_applied_size(text)
    if size >= ANNOTATION_LIMIT:
        print(f"CRD is {size} bytes, over the {ANNOTATION_LIMIT} annotation limit", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}: {len(text.encode())} bytes of YAML, {size} last-applied bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
