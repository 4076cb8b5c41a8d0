"""``jobsink receiver``: the event receiver (CloudEvents in, Jobs out) and JobSink status writer.

Every flag has an environment variable ``JOBSINK_RECEIVER_<FLAG>`` (e.g. ``JOBSINK_RECEIVER_PORT``);
a flag on the command line wins. Settings without a flag (timeouts, sweeper, status addressing) are
environment-only; the README's ``receiver`` section lists them all.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import typer
import uvloop

from cli.exits import ExitCode, fail
from cli.settings import load


def receiver(
    port: Annotated[
        int | None,
        typer.Option(
            help="Main port: HTTPS with --tls-cert, else HTTP "
            "(default 8080; JOBSINK_RECEIVER_PORT)."
        ),
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Bind address (default 0.0.0.0; JOBSINK_RECEIVER_HOST).")
    ] = None,
    http_port: Annotated[
        int | None,
        typer.Option(
            help="With TLS, also serve plain HTTP on this port (JOBSINK_RECEIVER_HTTP_PORT)."
        ),
    ] = None,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            help="Serving certificate (PEM) (JOBSINK_RECEIVER_TLS_CERT).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    tls_key: Annotated[
        Path | None,
        typer.Option(
            help="Private key of --tls-cert (PEM) (JOBSINK_RECEIVER_TLS_KEY).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    kubeconfig: Annotated[
        Path | None,
        typer.Option(
            help="Kubeconfig (default $KUBECONFIG, ~/.kube/config or in-cluster; "
            "JOBSINK_RECEIVER_KUBECONFIG).",
            dir_okay=False,
            exists=True,
        ),
    ] = None,
    namespace: Annotated[
        str | None,
        typer.Option(
            help="Serve only this namespace's JobSinks (default all; JOBSINK_RECEIVER_NAMESPACE)."
        ),
    ] = None,
    max_inflight: Annotated[
        int | None,
        typer.Option(
            help="Requests handled at once; more get 429 "
            "(default 64; JOBSINK_RECEIVER_MAX_INFLIGHT)."
        ),
    ] = None,
    kube_qps: Annotated[
        float | None,
        typer.Option(
            help="Client-side limit on Kubernetes calls/s, 0 for none "
            "(default 0; JOBSINK_RECEIVER_KUBE_QPS)."
        ),
    ] = None,
    public_url: Annotated[
        str | None,
        typer.Option(
            help="Base of status.address.url (default "
            "http://job-sink.<ns>.svc.cluster.local; JOBSINK_RECEIVER_PUBLIC_URL)."
        ),
    ] = None,
    status_reconciler: Annotated[
        bool | None,
        typer.Option(
            "--status/--no-status",
            help="Write JobSink status, Lease-elected "
            "(default on; JOBSINK_RECEIVER_STATUS_RECONCILER).",
        ),
    ] = None,
    log_level: Annotated[
        str | None,
        typer.Option(
            help="debug, info, warning or error (default info; JOBSINK_RECEIVER_LOG_LEVEL)."
        ),
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
    from receiver.settings import Settings

    settings = load(
        Settings,
        {
            "port": port,
            "host": host,
            "http_port": http_port,
            "tls_cert": str(tls_cert) if tls_cert else None,
            "tls_key": str(tls_key) if tls_key else None,
            "kubeconfig": str(kubeconfig) if kubeconfig else None,
            "namespace": namespace,
            "max_inflight": max_inflight,
            "kube_qps": kube_qps,
            "public_url": public_url,
            "status_reconciler": status_reconciler,
            "log_level": log_level,
        },
    )
    logs.configure(settings.log_level)
    try:
        api_client = load_api_client(settings.kubeconfig)
        instance, background = app.build(settings, api_client)
    except OSError as error:
        fail(f"cannot read {error.filename}: {error.strerror}", ExitCode.USAGE)
    except Exception as error:  # kubeconfig problems come as many exception types
        fail(f"cannot start: {type(error).__name__}: {error}", ExitCode.USAGE)
    try:
        # uvloop: the event loop parses and answers every request; it is the receiver's hot thread.
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(server.serve(app.create_app(instance, background), settings))
    except KeyboardInterrupt:
        raise typer.Exit(int(ExitCode.INTERRUPTED)) from None


def register(app: typer.Typer) -> None:
    app.command("receiver")(receiver)
