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
    TlsSettings,
)


def receiver(
    port: Annotated[
        int | None,
        typer.Option(
            help=option_help(
                ServerSettings, "port", "Plain-HTTP port (probes, /metrics, events unless strict)"
            )
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help=option_help(ServerSettings, "host", "Bind address"))
    ] = None,
    transport_encryption: Annotated[
        str | None,
        typer.Option(
            help=option_help(
                ServerSettings,
                "transport_encryption",
                "disabled (HTTP), permissive (HTTP and HTTPS) or strict (events over HTTPS only)",
            )
        ),
    ] = None,
    https_port: Annotated[
        int | None,
        typer.Option(help=option_help(ServerSettings, "https_port", "HTTPS port")),
    ] = None,
    cert: Annotated[
        Path | None,
        typer.Option(
            "--tls-cert",
            help=option_help(
                TlsSettings, "cert", "Serving certificate (PEM); without it self-managed"
            ),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    key: Annotated[
        Path | None,
        typer.Option(
            "--tls-key",
            help=option_help(TlsSettings, "key", "Private key of --tls-cert (PEM)"),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    ca: Annotated[
        Path | None,
        typer.Option(
            "--tls-ca",
            help=option_help(TlsSettings, "ca", "CA certificates published as CACerts (PEM)"),
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    min_version: Annotated[
        str | None,
        typer.Option(
            "--tls-min-version",
            help=option_help(TlsSettings, "min_version", "Lowest TLS version, 1.2 or 1.3"),
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

      jobsink receiver --transport-encryption permissive --https-port 8443 \\
          --tls-cert tls.crt --tls-key tls.key --tls-ca ca.crt
    """
    from kubeapi.config import connect
    from receiver import app, certificates, logs, server
    from receiver.controller.addressing import addressing_from

    settings = load(
        Settings,
        {
            "namespace": namespace,
            "log_level": log_level,
            "server": {
                "port": port,
                "host": host,
                "transport_encryption": transport_encryption,
                "https_port": https_port,
                "tls": {
                    "cert": cert,
                    "key": key,
                    "ca": ca,
                    "min_version": min_version,
                },
            },
            "limits": {"max_inflight": max_inflight},
            "kube": {"kubeconfig": kubeconfig, "qps": kube_qps},
            "status": {"public_url": public_url, "enabled": status_reconciler},
        },
    )
    logs.configure(settings.log_level)
    try:
        kubeconfig_file = str(settings.kube.kubeconfig) if settings.kube.kubeconfig else None
        api_client = connect(kubeconfig_file)
        certs = certificates.build(settings, api_client)
        plane, background = app.build(settings, api_client, trust=certs.trust if certs else None)
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}", ExitCode.USAGE)
    except Exception as error:  # kubeconfig problems come as many exception types
        fail(f"cannot start: {type(error).__name__}: {error}", ExitCode.USAGE)
    try:
        # uvloop: the event loop parses and answers every request; it is the receiver's hot thread.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(
                server.serve(
                    app.create_app(plane, background, certs),
                    settings.server,
                    certs,
                    https_base=addressing_from(settings.status, settings.server).https_base,
                )
            )
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def register(app: typer.Typer) -> None:
    app.command("receiver")(receiver)
