"""What the pages say about the code still names real code: module paths and dotted names exist,
and the design page lists every import contract.

Code moves (a module split in two, a package gaining subpackages) and prose does not follow by
itself; these tests name the page and the stale reference.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from docgen import pages

from tests.docs.conftest import REPO

PACKAGES = ("jobsink", "webhook", "receiver", "certs", "kubeapi", "controlplane", "cli", "serving")
README = REPO / "README.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))
TEMPLATES = sorted((REPO / "tools" / "docgen" / "templates").glob("*.md"))
# Generated pages and their templates name settings (``certs.namespace``), not Python objects.
WRITTEN = [README, *(p for p in PAGES if str(p.relative_to(REPO)) not in pages.PAGES)]

_ROOTS = "|".join((*PACKAGES, "tests"))
_PATH = re.compile(rf"`((?:{_ROOTS})/[\w./-]*)`")
_DOTTED = re.compile(rf"`((?:{'|'.join(PACKAGES)})(?:\.\w+)+)")


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


@pytest.mark.parametrize("path", [README, *PAGES, *TEMPLATES], ids=_relative)
def test_mentioned_code_paths_exist(path: Path) -> None:
    named = _PATH.findall(path.read_text(encoding="utf-8"))
    missing = [mentioned for mentioned in named if not (REPO / mentioned).exists()]
    assert missing == [], f"{_relative(path)} names code that is not there: {missing}"


@pytest.mark.parametrize("path", WRITTEN, ids=_relative)
def test_mentioned_python_names_resolve(path: Path) -> None:
    unresolved = [
        name for name in _DOTTED.findall(path.read_text(encoding="utf-8")) if not _resolves(name)
    ]
    assert unresolved == [], f"{_relative(path)} names what the code lacks: {unresolved}"


def _resolves(dotted: str) -> bool:
    """``package.module.Attribute...``: the longest importable prefix, then attributes."""
    parts = dotted.split(".")
    for split in range(len(parts), 0, -1):
        module = _module(".".join(parts[:split]))
        if module is not None:
            break
    else:
        return False
    found: object = module
    for attribute in parts[split:]:
        if not hasattr(found, attribute):
            return False
        found = getattr(found, attribute)
    return True


def _module(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError:
        return None


def test_design_lists_every_import_contract() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    design = (REPO / "docs" / "design.md").read_text(encoding="utf-8")
    table = design.split("| contract | kind |\n|---|---|\n", 1)[1].split("\n\n", 1)[0]
    rows = [tuple(cell.strip() for cell in row.strip("|").split("|")) for row in table.splitlines()]
    assert sorted(rows) == sorted((c["name"], c["type"]) for c in contracts), (
        "docs/design.md's contract table differs from pyproject.toml's import-linter contracts"
    )
