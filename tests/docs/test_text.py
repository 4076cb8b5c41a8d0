"""The README and the pages: links that resolve, no leftovers, and the offline commands they show
print what they say."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli.main import app
from tests.docs.conftest import REPO

README = REPO / "README.md"
PAGES = sorted((REPO / "docs").rglob("*.md"))
TEMPLATES = sorted((REPO / "tools" / "docgen" / "templates").glob("*.md"))
ALL_TEXT = [README, *PAGES, *TEMPLATES]

_LINK = re.compile(r"\]\(([^)\s]+)\)")


def _relative(path: Path) -> str:
    return str(path.relative_to(REPO))


def test_readme_is_a_front_page() -> None:
    lines = README.read_text(encoding="utf-8").splitlines()
    assert len(lines) <= 260, "the README is the user's front page: move details into docs/"
    for heading in ("## Two commands", "## Install on a cluster", "## Limitations"):
        assert heading in lines


def test_readme_links_resolve() -> None:
    for target in _LINK.findall(README.read_text(encoding="utf-8")):
        if target.startswith(("http://", "https://", "#")):
            continue
        path = target.split("#", 1)[0]
        assert (REPO / path).exists(), f"README links to missing {target}"


@pytest.mark.parametrize("path", ALL_TEXT, ids=_relative)
def test_no_leftovers(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert "<!-- section:" not in text
    # Design notes speak of the code, not of who wrote it or in which order.
    assert not re.search(r"\(H\d+\)|\bH\d+:|\bissue #?\d+", text, re.IGNORECASE), path


@pytest.mark.parametrize("path", ALL_TEXT, ids=_relative)
def test_mentioned_repository_files_exist(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    files = r"`((?:examples|crds|config|bench|tools)/[\w./-]+\.(?:yaml|py|json|sh|md))`"
    for mentioned in re.findall(files, text):
        assert (REPO / mentioned).exists(), f"{_relative(path)}: {mentioned}"


def _console_commands(path: Path) -> list[tuple[list[str], list[str]]]:
    """Each ``$ jobsink validate|render ...`` in a console block, with the lines shown after it."""
    found: list[tuple[list[str], list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", path.read_text(encoding="utf-8"), re.DOTALL):
        lines = block.splitlines()
        index = 0
        while index < len(lines):
            line = lines[index]
            index += 1
            if not line.startswith("$ "):
                continue
            command = line[2:]
            while command.endswith("\\"):
                command = command[:-1] + lines[index].strip()
                index += 1
            output = []
            while index < len(lines) and not lines[index].startswith("$ "):
                output.append(lines[index])
                index += 1
            argv = shlex.split(command)
            if argv[:2] in (["jobsink", "validate"], ["jobsink", "render"]):
                found.append((argv[1:], output))
    return found


OFFLINE = [
    (path, argv, output) for path in [README, *PAGES] for argv, output in _console_commands(path)
]


def test_offline_examples_are_found() -> None:
    assert {argv[0] for _, argv, _ in OFFLINE} == {"validate", "render"}


@pytest.mark.parametrize(
    ("path", "argv", "shown"),
    OFFLINE,
    ids=[f"{_relative(path)}: {' '.join(argv)[:40]}" for path, argv, _ in OFFLINE],
)
def test_offline_examples_print_what_the_page_shows(
    path: Path, argv: list[str], shown: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(REPO)
    result = CliRunner().invoke(app, argv)
    printed = result.stdout.splitlines() + result.stderr.splitlines()
    for line in shown:
        assert line in printed, f"{_relative(path)} shows a line the command does not print: {line}"
    for line in result.stdout.splitlines():
        assert line in shown, f"{_relative(path)} leaves out a line of stdout: {line}"
