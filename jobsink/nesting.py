"""How deeply a decoded JSON value nests, found without recursion.

Defaulting, validation and rendering walk a JobSink recursively (as do Pydantic and ``==``), so a
value nested a few hundred levels deep would exhaust Python's recursion limit inside them. A
JobSink's own schema nests about 15 levels (``spec.job.spec.template.spec.affinity...values``)
and the apiserver prunes unknown fields before calling webhooks, so anything much deeper than
that is hostile or broken, and is refused before any recursive code sees it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from jobsink.validation.errors import child, index

#: Containers (objects and lists) inside one another, the JobSink object itself counting as 1.
#: Four times the deepest path the schema allows, far below what exhausts the recursion limit.
MAX_DEPTH = 64

#: A path longer than this is shown cut, so that a refusal stays readable in logs and by kubectl.
SHOWN_PATH_CHARS = 240

Key = str | int

#: A tuple, not ``dict | list``: ``isinstance`` checks a tuple about twice as fast as a union,
#: and the level walk below makes that check for every member of every review.
CONTAINERS = (dict, list)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> str | None:
    """The field path of the first container nested deeper than ``limit``, or None.

    The path is written as in field errors (``spec.job.spec.x[0].y``), cut after
    ``SHOWN_PATH_CHARS`` characters.
    """
    if not isinstance(value, dict | list):
        return None
    # Level by level first: about twice as fast as the walk that finds the path, and every
    # review pays for it; the walk runs only for a value that is refused.
    level = [value]
    for _ in range(limit):
        level = [
            member
            for container in level
            for member in (container.values() if isinstance(container, dict) else container)
            if isinstance(member, CONTAINERS)
        ]
        if not level:
            return None
    return _first_too_deep(value, limit)


def _first_too_deep(value: Any, limit: int) -> str:
    pending: list[Iterator[tuple[Key, Any]]] = [_members(value)]
    keys: list[Key] = []
    while pending:
        for key, member in pending[-1]:
            if isinstance(member, dict | list):
                if len(pending) >= limit:
                    return _path([*keys, key])
                keys.append(key)
                pending.append(_members(member))
                break
        else:
            pending.pop()
            if keys:
                keys.pop()
    raise AssertionError("the level-by-level count found a deeper container")


def _members(container: dict[Any, Any] | list[Any]) -> Iterator[tuple[Key, Any]]:
    return iter(container.items()) if isinstance(container, dict) else enumerate(container)


def _path(keys: list[Key]) -> str:
    path = ""
    for key in keys:
        path = index(path, key) if isinstance(key, int) else child(path, str(key))
        if len(path) > SHOWN_PATH_CHARS:
            return path[:SHOWN_PATH_CHARS] + "..."
    return path
