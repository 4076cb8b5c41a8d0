"""Decoding a review body fast, including one nested too deeply for the standard decoder.

orjson decodes a review about three times faster than ``json.loads``. Its answers differ in a few
places, so every body it refuses (nesting beyond 1,024 levels, NaN, a byte-order mark, UTF-16,
lone surrogates) is decoded again by ``json.loads`` below, which then decides, as it always did;
and a body with a run of 19 or more digits goes to ``json.loads`` at once, because orjson turns an
integer beyond 64 bits into a float where ``json`` keeps it exact (and validation reports it).
The result is the value ``json.loads`` returns, whichever decoder produced it, with one exception
that changes no answer: a body nested between where ``json.loads`` gives up (below) and orjson's
1,024 levels is decoded whole instead of pruned, and is refused by name all the same.

``json.loads`` recurses once per level and raises ``RecursionError`` at roughly 950 levels (less
the caller's stack). Such a body may still carry a well-formed envelope, and its uid is what lets
the apiserver show our answer. So when the decoder gives up, the body is decoded once more with
every array and object deeper than ``KEPT_DEPTH`` replaced by ``null``. Nothing the verdict
depends on is lost: the JobSink starts at level 3 of the body, so a pruned part of it lies far
beyond ``jobsink.nesting.MAX_DEPTH``, and its still-present ancestors get it refused by name.

The pruning pass is Python-speed (about a microsecond per string or bracket); it runs only for
bodies the decoder refused, never for a review of normal shape.
"""

from __future__ import annotations

import json
import re
from typing import Any

import orjson

from jobsink.nesting import MAX_DEPTH

#: Levels of the body kept when pruning: twice what any JobSink may use, far below the
#: decoder's reach.
KEPT_DEPTH = 2 * MAX_DEPTH

# A JSON string (escapes included), or a bracket outside of strings.
_TOKENS = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}]')
_OPENING = frozenset(b"[{")
_CLOSING = frozenset(b"]}")

#: Every digit becomes ``0``, every other byte a space: a run of ``_LONG_NUMBER`` in the
#: translation is a run of that many digits in the body (in a number or in a string).
_DIGITS_ONLY = bytes(0x30 if 0x30 <= byte <= 0x39 else 0x20 for byte in range(256))
#: The longest integer orjson keeps exact has 20 digits (2**64 - 1); from 19 on it may not.
_LONG_NUMBER = b"0" * 19


class TooDeep(ValueError):
    """Even the pruned body could not be decoded (it was also malformed)."""


def loads(body: bytes) -> Any:
    """Decode ``body``; raises ``ValueError`` (incl. ``UnicodeDecodeError``) like ``json.loads``.

    Raises ``TooDeep`` only if the pruned body is still too deep, i.e. its brackets never close.
    """
    if _LONG_NUMBER not in body.translate(_DIGITS_ONLY):
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            pass  # the standard decoder decides, with its own messages
    try:
        return json.loads(body)
    except RecursionError:
        pass
    try:
        return json.loads(pruned(body, KEPT_DEPTH))
    except RecursionError as error:
        raise TooDeep("JSON nested too deeply to decode") from error


def pruned(body: bytes, depth: int) -> bytes:
    """``body`` with every array or object nested deeper than ``depth`` replaced by ``null``."""
    pieces: list[bytes] = []
    level = 0
    copied = 0  # body[:copied] is in pieces already
    cut: int | None = None  # where the part being dropped starts
    for token in _TOKENS.finditer(body):
        first = body[token.start()]
        if first in _OPENING:
            level += 1
            if level == depth + 1 and cut is None:
                cut = token.start()
        elif first in _CLOSING:
            if level == depth + 1 and cut is not None:
                pieces += [body[copied:cut], b"null"]
                copied, cut = token.end(), None
            level -= 1
    pieces.append(body[copied:])
    return b"".join(pieces)
