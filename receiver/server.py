"""Serving the app on uvicorn: HTTP, or HTTPS plus an optional plain-HTTP port, and a graceful stop.

On SIGTERM (or SIGINT) the receiver first reports not-ready for ``drain_seconds`` so that load
balancers stop sending, then closes its listeners; uvicorn lets in-flight requests finish (up to
``shutdown_timeout``), and only then does the lifespan stop the background parts. A request is
never cut between its Job and its Secret by a shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI

from receiver.dataplane.handler import DataPlane
from receiver.settings import ServerSettings
from serving.protocol import protocol_for

log = logging.getLogger("jobsink.receiver")


class _Server(uvicorn.Server):
    """uvicorn without its own signal handlers: ``serve`` below owns SIGTERM/SIGINT."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def configs(app: FastAPI, settings: ServerSettings) -> list[uvicorn.Config]:
    """The listeners: the main one runs the lifespan, an extra HTTP one shares the app."""
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
    }
    main = uvicorn.Config(
        app,
        port=settings.port,
        lifespan="on",
        ssl_certfile=settings.tls_cert,
        ssl_keyfile=settings.tls_key,
        **common,  # type: ignore[arg-type]
    )
    listeners = [main]
    if settings.tls_cert and settings.http_port:
        listeners.append(uvicorn.Config(app, port=settings.http_port, lifespan="off", **common))  # type: ignore[arg-type]
    return listeners


async def serve(app: FastAPI, settings: ServerSettings) -> None:
    plane: DataPlane = app.state.plane
    servers = [_Server(config) for config in configs(app, settings)]
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)

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
    # The extra listener starts once the lifespan has started the background parts.
    while not main.started and not main_task.done():  # noqa: ASYNC110 (uvicorn has no event)
        await asyncio.sleep(0.05)
    extra_tasks.extend(asyncio.create_task(server.serve()) for server in extra)
    try:
        await main_task
        await asyncio.gather(*extra_tasks)
    finally:
        watcher.cancel()
