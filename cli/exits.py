"""Exit codes shared by the ``jobsink`` commands, and the one way a command fails.

Errors are one readable line on stderr, never a traceback: scripts read the exit code, people read
the line. The ``#:`` comment above each code is its meaning in docs/reference/cli.md (generated
by ``make docs-generate``); each command's help says which codes it uses, and when.
"""

from __future__ import annotations

import enum
import sys
from typing import NoReturn

import typer


class ExitCode(enum.IntEnum):
    #: Done: the command did what it was asked, or the server accepted.
    OK = 0
    #: The server answered and said no: HTTP 4xx/5xx, a rejected object, a failed Job.
    REFUSED = 1
    #: Bad command line or input file (click uses 2 for its own usage errors too).
    USAGE = 2
    #: Nothing answered: connection refused, TLS failure, timeout, a process that would not start.
    UNREACHABLE = 3
    #: The thing asked about does not exist (HTTP 404).
    NOT_FOUND = 4
    #: Still in progress: the Job has not finished (``jobsink status`` without ``--wait``).
    PENDING = 5
    #: Interrupted with Ctrl-C (128 + SIGINT, as shells report it).
    INTERRUPTED = 130


def fail(message: str, code: ExitCode) -> NoReturn:
    """Print ``error: message`` on stderr and leave with ``code``."""
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(int(code))
