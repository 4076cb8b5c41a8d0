"""The committed reference pages are exactly what the generators produce from today's code."""

from __future__ import annotations

import pytest
from docgen import pages

from tests.docs.conftest import REPO


@pytest.mark.parametrize("relative", sorted(pages.PAGES))
def test_generated_page_is_current(relative: str) -> None:
    expected = pages.generate()[relative]
    path = REPO / relative
    assert path.exists(), f"{relative} is missing: run `make docs-generate`"
    assert path.read_text(encoding="utf-8") == expected, (
        f"{relative} is stale (the code it documents changed): run `make docs-generate`"
    )


def test_generation_is_deterministic() -> None:
    assert pages.generate() == pages.generate()


def test_every_generated_page_is_in_the_site_nav() -> None:
    nav = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    for relative in pages.PAGES:
        assert relative.removeprefix("docs/") in nav, relative
