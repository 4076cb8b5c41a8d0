"""``jobsink webhook``: serve the defaulting and validating admission webhooks over TLS.

Every flag has an environment variable (``JOBSINK_WEBHOOK_<FLAG>``, e.g. ``JOBSINK_WEBHOOK_PORT``);
a flag on the command line wins. The Deployment uses the variables only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from certs.live import InvalidKeyPair
from cli.exits import ExitCode, fail
from cli.settings import load


def webhook(
    port: Annotated[
        int | None, typer.Option(help="HTTPS port (default 8443; JOBSINK_WEBHOOK_PORT).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default 0.0.0.0; JOBSINK_WEBHOOK_HOST).")
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            help="Serving certificate (PEM), reloaded when it changes "
            "(default /etc/jobsink/tls/tls.crt; JOBSINK_WEBHOOK_TLS_CERT).",
            dir_okay=False,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            help="Private key of --tls-cert (PEM) (default /etc/jobsink/tls/tls.key; "
            "JOBSINK_WEBHOOK_TLS_KEY).",
            dir_okay=False,
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="Kubeconfig for the dry-run and self-managed certificates (default "
            "$KUBECONFIG, ~/.kube/config or in-cluster; JOBSINK_WEBHOOK_KUBECONFIG).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    dry_run: Annotated[
        bool | None,
        typer.Option(
            "--dry-run/--no-dry-run",
            help="Also dry-run create the rendered Job on the apiserver "
            "(default on; JOBSINK_WEBHOOK_DRY_RUN).",
        ),
    ] = None,
    self_managed: Annotated[
        bool | None,
        typer.Option(
            "--self-managed/--no-self-managed",
            help="Keep the CA and serving certificate in a Secret, rotate them and patch the "
            "webhook configurations' caBundle; in-cluster mode, configured by the "
            "JOBSINK_WEBHOOK_CERTS_* variables (the settings reference lists them) "
            "(default off; JOBSINK_WEBHOOK_SELF_MANAGED).",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="debug, info, warning or error (default info; JOBSINK_WEBHOOK_LOG_LEVEL)."
        ),
    ] = None,
    max_body_bytes: Annotated[
        int | None,
        typer.Option(
            help="Larger request bodies get 413 (default 4 MiB; JOBSINK_WEBHOOK_MAX_BODY_BYTES)."
        ),
    ] = None,
) -> None:
    """Serve POST /defaulting and /validation, GET /healthz, /readyz and /metrics over HTTPS.

    Examples:

      jobsink certs create --out /tmp/certs
      jobsink webhook --port 8443 --kubeconfig ~/.kube/config \\
          --tls-cert /tmp/certs/tls.crt --tls-key /tmp/certs/tls.key

      # no cluster needed:
      jobsink webhook --no-dry-run --tls-cert tls.crt --tls-key tls.key
    """
    from webhook import logs, server
    from webhook.settings import Settings

    settings = load(
        Settings,
        {
            "port": port,
            "host": host,
            "tls_cert": tls_cert,
            "tls_key": tls_key,
            "kubeconfig": kubeconfig,
            "dry_run": dry_run,
            "self_managed": self_managed,
            "log_level": log_level,
            "max_body_bytes": max_body_bytes,
        },
    )
    logs.configure(settings.log_level)
    try:
        instance = server.build(settings)
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}", ExitCode.USAGE)
    except InvalidKeyPair as error:
        fail(str(error), ExitCode.USAGE)
    except Exception as error:  # kubeconfig problems come as many exception types
        fail(f"cannot start: {type(error).__name__}: {error}", ExitCode.USAGE)
    try:
        server.run(instance)
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def register(app: typer.Typer) -> None:
    app.command("webhook")(webhook)
