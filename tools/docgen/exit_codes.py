"""The CLI page's exit-code table, from an ``IntEnum`` and the ``#:`` comment above each member,
so what each code means is written once, where the code is defined."""

from __future__ import annotations

import enum

from docgen.comments import doc_comments
from docgen.markdown import code, prose, table


def exit_code_table(codes: type[enum.IntEnum]) -> str:
    """One row per code, in numeric order; a member without a ``#:`` comment is refused, so a new
    code cannot reach the page unexplained."""
    meanings = doc_comments(codes)
    unexplained = [member.name for member in codes if member.name not in meanings]
    if unexplained:
        raise ValueError(f"{codes.__name__} members without a #: comment: {unexplained}")
    rows = [
        [code(str(member.value)), code(member.name), prose(meanings[member.name])]
        for member in sorted(codes, key=int)
    ]
    return table(["Code", "Name", "Meaning"], rows)
