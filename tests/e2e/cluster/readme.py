"""The README's install section as commands: the test runs what the README says, so the two
cannot drift apart (``tests/docs`` checks the section's shape without a cluster)."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
README = ROOT / "README.md"
#: The image reference the README's install section names; a run replaces it with its own.
README_IMAGE = "registry.example/jobsink:0.1.0"
INSTALL_HEADING = "## Install on a cluster"
TRY_HEADING = "### Try it in the cluster"
_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def section(text: str, heading: str) -> str:
    """From ``heading`` to the next heading of the same or a higher level."""
    start = text.index(f"\n{heading}\n") + 1
    level = heading.split(" ", 1)[0]
    ending = re.compile(rf"^#{{1,{len(level)}}} ", re.MULTILINE)
    found = ending.search(text, start + len(heading))
    return text[start : found.start() if found else len(text)]


def code_blocks(text: str) -> list[str]:
    return [body for _, body in _FENCE.findall(text)]


def logical_lines(block: str) -> list[str]:
    """Shell lines with their backslash continuations joined; comments and blanks dropped."""
    joined = re.sub(r"\\\n\s*", " ", block)
    lines = (line.split(" #", 1)[0].strip() for line in joined.splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def install_commands(text: str) -> list[list[str]]:
    """The first shell block of the install section, each command as its arguments."""
    return [
        shlex.split(line) for line in logical_lines(code_blocks(section(text, INSTALL_HEADING))[0])
    ]


def trigger_command(text: str) -> str:
    """The documentation's ``kubectl run curl ...`` as the README shows it, continuations and
    all: run by a shell exactly as a user pastes it."""
    for block in code_blocks(section(text, TRY_HEADING)):
        for line in block.split("\n"):
            if line.startswith("kubectl run curl"):
                start = block.index(line)
                end = block.find("\n\n", start)
                command = block[start : end if end != -1 else len(block)]
                return command.rstrip("\n")
    raise LookupError(f"no `kubectl run curl` in the README's {TRY_HEADING!r}")


def for_image(argv: list[str], reference: str) -> list[str]:
    return [
        reference if arg == README_IMAGE else arg.replace(README_IMAGE, reference) for arg in argv
    ]
