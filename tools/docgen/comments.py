"""``#:`` comments right above a class attribute (the Sphinx convention), read from the source.

Settings fields and enum members whose meaning is written as such a comment instead of a
``description`` or a docstring are documented with it.
"""

from __future__ import annotations

import ast
import inspect
import textwrap


def doc_comments(cls: type) -> dict[str, str]:
    """Attribute name -> its ``#:`` comment, the lines joined, for each commented attribute."""
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    tree = ast.parse(source)
    body = tree.body[0].body if tree.body and isinstance(tree.body[0], ast.ClassDef) else []
    found: dict[str, str] = {}
    for node in body:
        name = _assigned_name(node)
        if name is None:
            continue
        comment: list[str] = []
        index = node.lineno - 2
        while index >= 0 and lines[index].strip().startswith("#:"):
            comment.insert(0, lines[index].strip()[2:].strip())
            index -= 1
        if comment:
            found[name] = " ".join(comment)
    return found


def _assigned_name(node: ast.stmt) -> str | None:
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id
    if (
        isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    ):
        return node.targets[0].id
    return None
