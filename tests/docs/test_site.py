"""The documentation site builds with ``mkdocs build --strict``: a link to a missing page or
anchor, or a page missing from the nav, fails ``make test``."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.docs.conftest import REPO

MKDOCS = Path(sys.executable).with_name("mkdocs")


def build(site: Path, config: Path = REPO / "mkdocs.yml") -> subprocess.CompletedProcess[str]:
    # The theme prints a banner about its successor on every build; it is not a problem here.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_site_builds_strictly(tmp_path: Path) -> None:
    result = build(tmp_path / "site")
    assert result.returncode == 0, result.stderr
    for page in ("index.html", "install/index.html", "reference/settings/index.html"):
        assert (tmp_path / "site" / page).is_file(), page


def test_broken_links_and_pages_outside_the_nav_fail_the_build(tmp_path: Path) -> None:
    docs = _copy_docs(tmp_path)
    index = docs / "index.md"
    broken = "\n[gone](no-such-page.md) [gone](install.md#no-such-anchor)\n"
    index.write_text(index.read_text(encoding="utf-8") + broken, encoding="utf-8")
    (docs / "orphan.md").write_text("# Orphan\n", encoding="utf-8")
    result = build(tmp_path / "site", _config_for(tmp_path, docs))
    assert result.returncode != 0
    for complaint in ("no-such-page.md", "no-such-anchor", "orphan.md"):
        assert complaint in result.stderr, complaint


def _copy_docs(tmp_path: Path) -> Path:
    docs = tmp_path / "docs"
    for source in (REPO / "docs").rglob("*"):
        if source.is_file():
            target = docs / source.relative_to(REPO / "docs")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(source.read_bytes())
    return docs


def _config_for(tmp_path: Path, docs: Path) -> Path:
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    config = config.replace("docs_dir: docs", f"docs_dir: {docs}")
    path = tmp_path / "mkdocs.yml"
    path.write_text(config, encoding="utf-8")
    return path
