"""The committed schema, models and CRD are exactly what the generators produce today."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import kubernetes_validate
import pytest

REPO = Path(__file__).resolve().parents[3]
MODELGEN = REPO / "tools" / "modelgen"

GENERATED = {
    "models": ("generate.py", REPO / "jobsink" / "models" / "batch_v1.py"),
    "crd": ("crd.py", REPO / "crds" / "jobsink.yaml"),
}


@pytest.mark.parametrize(("script", "committed"), GENERATED.values(), ids=GENERATED.keys())
def test_regenerated_output_is_byte_identical(script: str, committed: Path, tmp_path: Path) -> None:
    output = tmp_path / committed.name
    subprocess.run(
        [sys.executable, str(MODELGEN / script), "--output", str(output)],
        check=True,
        capture_output=True,
    )
    assert output.read_bytes() == committed.read_bytes(), f"run `make generate` ({committed})"


def load_tool(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, MODELGEN / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_vendored_schema_matches_the_installed_source() -> None:
    vendor_schema = load_tool("vendor_schema")
    source = Path(kubernetes_validate.__file__).parent / vendor_schema.SOURCE_RELATIVE
    expected = json.dumps(vendor_schema.vendored_document(source), indent=1) + "\n"
    assert vendor_schema.VENDORED.read_text(encoding="utf-8") == expected


def test_generated_header_names_source_and_hash() -> None:
    from jobsink.models import batch_v1

    header = (REPO / "jobsink" / "models" / "batch_v1.py").read_text().splitlines()[:6]
    assert "DO NOT EDIT" in header[1]
    assert "kubernetes-validate" in header[3]
    assert batch_v1.SOURCE_SHA256 in header[4]
    assert batch_v1.KUBERNETES_VERSION == "1.36.0"
