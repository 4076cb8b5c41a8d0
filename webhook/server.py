"""Composition and serving: settings in, a TLS uvicorn server with uvloop and httptools out.

The httptools protocol is ``serving``'s: without it, one request with a huge header or a
client that never finishes its request holds memory or a connection for good.

uvloop and httptools are chosen for throughput on ~4 KB reviews; docs/benchmarks.md ("Admission
webhook") measures this very stack. The ``SSLContext`` is ours (``certs.live``), handed to uvicorn
through ``ssl_context_factory`` so the certificate can be replaced while it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import socket
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import uvicorn
import uvloop

from certs.files import FileSource
from certs.live import LiveContext
from serving.protocol import protocol_for
from webhook.app import AdmissionApp, create_app
from webhook.settings import Settings

log = logging.getLogger(__name__)

#: Longer than Go's idle-connection timeout (90 s) so the apiserver, not us, closes idle
#: connections; otherwise a POST can race our close and fail the admission call.
KEEP_ALIVE_SECONDS = 100


@dataclass
class Webhook:
    """Everything one webhook process runs: the app, its live TLS context and background tasks."""

    settings: Settings
    app: AdmissionApp
    live: LiveContext
    #: Started on the server's loop before it accepts connections (certificate watchers).
    background: list[Callable[[], Coroutine[Any, Any, None]]] = field(default_factory=list)

    def config(self) -> uvicorn.Config:
        return uvicorn.Config(
            self.app,
            host=self.settings.host,
            port=self.settings.port,
            loop="none",  # the loop is ours (``run``) so background tasks share it
            # httptools, with the request head bounded and read deadlines (``serving``).
            http=protocol_for(self.settings.http_limits),
            ws="none",
            ssl_context_factory=lambda _config, _default: self.live.context,
            limit_concurrency=self.settings.max_concurrency,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
            access_log=False,
            log_config=None,
            server_header=False,
        )

    async def serve(
        self, server: uvicorn.Server | None = None, sockets: list[socket.socket] | None = None
    ) -> None:
        """Serve until ``server.should_exit``; ``sockets`` are pre-bound listeners (tests)."""
        server = server or uvicorn.Server(self.config())
        tasks = [asyncio.create_task(start()) for start in self.background]
        try:
            await server.serve(sockets=sockets)
        finally:
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError):
                    await task


def build(settings: Settings) -> Webhook:
    """Wire settings to parts. Raises ``OSError``/``InvalidKeyPair`` for unusable cert files."""
    live = LiveContext()
    background: list[Callable[[], Coroutine[Any, Any, None]]] = []
    api = None
    dry_run = None
    if settings.dry_run or settings.self_managed:
        # Imported only when needed: the Kubernetes client is a third of the process's memory.
        from kubeapi.config import load_api_client

        api = load_api_client(str(settings.kubeconfig) if settings.kubeconfig else None)
    if settings.self_managed:
        assert api is not None
        from certs.managed import SelfManaged
        from webhook.cabundle import publisher

        certs = settings.certs
        managed = SelfManaged.in_secret(
            api,
            live,
            publisher(api, certs),
            namespace=certs.namespace,
            secret=certs.secret,
            dns_names=certs.dns_names,
            ips=[str(ip) for ip in certs.ips],
            ca_name="jobsink-webhook-ca",
            resync_seconds=certs.resync_seconds,
        )
        background.append(managed.run)
    else:
        files = FileSource(live, settings.tls_cert, settings.tls_key)
        files.load()  # fail at start, not at the first handshake
        background.append(files.watch)
    if api is not None and settings.dry_run:
        from webhook.dryrun import DryRun

        dry_run = DryRun(api, timeout=settings.dry_run_timeout)
    app = create_app(
        max_body_bytes=settings.max_body_bytes, ready=lambda: live.ready, dry_run=dry_run
    )
    return Webhook(settings=settings, app=app, live=live, background=background)


def run(webhook: Webhook) -> None:
    log.info(
        "webhook serving",
        extra={
            "port": webhook.settings.port,
            "dry_run": webhook.settings.dry_run,
            "self_managed": webhook.settings.self_managed,
        },
    )
    # Everything alive now (modules, models, the app) lives as long as the process: keep it out
    # of the collector's view, so full collections stay short and do not show up as tail latency.
    gc.collect()
    gc.freeze()
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(webhook.serve())
