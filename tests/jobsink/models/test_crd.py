"""Properties of the generated CRD that the apiserver and kubectl rely on (no cluster needed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.jobsink.models.test_generated import load_tool

REPO = Path(__file__).resolve().parents[3]
CRD_FILE = REPO / "crds" / "jobsink.yaml"
LAST_APPLIED_LIMIT = 256 * 1024


@pytest.fixture(scope="module")
def crd() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(CRD_FILE.read_text(encoding="utf-8"))
    return document


def schema_of(crd: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    return schema


def at(schema: dict[str, Any], dotted: str) -> dict[str, Any]:
    node = schema
    for key in dotted.split("."):
        node = node["items"] if node.get("type") == "array" else node
        node = node["properties"][key]
    return node


def nodes(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    yield path, node
    for key, child in node.get("properties", {}).items():
        yield from nodes(child, f"{path}.{key}")
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            yield from nodes(node[key], f"{path}[{key}]")


def test_fits_the_last_applied_annotation() -> None:
    size = load_tool("crd").last_applied_size(CRD_FILE.read_text(encoding="utf-8"))
    assert size < LAST_APPLIED_LIMIT


def test_names_and_labels(crd: dict[str, Any]) -> None:
    assert crd["metadata"]["name"] == "jobsinks.sinks.knative.dev"
    assert crd["metadata"]["labels"]["duck.knative.dev/addressable"] == "true"
    assert crd["metadata"]["labels"]["knative.dev/crd-install"] == "true"
    assert crd["spec"]["scope"] == "Namespaced"
    assert crd["spec"]["names"]["categories"] == ["all", "knative", "eventing", "sink"]
    (version,) = crd["spec"]["versions"]
    assert (version["name"], version["served"], version["storage"]) == ("v1alpha1", True, True)
    assert version["subresources"] == {"status": {}}
    columns = [column["name"] for column in version["additionalPrinterColumns"]]
    assert columns == ["URL", "Age", "Ready", "Reason"]


def test_structural(crd: dict[str, Any]) -> None:
    assert "$ref" not in CRD_FILE.read_text()
    for path, node in nodes(schema_of(crd)):
        typed = "type" in node
        untyped_ok = node.get("x-kubernetes-int-or-string") or node.get(
            "x-kubernetes-preserve-unknown-fields"
        )
        assert typed or untyped_ok, f"{path} has no type"
        for branch in node.get("anyOf", []):
            assert set(branch) == {"type"}, f"{path}: anyOf may only name int and string"


def test_job_spec_is_inlined(crd: dict[str, Any]) -> None:
    containers = at(schema_of(crd), "spec.job.spec.template.spec.containers")
    assert containers["type"] == "array"
    assert containers["x-kubernetes-list-type"] == "map"
    assert containers["x-kubernetes-list-map-keys"] == ["name"]
    assert "image" in containers["items"]["properties"]
    assert containers["items"]["required"] == ["name"]


def test_unknown_fields_reach_the_webhook(crd: dict[str, Any]) -> None:
    spec = at(schema_of(crd), "spec")
    for path, node in nodes(spec, "spec"):
        if "properties" in node:
            assert node.get("x-kubernetes-preserve-unknown-fields") is True, path
    assert "x-kubernetes-preserve-unknown-fields" not in at(schema_of(crd), "status")


SCALAR_NODES = {
    "quantity": "spec.job.spec.template.spec.containers.resources.limits",
    "port": "spec.job.spec.template.spec.containers.livenessProbe.httpGet.port",
    "int32": "spec.job.spec.completions",
    "time": "status.conditions.lastTransitionTime",
}


def test_scalar_encodings(crd: dict[str, Any]) -> None:
    schema = schema_of(crd)
    quantity = at(schema, SCALAR_NODES["quantity"])["additionalProperties"]
    assert quantity["x-kubernetes-int-or-string"] is True
    assert quantity["pattern"].startswith("^")
    assert at(schema, SCALAR_NODES["port"])["x-kubernetes-int-or-string"] is True
    assert at(schema, SCALAR_NODES["int32"])["format"] == "int32"
    assert at(schema, SCALAR_NODES["time"])["format"] == "date-time"


def test_map_lists_keep_only_required_keys(crd: dict[str, Any]) -> None:
    for path, node in nodes(schema_of(crd)):
        keys = node.get("x-kubernetes-list-map-keys")
        if keys:
            assert set(keys) <= set(node["items"].get("required", [])), path
    ports = at(schema_of(crd), "spec.job.spec.template.spec.containers.ports")
    assert "x-kubernetes-list-type" not in ports  # upstream keys on the optional protocol
