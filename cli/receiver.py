"""``jobsink receiver``: the event receiver (CloudEvents in, Jobs out) and JobSink status writer.

Every setting has an environment variable ``JOBSINK_RECEIVER_*`` (``receiver.settings`` names
them); the flags below cover the common ones and win over their variables. Each flag's help reads
its default and variable from the settings model.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from cli.exits import ExitCode, fail
from cli.settings import load, option_help
from receiver.settings import (
    KubeSettings,
    LimitSettings,
    ServerSettings,
    Settings,
    StatusSettings,
)


def receiver(
    port: Annotated[
        int | None,
        typer.Option(
            help=option_help(ServerSettings, "port", "Main port: HTTPS with --tls-cert, else HTTP")
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help=option_help(ServerSettings, "host", "Bind address"))
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            help=option_help(ServerSettings, "http_port", "With TLS, also serve plain HTTP here")
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            help=option_help(ServerSettings, "tls_cert", "Serving certificate (PEM)"),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            help=option_help(ServerSettings, "tls_key", "Private key of --tls-cert (PEM)"),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help=option_help(
                KubeSettings,
                "kubeconfig",
                "Kubeconfig; without it $KUBECONFIG, ~/.kube/config or in-cluster",
            ),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            help=option_help(
                Settings, "namespace", "Serve only this namespace's JobSinks; all without it"
            ),
        ),
    ] = None,
    max_inflight: Annotated[
        int | None,
        typer.Option(
            help=option_help(
                LimitSettings, "max_inflight", "Requests handled at once; more get 429"
            ),
        ),
    ] = None,
    kube_qps: Annotated[
        float | None,
        typer.Option(
            help=option_help(
                KubeSettings, "qps", "Client-side limit on Kubernetes calls/s, 0 for none"
            ),
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help=option_help(
                StatusSettings,
                "public_url",
                "Base of status.address.url; without it http://job-sink.<ns>.svc.cluster.local",
            ),
        ),
    ] = None,
    status_reconciler: Annotated[
        bool | None,
        typer.Option(
            "--status/--no-status",
            help=option_help(StatusSettings, "enabled", "Write JobSink status, Lease-elected"),
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(help=option_help(Settings, "log_level", "debug, info, warning or error")),
    ] = None,
) -> None:
    """Serve events as Jobs: POST /<namespace>/<jobsink> with a CloudEvent.

    Also GET on the Location of an event (the state of its Job), /healthz,
    /readyz and /metrics.

    Examples:

      jobsink receiver --port 8080 --kubeconfig ~/.kube/config

      jobsink receiver --port 8443 --tls-cert tls.crt --tls-key tls.key \\
          --http-port 8080
    """
    from kubeapi.config import load_api_client
    from receiver import app, logs, server

    settings = load(
        Settings,
        {
            "namespace": namespace,
            "log_level": log_level,
            "server": {
                "port": port,
                "host": host,
                "http_port": http_port,
                "tls_cert": tls_cert,
                "tls_key": tls_key,
            },
            "limits": {"max_inflight": max_inflight},
            "kube": {"kubeconfig": kubeconfig, "qps": kube_qps},
            "status": {"public_url": public_url, "enabled": status_reconciler},
        },
    )
    logs.configure(settings.log_level)
    try:
        kubeconfig_file = str(settings.kube.kubeconfig) if settings.kube.kubeconfig else None
        api_client = load_api_client(kubeconfig_file)
        plane, background = app.build(settings, api_client)
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}", ExitCode.USAGE)
    except Exception as error:  # kubeconfig problems come as many exception types
        fail(f"cannot start: {type(error).__name__}: {error}", ExitCode.USAGE)
    try:
        # uvloop: the event loop parses and answers every request; it is the receiver's hot thread.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(app.create_app(plane, background), settings.server))
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def register(app: typer.Typer) -> None:
    app.command("receiver")(receiver)
