"""The Kueue page shows the manifests the Kueue scenarios apply, byte for byte: each ``yaml``
block that starts with a ``# docs/examples/kueue/...`` line is that file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.conftest import REPO

PAGE = REPO / "docs" / "kueue.md"
MANIFESTS = sorted((REPO / "docs" / "examples" / "kueue").glob("*.yaml"))
_BLOCK = re.compile(r"```yaml\n# (docs/examples/kueue/[\w.-]+\.yaml)\n(.*?)```", re.DOTALL)


def _shown() -> dict[str, str]:
    return {path: text for path, text in _BLOCK.findall(PAGE.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda path: path.name)
def test_the_page_shows_each_manifest_as_it_is(path: Path) -> None:
    relative = str(path.relative_to(REPO))
    assert _shown().get(relative) == path.read_text(encoding="utf-8"), relative


def test_the_page_shows_no_other_manifest() -> None:
    assert sorted(_shown()) == [str(path.relative_to(REPO)) for path in MANIFESTS]
