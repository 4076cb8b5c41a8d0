"""Serving the app on uvicorn: HTTP, and HTTPS unless transport encryption is disabled; a graceful
stop.

The plain-HTTP listener always runs (probes, ``/metrics``) and runs the lifespan; in strict mode it
refuses events (``receiver.httpsonly``). The HTTPS listener serves from the live ``SSLContext`` of
``receiver.certificates``, so a renewed certificate reaches new connections without a restart, and
starts once the first certificate is loaded.

On SIGTERM (or SIGINT) the receiver first reports not-ready for ``drain_seconds`` so that load
balancers stop sending, then closes its listeners; uvicorn lets in-flight requests finish (up to
``shutdown_timeout``), and only then does the lifespan stop the background parts. A request is
never cut between its Job and its Secret by a shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
from collections.abc import Generator

import uvicorn

from receiver.asgi import ReceiverApp
from receiver.certificates import ServingCertificates
from receiver.dataplane.handler import DataPlane
from receiver.httpsonly import HttpsOnly
from receiver.settings import ServerSettings
from serving.protocol import protocol_for

log = logging.getLogger("jobsink.receiver")

GC_YOUNGEST_THRESHOLD = 10_000
"""Allocations between two collections of the youngest generation (CPython's default: 700)."""


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: ``serve`` below owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def configs(
    app: ReceiverApp,
    settings: ServerSettings,
    certificates: ServingCertificates | None = None,
    https_base: str = "",
) -> list[uvicorn.Config]:
    """The listeners, plain HTTP first (it runs the lifespan), then HTTPS when it runs.

    ``https_base`` is the published HTTPS address that strict mode's refusals point to.
    """
    common = {
        "host": settings.host,
        "log_config": None,
        "access_log": False,
        "timeout_graceful_shutdown": int(settings.shutdown_timeout),
        "server_header": False,
        "limit_concurrency": None,
        # Capped request heads and read deadlines: without them one client with a huge header
        # or a slow trickle holds memory or a connection for as long as it likes.
        "http": protocol_for(settings.http_limits),
        "ws": "none",
        # Nothing of ours reads the client's address or scheme, so the X-Forwarded-* rewrite
        # uvicorn would run on every request is left out.
        "proxy_headers": False,
    }
    strict = settings.transport_encryption == "strict"
    plain_app = HttpsOnly(app, https_base) if strict else app
    listeners = [uvicorn.Config(plain_app, port=settings.port, lifespan="on", **common)]  # type: ignore[arg-type]
    if settings.https:
        if certificates is None:
            mode = settings.transport_encryption
            raise ValueError(f"transport_encryption {mode}: the HTTPS listener needs certificates")
        live = certificates.live
        listeners.append(
            uvicorn.Config(
                app,
                port=settings.https_port,
                lifespan="off",
                ssl_context_factory=lambda _config, _default: live.context,
                **common,  # type: ignore[arg-type]
            )
        )
    return listeners


def settle_heap() -> None:
    """Once started: what start-up made (modules, settings, the first lists) lives as long as
    the process, so it is moved out of the garbage collector's sight (``gc.freeze``), and the
    youngest generation is collected less often. Under load every event leaves a few hundred
    short-lived objects; with the defaults each of the frequent full collections walked the
    whole start-up heap again."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNGEST_THRESHOLD, *gc.get_threshold()[1:])


async def _first_certificate(certificates: ServingCertificates, stopping: asyncio.Event) -> bool:
    """Wait for the first serving certificate (False: stopped first). Nothing listens before it:
    the status reconciler, started with the lifespan, is to publish its CA in every https
    address from its first write on, and the HTTPS listener would fail every handshake."""
    while not certificates.loaded and not stopping.is_set():  # noqa: ASYNC110 (no event to wait on)
        await asyncio.sleep(0.05)
    return certificates.loaded


async def serve(
    app: ReceiverApp,
    settings: ServerSettings,
    certificates: ServingCertificates | None = None,
    https_base: str = "",
) -> None:
    servers = [_Server(config) for config in configs(app, settings, certificates, https_base)]
    # Certificate watchers and rotation run on this loop: installs must happen where handshakes do.
    keepers = (
        [asyncio.create_task(task()) for task in certificates.background] if certificates else []
    )
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    try:
        if certificates is None or await _first_certificate(certificates, stopping):
            await _listen(app.plane, settings, servers, stopping, certificates)
    finally:
        for keeper in keepers:
            keeper.cancel()
        await asyncio.gather(*keepers, return_exceptions=True)


async def _listen(
    plane: DataPlane,
    settings: ServerSettings,
    servers: list[_Server],
    stopping: asyncio.Event,
    certificates: ServingCertificates | None,
) -> None:
    main, *extra = servers
    extra_tasks: list[asyncio.Task[None]] = []

    async def stop_on_signal() -> None:
        await stopping.wait()
        log.info(
            "stopping: not ready any more, draining", extra={"seconds": settings.drain_seconds}
        )
        plane.draining = True
        await asyncio.sleep(settings.drain_seconds)
        # The extra listener finishes its requests first; the main one's lifespan shutdown,
        # which stops the worker pool and the background parts, runs last.
        for server in extra:
            server.should_exit = True
        await asyncio.gather(*extra_tasks, return_exceptions=True)
        main.should_exit = True

    watcher = asyncio.create_task(stop_on_signal())
    main_task = asyncio.create_task(main.serve())
    # The HTTPS listener starts once the lifespan has started the background parts.
    while not main.started and not main_task.done():  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.05)
    if not stopping.is_set():
        extra_tasks.extend(asyncio.create_task(server.serve()) for server in extra)
        while extra and not all(s.started for s in extra) and not main_task.done():  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        if certificates is not None:
            certificates.listening = all(s.started for s in extra)
        settle_heap()
    try:
        await main_task
        await asyncio.gather(*extra_tasks)
    finally:
        watcher.cancel()
