"""The ``jobsink`` command's entry point: ``jobsink receiver`` loads the receiver's command alone.

``cli.main`` imports every command's module, and with them what only those commands use (the
official Kubernetes client, the JobSink models, cryptography, httpx): about 25 MB that the
receiver's long-running process would hold for nothing. Every other invocation, ``--help``
included, is ``cli.main``'s app, unchanged.
"""

from __future__ import annotations

import sys

import typer


def receiver_only() -> typer.Typer:
    """An app with only the receiver command, invoked exactly as under ``cli.main``."""
    from cli import receiver

    app = typer.Typer(name="jobsink", add_completion=False, pretty_exceptions_enable=False)

    @app.callback()
    def jobsink() -> None:
        """JobSink for Python: turn CloudEvents into Kubernetes Jobs."""

    receiver.register(app)
    return app


def main() -> None:
    if sys.argv[1:2] == ["receiver"]:
        receiver_only()()
        return
    from cli.main import app

    app()
