"""Markdown building blocks shared by the page generators: escaping, tables, templates."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)
_PLACEHOLDER = re.compile(r"\{\{(\w[\w-]*)\}\}")


def prose(text: str) -> str:
    """``text`` written for a terminal, made safe as Markdown prose.

    Help texts say ``<namespace>/<name>``; Markdown would take those for HTML tags and drop them.
    Code spans are left alone, since entities inside them would be shown literally.
    """
    pieces: list[str] = []
    position = 0
    for match in _CODE_SPAN.finditer(text):
        pieces.append(_escape_html(text[position : match.start()]))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(_escape_html(text[position:]))
    return "".join(pieces)


def _escape_html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def code(text: str) -> str:
    """An inline code span that survives backticks inside ``text``."""
    fence = "``" if "`" in text else "`"
    padding = " " if fence == "``" else ""
    return f"{fence}{padding}{text}{padding}{fence}"


def cell(text: str) -> str:
    """One table cell: a single line whose pipes do not split the row."""
    return " ".join(text.split()).replace("|", "\\|")


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A pipe table; every cell is already Markdown (pass prose through ``prose`` first)."""
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines.extend("| " + " | ".join(cell(value) for value in row) + " |" for row in rows)
    return "\n".join(lines)


def fill(template: str, parts: Mapping[str, str]) -> str:
    """``template`` with each ``{{name}}`` replaced by ``parts[name]``.

    Every placeholder must have a part and every part a placeholder, so a renamed section fails
    loudly instead of vanishing from the page.
    """
    used = set(_PLACEHOLDER.findall(template))
    if used != set(parts):
        missing, unused = sorted(used - set(parts)), sorted(set(parts) - used)
        raise ValueError(f"template placeholders without a part {missing}, parts unused {unused}")
    return _PLACEHOLDER.sub(lambda match: parts[match.group(1)].strip("\n"), template)
