"""Entry point of the ``jobsink`` command. Each area registers its commands in its own module."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="jobsink",
    help="JobSink for Python: turn CloudEvents into Kubernetes Jobs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

# Command modules are registered below, one line per area (keep this list sorted).
# Each module exposes ``register(app: typer.Typer) -> None``.
from cli import api  # noqa: E402

api.register(app)
from cli import certs  # noqa: E402

certs.register(app)
from cli import dev  # noqa: E402

dev.register(app)
from cli import manifests  # noqa: E402

manifests.register(app)
from cli import receiver  # noqa: E402

receiver.register(app)
from cli import send  # noqa: E402

send.register(app)
from cli import status  # noqa: E402

status.register(app)
from cli import webhook  # noqa: E402

webhook.register(app)
