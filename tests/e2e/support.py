"""Helpers shared by the end-to-end scenarios (no fixtures here; see ``conftest``)."""

from __future__ import annotations

import re
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
CRDS = REPO / "crds"
EXAMPLES = REPO / "examples"
#: The ``jobsink`` console script of the running virtualenv: the entry point users run.
JOBSINK = Path(sys.executable).parent / "jobsink"


def unique_name(prefix: str, hint: str = "") -> str:
    """A DNS-1123 label: ``prefix-hint-random``, at most 63 characters."""
    hint = re.sub(r"[^a-z0-9-]+", "-", hint.lower()).strip("-")
    suffix = uuid.uuid4().hex[:6]
    base = f"{prefix}-{hint}" if hint else prefix
    return f"{base[: 62 - len(suffix)].rstrip('-')}-{suffix}"


def yaml_documents(path: Path) -> list[dict[str, Any]]:
    with path.open() as stream:
        return [doc for doc in yaml.safe_load_all(stream) if isinstance(doc, dict)]


def manifest_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.glob("*.y*ml") if p.suffix in (".yaml", ".yml"))


def jobsink_examples() -> list[Path]:
    """Every file under ``examples/`` that holds a JobSink (the seed document's examples)."""
    return [
        path
        for path in manifest_files(EXAMPLES)
        if any(doc.get("kind") == "JobSink" for doc in yaml_documents(path))
    ]
