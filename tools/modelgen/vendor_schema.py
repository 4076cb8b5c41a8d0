"""Vendor the Kubernetes 1.36 OpenAPI definitions of batch/v1 Job and everything it references.

The source is the JSON Schema rendering of the upstream OpenAPI definitions that the PyPI package
kubernetes-validate ships. We copy only the transitive closure of ``io.k8s.api.batch.v1.Job`` into
``jobsink/models/batch_v1.schema.json`` together with a provenance header (source package, version,
path, Kubernetes version, sha256 of the source file), so the generated models are reproducible
without the package and a reviewer can see exactly where every field came from.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate

KUBERNETES_VERSION = "1.36.0"
ROOT = "io.k8s.api.batch.v1.Job"
SOURCE_PACKAGE = "kubernetes-validate"
SOURCE_RELATIVE = f"kubernetes-json-schema/v{KUBERNETES_VERSION}-local/_definitions.json"
REF_PREFIX = "#/$defs/"

REPO = Path(__file__).resolve().parents[2]
VENDORED = REPO / "jobsink" / "models" / "batch_v1.schema.json"


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value.removeprefix(REF_PREFIX)
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def closure(definitions: dict[str, Any], root: str) -> dict[str, Any]:
    """Every definition reachable from ``root`` through ``$ref``, sorted by name."""
    seen: set[str] = set()
    pending = [root]
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        pending.extend(_refs(definitions[name]))
    return {name: definitions[name] for name in sorted(seen)}


def vendored_document(source: Path) -> dict[str, Any]:
    raw = source.read_bytes()
    definitions = json.loads(raw)["$defs"]
    package_dir = Path(kubernetes_validate.__file__).parent
    return {
        "provenance": {
            "source": SOURCE_PACKAGE,
            "sourceVersion": importlib.metadata.version(SOURCE_PACKAGE),
            "sourcePath": f"{package_dir.name}/{source.relative_to(package_dir).as_posix()}",
            "sourceSha256": hashlib.sha256(raw).hexdigest(),
            "kubernetesVersion": KUBERNETES_VERSION,
            "root": ROOT,
        },
        # Sorted keys all the way down, so re-vendoring the same source is byte-identical.
        "$defs": json.loads(json.dumps(closure(definitions, ROOT), sort_keys=True)),
    }


def main() -> int:
    source = Path(kubernetes_validate.__file__).parent / SOURCE_RELATIVE
    document = vendored_document(source)
    VENDORED.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"{VENDORED.relative_to(REPO)}: {len(document['$defs'])} definitions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
